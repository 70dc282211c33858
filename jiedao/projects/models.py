"""Key projects (重点项目台账) and meetings (例会) with their decisions.

A key project belongs to an org unit (the sub-district, or the community where it stands) and carries that
unit's path, so scope is the usual prefix test. Its children (monthly investment, milestones, problems,
progress notes, attachments) are reached through the project and kept with history. `stalled_after` is the
time after which a project without progress counts as stalled; it is moved forward by every progress event
(investment entry, milestone done, progress note) so the portfolio asks one indexed comparison.

A meeting (例会) may concern one project; its decisions can each become one supervised matter
(`supervision.SupervisedMatter.decision`, related_name "matter").
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiedao.core.history import HistoricalRecords
from jiedao.core.models.scope import ScopedModel, ScopedQuerySet

#: Days without progress after which a project counts as stalled, when its kind has no value of its own
#: (settings.PROJECTS_STALL_DAYS overrides the default; PROJECTS_STALL_DAYS_BY_KIND per kind).
DEFAULT_STALL_DAYS = 30


class ProjectKind(models.TextChoices):
    COMMERCIAL = "commercial", _("商业综合体")
    RENEWAL = "renewal", _("城市更新/城中村改造")
    INDUSTRY = "industry", _("产业项目")
    INFRASTRUCTURE = "infrastructure", _("基础设施")
    PUBLIC = "public", _("公共服务设施")
    HOUSING = "housing", _("住宅/安置房")
    ENVIRONMENT = "environment", _("生态环境")


class Stage(models.TextChoices):
    PREPARATION = "preparation", _("前期")
    CONSTRUCTION = "construction", _("在建")
    COMPLETED = "completed", _("竣工")
    OPERATING = "operating", _("投用")


#: Stages in which a project is expected to move (a stall flag makes no sense once it is in use).
ACTIVE_STAGES = (Stage.PREPARATION, Stage.CONSTRUCTION)


def stall_days(kind: str) -> int:
    by_kind: dict[str, int] = getattr(settings, "PROJECTS_STALL_DAYS_BY_KIND", {})
    if kind in by_kind:
        return int(by_kind[kind])
    return int(getattr(settings, "PROJECTS_STALL_DAYS", DEFAULT_STALL_DAYS))


class Tracked(models.Model):
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        abstract = True


class KeyProjectQuerySet(ScopedQuerySet):
    def stalled(self, now: datetime | None = None) -> KeyProjectQuerySet:
        return self.filter(stage__in=ACTIVE_STAGES, stalled_after__lte=now or timezone.now())


class KeyProject(Tracked, ScopedModel):
    """A 重点项目: where it is, who owns and who leads it (分包领导), money, stage, milestones, problems."""

    scope_label = "project"

    name = models.CharField(_("项目名称"), max_length=120)
    code = models.CharField(_("项目编号"), max_length=30, blank=True)
    kind = models.CharField(_("项目类型"), max_length=20, choices=ProjectKind.choices)
    owner_company = models.CharField(_("业主单位"), max_length=200, blank=True)
    address = models.CharField(_("项目地址"), max_length=200, blank=True)
    longitude = models.DecimalField(_("经度"), max_digits=9, decimal_places=6, null=True, blank=True)
    latitude = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6, null=True, blank=True)
    stage = models.CharField(
        _("阶段"), max_length=20, choices=Stage.choices, default=Stage.PREPARATION, db_index=True
    )
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="led_projects",
        verbose_name=_("分包领导"),
    )
    departments = models.ManyToManyField(
        "core.Department", blank=True, related_name="key_projects", verbose_name=_("责任科室")
    )
    units = models.ManyToManyField(
        "core.OrgUnit", blank=True, related_name="key_projects", verbose_name=_("涉及社区")
    )
    total_investment = models.DecimalField(
        _("计划总投资 (万元)"), max_digits=12, decimal_places=2, default=Decimal("0")
    )
    start_date = models.DateField(_("开工日期"), null=True, blank=True)
    planned_completion = models.DateField(_("计划竣工日期"), null=True, blank=True)
    description = models.TextField(_("建设内容"), blank=True)
    last_progress_at = models.DateTimeField(_("最近进展时间"), null=True, blank=True, editable=False)
    stalled_after = models.DateTimeField(
        _("停滞判定时间"), null=True, blank=True, db_index=True, editable=False
    )
    is_active = models.BooleanField(_("在台账"), default=True)

    history = HistoricalRecords(
        excluded_fields=["updated_at", "version", "last_progress_at", "stalled_after"]
    )
    objects = KeyProjectQuerySet.as_manager()  # type: ignore[misc]

    class Meta:
        verbose_name = _("重点项目")
        verbose_name_plural = _("重点项目")
        ordering = ["org_path", "name"]
        indexes = [models.Index(fields=["leader", "stage"], name="keyproject_leader_stage")]
        constraints = [models.UniqueConstraint(fields=["org_unit", "name"], name="keyproject_name_per_unit")]

    def __str__(self) -> str:
        return self.name

    def mark_progress(self, when: datetime | None = None) -> None:
        """Move the stall clock forward (the caller saves)."""
        when = when or timezone.now()
        if self.last_progress_at is None or when > self.last_progress_at:
            self.last_progress_at = when
        self.stalled_after = self.last_progress_at + timedelta(days=stall_days(self.kind))

    @property
    def has_point(self) -> bool:
        return self.longitude is not None and self.latitude is not None


def first_of_month(day: date) -> date:
    return day.replace(day=1)


class InvestmentEntry(models.Model):
    """One month of a project's investment: planned and completed (万元)."""

    project = models.ForeignKey(
        KeyProject, on_delete=models.CASCADE, related_name="investments", verbose_name=_("项目")
    )
    month = models.DateField(_("月份"), help_text=_("该月第一天。"))
    planned = models.DecimalField(_("计划投资 (万元)"), max_digits=12, decimal_places=2, default=Decimal("0"))
    completed = models.DecimalField(
        _("完成投资 (万元)"), max_digits=12, decimal_places=2, default=Decimal("0")
    )
    note = models.CharField(_("说明"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(_("填报时间"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["recorded_at"])

    class Meta:
        verbose_name = _("月度投资")
        verbose_name_plural = _("月度投资")
        ordering = ["project_id", "month"]
        constraints = [models.UniqueConstraint(fields=["project", "month"], name="investment_month_unique")]

    def __str__(self) -> str:
        return f"{self.project} {self.month:%Y-%m}"


class Milestone(models.Model):
    project = models.ForeignKey(
        KeyProject, on_delete=models.CASCADE, related_name="milestones", verbose_name=_("项目")
    )
    name = models.CharField(_("节点名称"), max_length=120)
    planned_date = models.DateField(_("计划日期"))
    actual_date = models.DateField(_("实际完成日期"), null=True, blank=True)
    sort_order = models.PositiveIntegerField(_("排序"), default=0)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("节点")
        verbose_name_plural = _("节点")
        ordering = ["project_id", "planned_date", "sort_order"]
        indexes = [models.Index(fields=["actual_date", "planned_date"], name="milestone_late_idx")]

    def __str__(self) -> str:
        return self.name

    def is_late(self, today: date | None = None) -> bool:
        return self.actual_date is None and self.planned_date < (today or timezone.localdate())


class ProblemStatus(models.TextChoices):
    OPEN = "open", _("待解决")
    SOLVED = "solved", _("已解决")


class Problem(models.Model):
    """A problem holding a project back (问题清单): who owns it, by when; a reminder goes to the owner on
    the due date through the shared deadline engine."""

    project = models.ForeignKey(
        KeyProject, on_delete=models.CASCADE, related_name="problems", verbose_name=_("项目")
    )
    description = models.TextField(_("问题描述"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="project_problems",
        verbose_name=_("责任人"),
    )
    owner_department = models.ForeignKey(
        "core.Department",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("责任科室"),
    )
    due_date = models.DateField(_("解决时限"))
    status = models.CharField(
        _("状态"), max_length=10, choices=ProblemStatus.choices, default=ProblemStatus.OPEN, db_index=True
    )
    solution = models.TextField(_("解决情况"), blank=True)
    solved_at = models.DateTimeField(_("解决时间"), null=True, blank=True)
    reminder = models.ForeignKey(
        "core.Reminder", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)

    history = HistoricalRecords(excluded_fields=["version", "reminder"])

    class Meta:
        verbose_name = _("项目问题")
        verbose_name_plural = _("项目问题")
        ordering = ["project_id", "status", "due_date"]

    def __str__(self) -> str:
        return self.description[:40]

    def is_overdue(self, today: date | None = None) -> bool:
        return self.status == ProblemStatus.OPEN and self.due_date < (today or timezone.localdate())


class ProgressNote(models.Model):
    """A dated note of what moved (进展情况)."""

    project = models.ForeignKey(
        KeyProject, on_delete=models.CASCADE, related_name="notes", verbose_name=_("项目")
    )
    text = models.TextField(_("进展情况"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("填报人")
    )
    created_at = models.DateTimeField(_("填报时间"), default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("项目进展")
        verbose_name_plural = _("项目进展")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.text[:40]


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"projects/{instance.project_id}/{timezone.now():%Y%m}/{filename}"


class Attachment(models.Model):
    project = models.ForeignKey(
        KeyProject, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("项目")
    )
    file = models.FileField(_("文件"), upload_to=attachment_path, max_length=255)
    name = models.CharField(_("文件名"), max_length=200)
    content_type = models.CharField(_("文件类型"), max_length=100, blank=True)
    size = models.PositiveIntegerField(_("大小 (字节)"), default=0)
    description = models.CharField(_("说明"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    is_removed = models.BooleanField(_("已删除"), default=False)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("项目附件")
        verbose_name_plural = _("项目附件")
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return self.name


# ---------------------------------------------------------------------------------------------------------
# Meetings


class MeetingKind(models.TextChoices):
    PROJECT = "project", _("项目推进例会")
    TEAM = "team", _("班子会")
    TOPIC = "topic", _("专题会")
    DISPATCH = "dispatch", _("调度会")
    OTHER = "other", _("其他")


class Meeting(Tracked, ScopedModel):
    """A 例会: when, what kind, about which project (optional), who was expected and who came, the minutes."""

    scope_label = "meeting"

    title = models.CharField(_("会议名称"), max_length=150)
    kind = models.CharField(
        _("会议类型"), max_length=20, choices=MeetingKind.choices, default=MeetingKind.PROJECT
    )
    date = models.DateField(_("会议日期"), db_index=True)
    location = models.CharField(_("地点"), max_length=100, blank=True)
    project = models.ForeignKey(
        KeyProject,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="meetings",
        verbose_name=_("相关项目"),
    )
    chair = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("主持人"),
    )
    expected = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="meetings_expected", verbose_name=_("应到人员")
    )
    present = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="meetings_attended", verbose_name=_("实到人员")
    )
    minutes = models.TextField(_("会议纪要"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    history = HistoricalRecords(excluded_fields=["updated_at", "version"])

    class Meta:
        verbose_name = _("例会")
        verbose_name_plural = _("例会")
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.title}"


class Decision(models.Model):
    """A decision of a meeting (会议议定事项): what, which unit, by when. Becomes one supervised matter."""

    meeting = models.ForeignKey(
        Meeting, on_delete=models.CASCADE, related_name="decisions", verbose_name=_("会议")
    )
    content = models.TextField(_("议定事项"))
    owner_unit = models.ForeignKey(
        "core.Department",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="meeting_decisions",
        verbose_name=_("责任单位"),
    )
    due_date = models.DateField(_("完成时限"), null=True, blank=True)
    sort_order = models.PositiveIntegerField(_("序号"), default=0)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("议定事项")
        verbose_name_plural = _("议定事项")
        ordering = ["meeting_id", "sort_order", "id"]

    def __str__(self) -> str:
        return self.content[:40]

    @property
    def scope_path(self) -> str:
        return self.meeting.org_path
