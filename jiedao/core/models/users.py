from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from jiedao.core.history import HistoricalRecords
from jiedao.core.models.scope import ScopedModel


class Role(models.TextChoices):
    DISTRICT_STAFF = "district_staff", _("区级人员")
    LEADER = "leader", _("街道领导")
    DEPARTMENT_STAFF = "department_staff", _("科室人员")
    COMMUNITY_STAFF = "community_staff", _("社区工作人员")
    GRID_WORKER = "grid_worker", _("网格员")
    VOLUNTEER = "volunteer", _("党员志愿者")
    AUDITOR = "auditor", _("审计员")
    ADMINISTRATOR = "administrator", _("系统管理员")


class User(AbstractUser):
    """A staff account. Residents use the public side without staff accounts."""

    full_name = models.CharField(_("姓名"), max_length=60, blank=True)
    title = models.CharField(_("职务"), max_length=60, blank=True)
    mobile = models.CharField(_("手机"), max_length=20, blank=True)

    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.full_name or self.get_full_name() or self.username

    @property
    def display_name(self) -> str:
        return str(self)


class Membership(ScopedModel):
    """A user's attachment to an org unit in a role (optionally within a department of that unit)."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("用户")
    )
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices)
    department = models.ForeignKey(
        "core.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="memberships",
        verbose_name=_("科室"),
    )
    is_active = models.BooleanField(_("有效"), default=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("任职")
        verbose_name_plural = _("任职")
        ordering = ["org_path", "role"]
        constraints = [
            # Two conditional constraints rather than nulls_distinct=False, which SQLite does not enforce.
            models.UniqueConstraint(
                fields=["user", "org_unit", "role", "department"],
                condition=models.Q(department__isnull=False),
                name="membership_unique_in_department",
            ),
            models.UniqueConstraint(
                fields=["user", "org_unit", "role"],
                condition=models.Q(department__isnull=True),
                name="membership_unique_without_department",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.org_unit}"
