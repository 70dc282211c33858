"""Supervised matters (督办事项): what a leader, a meeting, the level above or a case asks a unit to get done
by
a date, followed step by step (立项 → 交办 → 承办 → 反馈 → 审核 → 办结 → 评价) until it is closed and rated.

The states and steps are declared in `workflow.py`; every change goes through `services.py`. A matter belongs
to the sub-district that supervises it (`org_unit`, copied `org_path`): its leaders and supervising office see
all of its matters; the staff of the lead and helper units (or departments) see the matters they work on (see
`SupervisedMatterQuerySet.visible_to`). Its colour light is computed from stored, indexed times
(`lights.py`); the timed reminders run on the shared deadline engine (`MatterClock`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiedao.core.history import HistoricalRecords
from jiedao.core.models.deadlines import DueItemMixin
from jiedao.core.models.scope import ScopedModel, ScopedQuerySet


class Source(models.TextChoices):
    MEETING = "meeting", _("会议决定")
    LEADER = "leader", _("领导批示")
    UPPER = "upper", _("上级交办")
    CASE = "case", _("工单转办")


class Status(models.TextChoices):
    OPENED = "opened", _("已立项")
    ASSIGNED = "assigned", _("待承办")
    IN_PROGRESS = "in_progress", _("办理中")
    REVIEWING = "reviewing", _("待审核")
    APPROVED = "approved", _("待办结")
    COMPLETED = "completed", _("已办结")
    RATED = "rated", _("已评价")
    CANCELLED = "cancelled", _("已撤销")


#: Not yet 办结 (nor cancelled): these can be overdue.
OPEN_STATUSES = frozenset(
    {Status.OPENED, Status.ASSIGNED, Status.IN_PROGRESS, Status.REVIEWING, Status.APPROVED}
)
#: The lead unit is still working on these (before its final report): they can fall behind pace.
WORKING_STATUSES = frozenset({Status.OPENED, Status.ASSIGNED, Status.IN_PROGRESS})
DONE_STATUSES = frozenset({Status.COMPLETED, Status.RATED})


class Light(models.TextChoices):
    GREEN = "green", _("正常")
    BLUE = "blue", _("蓝色预警")
    YELLOW = "yellow", _("黄色预警")
    RED = "red", _("红色超期")
    NONE = "none", _("无")


class Rating(models.TextChoices):
    EXCELLENT = "excellent", _("好")
    GOOD = "good", _("较好")
    FAIR = "fair", _("一般")
    POOR = "poor", _("差")


class SupervisedMatterQuerySet(ScopedQuerySet):
    def visible_to(self, user: Any, action: str = "view") -> SupervisedMatterQuerySet:
        """Leaders, district staff, auditors (supervision.view) and the supervising office see every matter
        of their sub-district; the staff of a unit or department see the matters it leads or helps with."""
        from jiedao.supervision.rules import visible_q

        condition = visible_q(user, self.db)
        if condition is None:
            return self.all()
        return self.filter(condition)

    def open(self) -> SupervisedMatterQuerySet:
        """Not yet 办结 (nor cancelled)."""
        return self.filter(status__in=OPEN_STATUSES)

    def overdue(self, now: Any = None) -> SupervisedMatterQuerySet:
        """Open and past the deadline."""
        return self.open().filter(deadline__lt=now or timezone.now())


class SupervisedMatter(ScopedModel):
    """A supervised matter (督办事项). `org_unit` is the supervising sub-district."""

    scope_label = "supervision"

    number = models.CharField(_("编号"), max_length=20, unique=True)
    title = models.CharField(_("事项名称"), max_length=120)
    content = models.TextField(_("督办内容"))
    source = models.CharField(_("来源"), max_length=16, choices=Source.choices)
    source_note = models.CharField(
        _("来源说明"), max_length=200, blank=True, help_text=_("如批示领导与文号、上级交办文件名称。")
    )
    project = models.ForeignKey(
        "projects.KeyProject",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="matters",
        verbose_name=_("重点项目"),
    )
    decision = models.OneToOneField(
        "projects.Decision",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="matter",
        verbose_name=_("会议决定事项"),
    )
    case = models.ForeignKey(
        "cases.Case",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="supervised_matters",
        verbose_name=_("来源工单"),
    )

    lead_unit = models.ForeignKey(
        "core.OrgUnit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("牵头单位"),
    )
    lead_department = models.ForeignKey(
        "core.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("牵头科室"),
    )
    #: The lead unit's org path (of the department's sub-district for a department), copied for scope.
    lead_path = models.CharField(_("牵头单位路径"), max_length=255, blank=True, editable=False)
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="supervised_matters",
        verbose_name=_("责任领导"),
    )

    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.OPENED)
    # The clock: the period runs from `period_start` (交办) to `deadline`; `blue_at` is when it turns blue,
    # `pace_at` when it falls behind the planned pace with its last reported progress (lights.py).
    deadline = models.DateTimeField(_("办理时限"))
    period_start = models.DateTimeField(_("计时起点"))
    blue_at = models.DateTimeField(_("蓝色预警时间"))
    pace_at = models.DateTimeField(_("进度滞后时间"))
    progress = models.PositiveSmallIntegerField(_("完成进度（%）"), default=0)
    extension_count = models.PositiveSmallIntegerField(_("延期次数"), default=0)
    original_deadline = models.DateTimeField(_("原定时限"), null=True, blank=True)

    rating = models.CharField(_("评价"), max_length=16, choices=Rating.choices, blank=True)
    score = models.PositiveSmallIntegerField(_("评分"), null=True, blank=True)
    rating_comment = models.CharField(_("评价意见"), max_length=500, blank=True)
    summary = models.TextField(_("办结情况"), blank=True)
    return_count = models.PositiveSmallIntegerField(_("退回次数"), default=0)

    created_at = models.DateTimeField(_("立项时间"), db_index=True)
    assigned_at = models.DateTimeField(_("交办时间"), null=True, blank=True)
    undertaken_at = models.DateTimeField(_("承办时间"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("报请审核时间"), null=True, blank=True)
    completed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    rated_at = models.DateTimeField(_("评价时间"), null=True, blank=True)
    last_report_at = models.DateTimeField(_("最近反馈"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = SupervisedMatterQuerySet.as_manager()  # type: ignore[misc]
    history = HistoricalRecords(
        excluded_fields=["updated_at", "version", "lead_path", "blue_at", "pace_at", "last_report_at"]
    )

    class Meta:
        verbose_name = _("督办事项")
        verbose_name_plural = _("督办事项")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "deadline"], name="matter_status_deadline_idx"),
            models.Index(fields=["org_path", "created_at"], name="matter_scope_idx"),
            models.Index(fields=["lead_path", "status"], name="matter_lead_path_idx"),
            models.Index(fields=["lead_department", "status"], name="matter_lead_dept_idx"),
            models.Index(fields=["deadline"], name="matter_deadline_idx"),
            models.Index(fields=["blue_at"], name="matter_blue_idx"),
            models.Index(fields=["pace_at"], name="matter_pace_idx"),
            models.Index(fields=["project", "status"], name="matter_project_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.lead_department_id is not None and self.lead_department is not None:
            self.lead_path = self.lead_department.org_path
        elif self.lead_unit_id is not None and self.lead_unit is not None:
            self.lead_path = self.lead_unit.path
        else:
            self.lead_path = ""
        super().save(*args, **kwargs)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def lead_name(self) -> str:
        lead = self.lead_department or self.lead_unit
        return str(getattr(lead, "short_name", "") or lead) if lead is not None else ""

    def light(self, now: Any = None) -> str:
        from jiedao.supervision.lights import light_of

        return light_of(self, now)


class MatterHelper(models.Model):
    """A helper unit or department (协办单位) of a matter; `unit_path` copied for scope."""

    matter = models.ForeignKey(
        SupervisedMatter, on_delete=models.CASCADE, related_name="helpers", verbose_name=_("督办事项")
    )
    unit = models.ForeignKey(
        "core.OrgUnit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("协办单位"),
    )
    department = models.ForeignKey(
        "core.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("协办科室"),
    )
    unit_path = models.CharField(max_length=255, blank=True, db_index=True, editable=False)

    class Meta:
        verbose_name = _("协办单位")
        verbose_name_plural = _("协办单位")
        ordering = ["matter", "id"]
        indexes = [models.Index(fields=["department", "matter"], name="matter_helper_dept_idx")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.unit_path = self.unit.path if self.unit_id is not None and self.unit is not None else ""
        super().save(*args, **kwargs)

    @property
    def name(self) -> str:
        target = self.department or self.unit
        return str(getattr(target, "short_name", "") or target) if target is not None else ""


class MatterStep(models.Model):
    """One entry of a matter's timeline: who did what, when, with a note."""

    matter = models.ForeignKey(
        SupervisedMatter, on_delete=models.CASCADE, related_name="steps", verbose_name=_("督办事项")
    )
    action = models.CharField(_("操作"), max_length=32)
    from_status = models.CharField(_("原状态"), max_length=16, blank=True)
    to_status = models.CharField(_("新状态"), max_length=16, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(_("操作人"), max_length=80, blank=True)
    note = models.TextField(_("说明"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = _("督办过程")
        verbose_name_plural = _("督办过程")
        ordering = ["matter", "created_at", "id"]
        indexes = [models.Index(fields=["matter", "created_at"], name="matter_step_idx")]

    def __str__(self) -> str:
        return f"{self.matter_id} {self.action}"

    @property
    def label(self) -> str:
        from jiedao.supervision.workflow import action_label

        return action_label(self.action)


class ProgressReport(models.Model):
    """反馈: what the lead (or a helper) unit reports, with the share done; `final` is the report that asks
    for review (报请审核)."""

    matter = models.ForeignKey(
        SupervisedMatter, on_delete=models.CASCADE, related_name="reports", verbose_name=_("督办事项")
    )
    step = models.OneToOneField(
        MatterStep, on_delete=models.SET_NULL, null=True, blank=True, related_name="report"
    )
    text = models.TextField(_("进展情况"))
    percent = models.PositiveSmallIntegerField(_("完成进度（%）"))
    final = models.BooleanField(_("报请审核"), default=False)
    by_lead = models.BooleanField(_("牵头单位反馈"), default=True)
    unit_label = models.CharField(_("反馈单位"), max_length=100, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("反馈人"),
    )
    created_at = models.DateTimeField(_("反馈时间"))

    class Meta:
        verbose_name = _("进展反馈")
        verbose_name_plural = _("进展反馈")
        ordering = ["matter", "-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.matter_id} {self.percent}%"


def attachment_path(instance: MatterAttachment, filename: str) -> str:
    return f"supervision/{instance.matter.created_at:%Y/%m}/{instance.matter.number}/{filename}"


class MatterAttachment(models.Model):
    matter = models.ForeignKey(
        SupervisedMatter, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("督办事项")
    )
    step = models.ForeignKey(
        MatterStep, on_delete=models.SET_NULL, null=True, blank=True, related_name="attachments"
    )
    kind = models.CharField(_("类型"), max_length=8)
    file = models.FileField(_("文件"), upload_to=attachment_path, max_length=300)
    name = models.CharField(_("文件名"), max_length=200)
    size = models.PositiveIntegerField(_("大小"))
    content_type = models.CharField(max_length=100)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")
        ordering = ["matter", "id"]

    def __str__(self) -> str:
        return self.name


class ExtensionRequest(models.Model):
    """延期申请: asked by the lead unit before the deadline, approved or refused with a reason."""

    class Decision(models.TextChoices):
        PENDING = "pending", _("待审批")
        APPROVED = "approved", _("同意")
        REFUSED = "refused", _("不同意")

    matter = models.ForeignKey(
        SupervisedMatter, on_delete=models.CASCADE, related_name="extensions", verbose_name=_("督办事项")
    )
    new_deadline = models.DateTimeField(_("申请延至"))
    old_deadline = models.DateTimeField(_("原时限"))
    reason = models.TextField(_("延期理由"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("申请人"),
    )
    requested_at = models.DateTimeField(_("申请时间"))
    decision = models.CharField(
        _("审批结果"), max_length=10, choices=Decision.choices, default=Decision.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("审批人"),
    )
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_note = models.TextField(_("审批意见"), blank=True)

    class Meta:
        verbose_name = _("延期申请")
        verbose_name_plural = _("延期申请")
        ordering = ["matter", "-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["matter"],
                condition=models.Q(decision="pending"),
                name="one_pending_extension_per_matter",
            )
        ]

    def __str__(self) -> str:
        return f"{self.matter_id} → {self.new_deadline:%Y-%m-%d}"


class MatterClock(DueItemMixin, models.Model):
    """A timed action on a matter, run by the shared deadline engine: 自动催办 when it turns blue (before the
    deadline) and the 超期 notice to the responsible leader when the deadline passes. Cancelled when the
    deadline moves or the matter is closed; a clock whose deadline no longer matches does nothing."""

    class Kind(models.TextChoices):
        REMIND = "remind", _("到期前自动催办")
        OVERDUE = "overdue", _("超期提醒")

    matter = models.ForeignKey(
        SupervisedMatter, on_delete=models.CASCADE, related_name="clocks", verbose_name=_("督办事项")
    )
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    deadline = models.DateTimeField(_("对应时限"))

    class Meta:
        verbose_name = _("督办计时")
        verbose_name_plural = _("督办计时")
        ordering = ["due_at"]
        indexes = [
            models.Index(fields=["due_state", "due_at"], name="matter_clock_due_idx"),
            models.Index(fields=["matter", "due_state"], name="matter_clock_matter_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.matter_id} {self.kind} @ {self.due_at}"

    @property
    def scope_path(self) -> str:
        return self.matter.org_path


class MatterCounter(models.Model):
    """Yearly sequence for readable matter numbers (DB202600015); advanced by a conditional update."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("督办编号计数")
        verbose_name_plural = _("督办编号计数")

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class Bulletin(ScopedModel):
    """A published 通报: the overdue figures per lead unit for a period, frozen as they were when published
    (`rows`), so later changes do not rewrite what was announced."""

    scope_label = "supervision"

    title = models.CharField(_("标题"), max_length=120)
    period_start = models.DateField(_("起始日期"))
    period_end = models.DateField(_("截止日期"))
    rows = models.JSONField(_("通报数据"), default=list)
    note = models.TextField(_("通报说明"), blank=True)
    published_at = models.DateTimeField(_("发布时间"))
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("发布人"),
    )

    objects = ScopedQuerySet.as_manager()  # type: ignore[misc]

    class Meta:
        verbose_name = _("督办通报")
        verbose_name_plural = _("督办通报")
        ordering = ["-published_at", "-id"]

    def __str__(self) -> str:
        return self.title
