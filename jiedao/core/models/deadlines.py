"""The shared deadline engine's storage: rows with an indexed due time, claimed by conditional update."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

from jiedao.core.models.scope import ScopedModel


class DueState(models.TextChoices):
    PENDING = "pending", _("待执行")
    CLAIMED = "claimed", _("执行中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")
    CANCELLED = "cancelled", _("已取消")


class DueItemMixin(models.Model):
    """Mix into any model that must act at a time: the tick worker finds rows with
    `due_state=pending AND due_at <= now` through the (due_state, due_at) index and claims each with
    `UPDATE … SET due_state='claimed', claim_token=… WHERE id=? AND due_state='pending'`."""

    due_at = models.DateTimeField(_("到期时间"))
    due_state = models.CharField(_("状态"), max_length=16, choices=DueState.choices, default=DueState.PENDING)
    claim_token = models.UUIDField(_("认领标记"), null=True, blank=True, editable=False)
    claimed_at = models.DateTimeField(_("认领时间"), null=True, blank=True, editable=False)
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0, editable=False)
    last_error = models.TextField(_("最近错误"), blank=True, editable=False)

    class Meta:
        abstract = True


class Reminder(DueItemMixin, ScopedModel):
    """A reminder to a user about something, at a time (催办, 定时闹钟 …). Delivered through notifications."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminders", verbose_name=_("接收人")
    )
    kind = models.CharField(_("类别"), max_length=40, default="reminder")
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(_("链接"), max_length=300, blank=True)
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, null=True, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    subject = GenericForeignKey("content_type", "object_id")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("提醒")
        verbose_name_plural = _("提醒")
        ordering = ["due_at"]
        indexes = [models.Index(fields=["due_state", "due_at"], name="reminder_due_idx")]

    def __str__(self) -> str:
        return self.title
