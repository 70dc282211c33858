"""Expropriation (征收): projects, their teams (工作组), households (被征收户) with their stage pipeline,
visit logs (征收日志), reminders (定时闹钟) and document folders (文件夹) — the seed's "征收三件宝".

Scope. A project belongs to an org unit (the sub-district, or the community/village where the land is); its
households, visits, reminders carry the project's unit path, so "what may this user see" is the usual prefix
test. The people working on a project (its leader, the team leaders and members) see it too, wherever their
own unit is: a grid worker from another community who was drafted into a team works on the project's
households (`RelocationQuerySet.visible_to`).

The stage dates (`valued_on`, `negotiating_on`, `signed_on`, `vacated_on`, `demolished_on`) are the dates
each stage was reached; the progress board counts and draws its curve from them with aggregate queries over
(project, date) indexes, so there is no snapshot table to keep in step (see README).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Self

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from jiedao.core.history import HistoricalRecords
from jiedao.core.models.deadlines import DueItemMixin
from jiedao.core.models.scope import ScopedModel, ScopedQuerySet, under_path

PHONE_CONTEXT = "relocation.household.phone"


class Stage(models.TextChoices):
    SURVEY = "survey", _("摸底")
    VALUATION = "valuation", _("评估")
    NEGOTIATION = "negotiation", _("协商")
    SIGNED = "signed", _("签约")
    VACATED = "vacated", _("腾房")
    DEMOLISHED = "demolished", _("拆除")


#: The pipeline in order; a household moves one step forward at a time, or back with a reason.
STAGE_ORDER: list[str] = [s.value for s in Stage]
#: The household's column holding the date each stage was reached (摸底: the date it was surveyed).
STAGE_DATE_FIELD: dict[str, str] = {
    Stage.SURVEY: "surveyed_on",
    Stage.VALUATION: "valued_on",
    Stage.NEGOTIATION: "negotiating_on",
    Stage.SIGNED: "signed_on",
    Stage.VACATED: "vacated_on",
    Stage.DEMOLISHED: "demolished_on",
}


def stage_index(stage: str) -> int:
    return STAGE_ORDER.index(stage)


class Attitude(models.TextChoices):
    SUPPORT = "support", _("支持")
    WAITING = "waiting", _("观望")
    RESISTING = "resisting", _("抵触")


class RelocationQuerySet(ScopedQuerySet):
    """Scoped rows, plus every row of the projects the user works on (leader, team leader or member)."""

    #: The lookup from this model to its project's id ("id" on the project itself).
    project_lookup = "project_id"

    def visible_to(self, user: Any, action: str = "view") -> Self:
        from jiedao.core.permissions import scope_paths

        qs: Any = self
        paths = scope_paths(user, action, qs.model)
        if paths is None:  # unrestricted (superuser)
            return qs.all()
        condition = Q(pk__in=[])
        for path in paths:
            condition |= under_path(self.scope_field, path, qs.db)
        if (
            action in ("view", "relocation.view")
            and getattr(user, "is_authenticated", False)
            and user.is_active
        ):
            condition |= Q(**{f"{self.project_lookup}__in": participating_project_ids(user)})
        return qs.filter(condition)


class ProjectQuerySet(RelocationQuerySet):
    project_lookup = "id"


def participating_project_ids(user: Any) -> models.QuerySet[Any]:
    """Ids of the projects `user` leads or works on in a team (a subquery)."""
    teams = Team.objects.filter(Q(leader=user) | Q(members=user)).values("project_id")
    return ExpropriationProject.objects.filter(Q(leader=user) | Q(pk__in=teams)).values("pk")


class Tracked(models.Model):
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        abstract = True


class ExpropriationProject(Tracked, ScopedModel):
    """A 征收项目: where (the org unit), who leads it, when it started, what must be signed by when."""

    scope_label = "relocation"

    name = models.CharField(_("项目名称"), max_length=120)
    description = models.TextField(_("项目说明"), blank=True)
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="led_expropriations",
        verbose_name=_("分包领导"),
    )
    start_date = models.DateField(_("启动日期"))
    target_date = models.DateField(_("目标日期"), null=True, blank=True)
    target_signed = models.PositiveIntegerField(_("目标签约户数"), default=0)
    target_vacated = models.PositiveIntegerField(_("目标腾房户数"), default=0)
    is_active = models.BooleanField(_("进行中"), default=True)

    objects = ProjectQuerySet.as_manager()  # type: ignore[misc]
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("征收项目")
        verbose_name_plural = _("征收项目")
        ordering = ["-is_active", "-start_date", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def project(self) -> ExpropriationProject:
        return self


class Team(models.Model):
    """A 工作组 of a project: its leader (often a 班子成员) and its members (staff users)."""

    project = models.ForeignKey(
        ExpropriationProject, on_delete=models.CASCADE, related_name="teams", verbose_name=_("征收项目")
    )
    name = models.CharField(_("组名"), max_length=60)
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="led_expropriation_teams",
        verbose_name=_("组长"),
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="expropriation_teams", verbose_name=_("组员")
    )
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)

    history = HistoricalRecords(m2m_fields=[members])

    class Meta:
        verbose_name = _("工作组")
        verbose_name_plural = _("工作组")
        ordering = ["project", "sort_order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="relocation_team_unique_name")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def scope_path(self) -> str:
        return self.project.org_path


class DocumentKind(models.Model):
    """One item of a project's document checklist, and the stage from which it is required (blank: kept
    when there is one, never required)."""

    project = models.ForeignKey(
        ExpropriationProject,
        on_delete=models.CASCADE,
        related_name="document_kinds",
        verbose_name=_("征收项目"),
    )
    name = models.CharField(_("材料名称"), max_length=60)
    required_stage = models.CharField(
        _("何时必备"),
        max_length=16,
        choices=Stage.choices,
        blank=True,
        help_text=_("进入该环节前必须已上传；留空表示非必备。"),
    )
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("材料清单项")
        verbose_name_plural = _("材料清单")
        ordering = ["project", "sort_order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="relocation_doc_kind_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class ExpropriationHousehold(Tracked, ScopedModel):
    """A 被征收户 (or parcel): who owns it, what it is worth, who works on it (包户), where it stands."""

    scope_label = "relocation"

    project = models.ForeignKey(
        ExpropriationProject, on_delete=models.PROTECT, related_name="households", verbose_name=_("征收项目")
    )
    number = models.CharField(_("户号"), max_length=30)
    owner_name = models.CharField(_("产权人"), max_length=60)
    phone_token = models.TextField(_("联系电话（密文）"), blank=True, editable=False)
    phone_mask = models.CharField(_("联系电话"), max_length=20, blank=True, editable=False)
    address = models.CharField(_("房屋坐落"), max_length=200, blank=True)
    area = models.DecimalField(_("面积（平方米）"), max_digits=10, decimal_places=2, null=True, blank=True)
    valuation = models.DecimalField(
        _("评估金额（元）"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="households",
        verbose_name=_("工作组"),
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="expropriation_households",
        verbose_name=_("包户人"),
    )
    stage = models.CharField(_("环节"), max_length=16, choices=Stage.choices, default=Stage.SURVEY)
    surveyed_on = models.DateField(_("摸底日期"))
    valued_on = models.DateField(_("评估日期"), null=True, blank=True)
    negotiating_on = models.DateField(_("协商日期"), null=True, blank=True)
    signed_on = models.DateField(_("签约日期"), null=True, blank=True)
    vacated_on = models.DateField(_("腾房日期"), null=True, blank=True)
    demolished_on = models.DateField(_("拆除日期"), null=True, blank=True)
    attitude = models.CharField(_("态度"), max_length=16, choices=Attitude.choices, blank=True)
    last_visit_on = models.DateField(_("最近走访"), null=True, blank=True)
    missing_documents = models.PositiveSmallIntegerField(
        _("缺少材料数"),
        default=0,
        editable=False,
        help_text=_("当前环节和下一环节必备而尚未上传的材料项数。"),
    )
    note = models.TextField(_("备注"), blank=True)

    objects = RelocationQuerySet.as_manager()  # type: ignore[misc]
    history = HistoricalRecords(excluded_fields=["updated_at", "phone_token"])

    class Meta:
        verbose_name = _("被征收户")
        verbose_name_plural = _("被征收户")
        ordering = ["project", "number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="relocation_household_unique_number")
        ]
        indexes = [
            models.Index(fields=["project", "stage"], name="reloc_hh_stage_idx"),
            models.Index(fields=["project", "signed_on"], name="reloc_hh_signed_idx"),
            models.Index(fields=["project", "vacated_on"], name="reloc_hh_vacated_idx"),
            models.Index(fields=["project", "team"], name="reloc_hh_team_idx"),
            models.Index(fields=["project", "staff"], name="reloc_hh_staff_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.owner_name}"

    def stage_date(self, stage: str) -> date | None:
        value = getattr(self, STAGE_DATE_FIELD[stage])
        return value if isinstance(value, date) else None


class StageChange(models.Model):
    """One move of a household along the pipeline (forward one step, or back with a reason)."""

    household = models.ForeignKey(
        ExpropriationHousehold,
        on_delete=models.CASCADE,
        related_name="stage_changes",
        verbose_name=_("被征收户"),
    )
    from_stage = models.CharField(_("原环节"), max_length=16, choices=Stage.choices)
    to_stage = models.CharField(_("新环节"), max_length=16, choices=Stage.choices)
    forward = models.BooleanField(_("推进"), default=True)
    on = models.DateField(_("日期"))
    reason = models.TextField(_("原因"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("操作人")
    )
    created_at = models.DateTimeField(_("操作时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("环节变更")
        verbose_name_plural = _("环节变更")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.household_id}: {self.from_stage} → {self.to_stage}"


class Visit(ScopedModel):
    """One entry of the 征收日志: who visited when, what was said, the attitude, demands, the next step."""

    scope_label = "relocation"

    household = models.ForeignKey(
        ExpropriationHousehold, on_delete=models.CASCADE, related_name="visits", verbose_name=_("被征收户")
    )
    project = models.ForeignKey(
        ExpropriationProject, on_delete=models.CASCADE, related_name="+", verbose_name=_("征收项目")
    )
    visited_on = models.DateField(_("走访日期"))
    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("走访人")
    )
    talk = models.TextField(_("谈话内容"))
    attitude = models.CharField(_("态度"), max_length=16, choices=Attitude.choices)
    demands = models.TextField(_("诉求"), blank=True)
    next_step = models.TextField(_("下一步"), blank=True)
    created_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    objects = RelocationQuerySet.as_manager()  # type: ignore[misc]

    class Meta:
        verbose_name = _("征收日志")
        verbose_name_plural = _("征收日志")
        ordering = ["-visited_on", "-id"]
        indexes = [models.Index(fields=["household", "visited_on"], name="reloc_visit_hh_idx")]

    def __str__(self) -> str:
        return f"{self.visited_on} {self.household}"


class ReminderStatus(models.TextChoices):
    OPEN = "open", _("待回访")
    DONE = "done", _("已回访")
    CANCELLED = "cancelled", _("已取消")


class VisitReminder(DueItemMixin, ScopedModel):
    """A 定时闹钟: "visit this household again on …". The shared deadline engine notifies the assignee once
    at `due_at`; it stays in their 我的待办 until a visit is recorded (done) or it is cancelled."""

    scope_label = "relocation"

    household = models.ForeignKey(
        ExpropriationHousehold, on_delete=models.CASCADE, related_name="reminders", verbose_name=_("被征收户")
    )
    project = models.ForeignKey(
        ExpropriationProject, on_delete=models.CASCADE, related_name="+", verbose_name=_("征收项目")
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="expropriation_reminders",
        verbose_name=_("提醒谁"),
    )
    note = models.CharField(_("事由"), max_length=200, blank=True)
    status = models.CharField(
        _("回访状态"), max_length=16, choices=ReminderStatus.choices, default=ReminderStatus.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("设置时间"), auto_now_add=True)
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)

    objects = RelocationQuerySet.as_manager()  # type: ignore[misc]

    kind = "relocation.reminder"

    class Meta:
        verbose_name = _("定时闹钟")
        verbose_name_plural = _("定时闹钟")
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["due_state", "due_at"], name="reloc_rem_due_idx"),
            models.Index(fields=["assignee", "status", "due_at"], name="reloc_rem_user_idx"),
            models.Index(fields=["household", "status", "due_at"], name="reloc_rem_hh_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.household} {self.due_at:%Y-%m-%d}"


def document_path(instance: HouseholdDocument, filename: str) -> str:
    return f"relocation/{instance.household.project_id}/{instance.household_id}/{filename}"


class HouseholdDocument(models.Model):
    """A file in a household's folder, filed under one checklist item."""

    household = models.ForeignKey(
        ExpropriationHousehold, on_delete=models.CASCADE, related_name="documents", verbose_name=_("被征收户")
    )
    kind = models.ForeignKey(
        DocumentKind, on_delete=models.PROTECT, related_name="documents", verbose_name=_("材料项")
    )
    file = models.FileField(_("文件"), upload_to=document_path, max_length=300)
    name = models.CharField(_("文件名"), max_length=200)
    size = models.PositiveIntegerField(_("大小"), default=0)
    content_type = models.CharField(_("类型"), max_length=100, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("上传人")
    )
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("材料文件")
        verbose_name_plural = _("材料文件")
        ordering = ["kind__sort_order", "uploaded_at", "id"]

    def __str__(self) -> str:
        return self.name
