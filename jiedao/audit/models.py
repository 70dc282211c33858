"""The append-only, hash-chained event log."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from jiedao.core.models.fastinsert import FastInsertModel
from jiedao.core.models.org import OrgUnit
from jiedao.core.models.scope import under_path

# The length of a root node's materialized path: a user scoped at a root (the district) also sees events that
# belong to no unit, such as sign-ins for unknown names.
ROOT_PATH_LENGTH = OrgUnit.steplen


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def visible_to(self, user: Any, action: str = "audit.view") -> AuditEventQuerySet:
        """Events inside the subtrees where `user` holds `action`; events without an org path (sign-ins,
        refusals, system work) only for users scoped at a root unit, and everything for a superuser."""
        from jiedao.core.permissions import scope_paths

        paths = scope_paths(user, action)
        if paths is None:
            return self.all()
        if not paths:
            return self.none()
        condition = Q()
        for path in paths:
            condition |= under_path("org_path", path, self.db)
        if any(len(path) <= ROOT_PATH_LENGTH for path in paths):
            condition |= Q(org_path="")
        return self.filter(condition)

    def for_object(self, obj: models.Model) -> AuditEventQuerySet:
        return self.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))


class AuditEvent(FastInsertModel):
    """One action: who, when, what, on which object. `hash` covers the row and `prev_hash`, so altering or
    deleting any row breaks the chain from that row on (`manage.py audit_verify`)."""

    seq = models.PositiveBigIntegerField(_("序号"), unique=True, editable=False)
    created_at = models.DateTimeField(_("时间"), db_index=True, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
        db_constraint=False,
        db_index=False,  # audit_actor_idx (actor, created_at) answers it
    )
    actor_repr = models.CharField(_("操作人名称"), max_length=150, blank=True, editable=False)
    kind = models.CharField(_("类别"), max_length=64, db_index=True, editable=False)
    object_type = models.CharField(_("对象类型"), max_length=100, blank=True, editable=False)
    object_id = models.CharField(_("对象编号"), max_length=64, blank=True, editable=False)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True, editable=False)
    org_path = models.CharField(_("组织路径"), max_length=255, blank=True, db_index=True, editable=False)
    ip_address = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True, editable=False)
    data = models.JSONField(_("详情"), default=dict, blank=True, editable=False)
    prev_hash = models.CharField(_("前一哈希"), max_length=64, editable=False)
    hash = models.CharField(_("哈希"), max_length=64, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计事件")
        verbose_name_plural = _("审计事件")
        ordering = ["-seq"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["actor", "created_at"], name="audit_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind}"

    @property
    def kind_label(self) -> str:
        from jiedao.audit.kinds import label_for

        return label_for(self.kind)


class ChainHead(models.Model):
    """A single row holding the last sequence number and hash; locking it serialises appends."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        verbose_name = _("审计链头")
        verbose_name_plural = _("审计链头")

    def __str__(self) -> str:
        return f"#{self.seq} {self.hash[:12]}"
