from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from treebeard.mp_tree import MP_Node, MP_NodeManager, MP_NodeQuerySet

from jiedao.core.history import HistoricalRecords
from jiedao.core.models.scope import ScopedModel, ScopeQuerySetMixin


class OrgUnitQuerySet(ScopeQuerySetMixin, MP_NodeQuerySet):
    scope_field = "path"


class OrgUnitManager(MP_NodeManager):
    def get_queryset(self) -> OrgUnitQuerySet:
        return OrgUnitQuerySet(self.model).order_by("path")

    def visible_to(self, user: Any, action: str = "view") -> OrgUnitQuerySet:
        return self.get_queryset().visible_to(user, action)


class OrgUnit(MP_Node):
    """A node of the administrative tree: 区 > 街道 > 社区/行政村 > 网格."""

    class Kind(models.TextChoices):
        DISTRICT = "district", _("区")
        SUBDISTRICT = "subdistrict", _("街道")
        COMMUNITY = "community", _("社区")
        VILLAGE = "village", _("行政村")
        GRID = "grid", _("网格")

    # Which kinds may sit directly under which.
    ALLOWED_CHILDREN: dict[str, tuple[str, ...]] = {
        "district": ("subdistrict",),
        "subdistrict": ("community", "village"),
        "community": ("grid",),
        "village": ("grid",),
        "grid": (),
    }

    steplen = 4
    scope_label = "org"  # its actions are org.view, org.change …
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    # No node_order_by: a sorted insert would shift siblings' paths, and paths are copied onto scoped rows.
    # Children are appended; only an explicit move (services.move_unit) changes a path. Siblings are shown by
    # sort_order.

    kind = models.CharField(_("层级"), max_length=16, choices=Kind.choices, db_index=True)
    code = models.CharField(
        _("统计代码"), max_length=20, unique=True, help_text=_("统计用区划代码；网格在社区代码后加三位序号。")
    )
    name = models.CharField(_("名称"), max_length=100)
    short_name = models.CharField(_("简称"), max_length=40, blank=True)
    boundary = models.JSONField(_("边界 (GeoJSON)"), null=True, blank=True)
    population = models.PositiveIntegerField(_("人口"), null=True, blank=True)
    households = models.PositiveIntegerField(_("户数"), null=True, blank=True)
    area_km2 = models.DecimalField(
        _("面积 (平方公里)"), max_digits=8, decimal_places=3, null=True, blank=True
    )
    sort_order = models.PositiveIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)

    # Tree bookkeeping and the edit counter are not history a person reads; moves keep their old and new
    # paths in the org.move audit event.
    history = HistoricalRecords(excluded_fields=["path", "depth", "numchild", "version"])
    objects = OrgUnitManager()

    class Meta:
        verbose_name = _("组织单元")
        verbose_name_plural = _("组织单元")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name

    @property
    def scope_path(self) -> str:
        return self.path

    @property
    def display_name(self) -> str:
        return self.short_name or self.name

    @classmethod
    def path_lineage(cls, path: str, *, include_self: bool = True) -> list[str]:
        """The materialized paths from the root down to `path`: its ancestors' (and its own) paths."""
        end = len(path) + 1 if include_self else len(path)
        return [path[:i] for i in range(cls.steplen, end, cls.steplen)]

    def allowed_child_kinds(self) -> tuple[str, ...]:
        return self.ALLOWED_CHILDREN.get(self.kind, ())


class Department(ScopedModel):
    """A 科室 of a sub-district office (信访办, 党建办 …); `org_unit` is the sub-district."""

    code = models.SlugField(_("代码"), max_length=40, help_text=_("英文短代码，如 xinfang。"))
    name = models.CharField(_("名称"), max_length=100)
    short_name = models.CharField(_("简称"), max_length=40, blank=True)
    duties = models.TextField(_("职责"), blank=True)
    phone = models.CharField(_("办公电话"), max_length=40, blank=True)
    sort_order = models.PositiveIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("科室")
        verbose_name_plural = _("科室")
        ordering = ["org_path", "sort_order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["org_unit", "code"], name="department_code_unique_per_unit")
        ]

    def __str__(self) -> str:
        return self.name


class ContactCommunity(ScopedModel):
    """A leader's 联系点: a community (or village) the leader is personally responsible for."""

    scope_label = "department"  # seen and changed with the sub-district's departments

    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="contact_communities",
        verbose_name=_("领导"),
    )
    since = models.DateField(_("起始日期"), null=True, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("联系点")
        verbose_name_plural = _("联系点")
        ordering = ["org_path"]
        constraints = [
            models.UniqueConstraint(fields=["leader", "org_unit"], name="contact_community_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.leader} → {self.org_unit}"
