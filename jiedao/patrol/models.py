"""Patrols, hazard points and emergencies (隐患排查、汛期巡查、应急事件).

A hazard point (隐患点) lies in a grid and is scoped by it. An emergency event covers
affected units; declaring
it writes one `EventCheck` per active point of the chosen kinds in those units, and every check is scoped by
its point's grid, so a grid worker sees exactly the checks of their grids. Routine patrols follow a
`PatrolPlan` per grid whose next due time is a row of the shared deadline engine.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from jiedao.core.history import HistoricalRecords
from jiedao.core.models.deadlines import DueItemMixin
from jiedao.core.models.org import OrgUnit
from jiedao.core.models.scope import ScopedModel, ScopedQuerySet, under_path


class HazardKind(models.Model):
    """A kind of hazard point (积水点, 涵洞/下穿通道 …): configurable; `category_code` names
    the case category a
    finding at such a point is filed under."""

    code = models.SlugField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=40)
    category_code = models.CharField(
        _("隐患工单类别代码"), max_length=40, blank=True, help_text=_("发现隐患时生成的工单类别（代码）。")
    )
    color = models.CharField(_("地图颜色"), max_length=7, default="#206bc4")
    sort_order = models.PositiveIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("隐患点类型")
        verbose_name_plural = _("隐患点类型")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class RiskLevel(models.TextChoices):
    HIGH = "high", _("高风险")
    MEDIUM = "medium", _("中风险")
    LOW = "low", _("低风险")


def point_photo_path(instance: HazardPoint, filename: str) -> str:
    return f"patrol/points/{filename}"


class HazardPoint(ScopedModel):
    """A hazard point in a grid (`org_unit`), with its WGS84 position."""

    scope_label = "hazard"

    kind = models.ForeignKey(
        HazardKind, on_delete=models.PROTECT, related_name="points", verbose_name=_("类型")
    )
    name = models.CharField(_("名称"), max_length=100)
    latitude = models.FloatField(_("纬度"), null=True, blank=True)
    longitude = models.FloatField(_("经度"), null=True, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    risk = models.CharField(_("风险等级"), max_length=8, choices=RiskLevel.choices, default=RiskLevel.MEDIUM)
    photo = models.ImageField(_("照片"), upload_to=point_photo_path, max_length=300, blank=True)
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="hazard_points",
        verbose_name=_("责任网格员"),
    )
    notes = models.TextField(_("备注"), blank=True)
    is_active = models.BooleanField(_("在册"), default=True, help_text=_("已消除或撤销的点位不再在册。"))
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["version", "updated_at"])

    class Meta:
        verbose_name = _("隐患点")
        verbose_name_plural = _("隐患点")
        ordering = ["org_path", "kind__sort_order", "name"]
        indexes = [
            models.Index(fields=["org_path", "is_active"], name="hazard_point_scope_idx"),
            models.Index(fields=["kind", "is_active"], name="hazard_point_kind_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["org_unit", "name"], name="hazard_point_name_per_grid"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_position(self) -> bool:
        return self.latitude is not None and self.longitude is not None


# ---------------------------------------------------------------------------------------------------------
# Emergencies


class EventLevel(models.TextChoices):
    RED = "red", _("红色（I 级）")
    ORANGE = "orange", _("橙色（II 级）")
    YELLOW = "yellow", _("黄色（III 级）")
    BLUE = "blue", _("蓝色（IV 级）")


class EventStatus(models.TextChoices):
    ACTIVE = "active", _("响应中")
    CLOSED = "closed", _("已结束")


class EventQuerySet(ScopedQuerySet):
    def visible_to(self, user: Any, action: str = "view") -> EventQuerySet:
        """An event is seen by whoever sees its declaring unit, and by the people of every affected unit (a
        grid worker of an affected grid sees the event a sub-district declared)."""
        from jiedao.core.permissions import scope_paths

        paths = scope_paths(user, action, self.model)
        if paths is None:
            return self.all()
        if not paths:
            return self.none()
        condition = Q()
        for path in paths:
            touching = EventArea.objects.filter(event=OuterRef("pk")).filter(
                Q(org_path__in=OrgUnit.path_lineage(path)) | under_path("org_path", path, self.db)
            )
            condition |= under_path("org_path", path, self.db) | Q(Exists(touching))
        return self.filter(condition)

    def active(self) -> EventQuerySet:
        return self.filter(status=EventStatus.ACTIVE)


class EmergencyEvent(ScopedModel):
    """An emergency (e.g. 暴雨红色预警) declared at `org_unit` (usually the sub-district) for its affected
    units; `version` guards closing against a concurrent change."""

    scope_label = "emergency"

    kind = models.CharField(_("事件类型"), max_length=60, help_text=_("如：暴雨红色预警"))
    level = models.CharField(_("预警级别"), max_length=8, choices=EventLevel.choices, default=EventLevel.RED)
    instructions = models.TextField(_("工作要求"), blank=True)
    started_at = models.DateTimeField(_("开始时间"))
    point_kinds = models.ManyToManyField(
        HazardKind, related_name="events", verbose_name=_("排查点位类型"), blank=True
    )
    status = models.CharField(
        _("状态"), max_length=8, choices=EventStatus.choices, default=EventStatus.ACTIVE, db_index=True
    )
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("发布人")
    )
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("结束人"),
    )
    summary_note = models.TextField(_("总结"), blank=True)
    notified = models.PositiveIntegerField(_("通知网格员数"), default=0)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)
    idempotency_key = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)

    objects = EventQuerySet.as_manager()  # type: ignore[misc]
    history = HistoricalRecords(excluded_fields=["version", "idempotency_key"])

    class Meta:
        verbose_name = _("应急事件")
        verbose_name_plural = _("应急事件")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} · {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.status == EventStatus.ACTIVE


class EventArea(ScopedModel):
    """One affected unit of an event (a sub-district, community or grid)."""

    scope_label = "emergency"

    event = models.ForeignKey(EmergencyEvent, on_delete=models.CASCADE, related_name="areas")

    class Meta:
        verbose_name = _("影响区域")
        verbose_name_plural = _("影响区域")
        constraints = [models.UniqueConstraint(fields=["event", "org_unit"], name="event_area_unique")]

    def __str__(self) -> str:
        return f"{self.event_id} {self.org_unit_id}"


class CheckStatus(models.TextChoices):
    PENDING = "pending", _("未排查")
    OK = "ok", _("正常")
    HAZARD = "hazard", _("发现险情")


def check_photo_path(instance: EventCheck, filename: str) -> str:
    return f"patrol/events/{instance.event_id}/{filename}"


class EventCheck(ScopedModel):
    """One point to check during an event, in the point's grid (`org_unit`). Checked by a conditional
    update on `status='pending'`: of two workers checking at once, one wins."""

    scope_label = "emergency"

    event = models.ForeignKey(EmergencyEvent, on_delete=models.CASCADE, related_name="checks", db_index=False)
    point = models.ForeignKey(HazardPoint, on_delete=models.PROTECT, related_name="event_checks")
    status = models.CharField(
        _("结果"), max_length=8, choices=CheckStatus.choices, default=CheckStatus.PENDING
    )
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("排查人"),
    )
    checked_at = models.DateTimeField(_("排查时间"), null=True, blank=True)
    note = models.TextField(_("情况说明"), blank=True)
    photo = models.ImageField(_("照片"), upload_to=check_photo_path, max_length=300, blank=True)
    latitude = models.FloatField(_("纬度"), null=True, blank=True)
    longitude = models.FloatField(_("经度"), null=True, blank=True)
    accuracy = models.FloatField(_("定位精度（米）"), null=True, blank=True)
    case = models.ForeignKey(
        "cases.Case",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("隐患工单"),
    )

    class Meta:
        verbose_name = _("应急排查")
        verbose_name_plural = _("应急排查")
        ordering = ["org_path", "id"]
        indexes = [
            models.Index(fields=["event", "org_path"], name="event_check_scope_idx"),
            models.Index(fields=["event", "status"], name="event_check_status_idx"),
        ]
        constraints = [models.UniqueConstraint(fields=["event", "point"], name="event_check_unique")]

    def __str__(self) -> str:
        return f"{self.event_id} {self.point_id} {self.status}"


class RecordKind(models.TextChoices):
    EVACUATION = "evacuation", _("转移群众")
    MEASURE = "measure", _("处置措施")


class EventRecord(ScopedModel):
    """People moved to safety (转移群众) or a measure taken, in a unit (`org_unit`) during an event."""

    scope_label = "emergency"

    event = models.ForeignKey(EmergencyEvent, on_delete=models.CASCADE, related_name="records")
    kind = models.CharField(_("类型"), max_length=12, choices=RecordKind.choices)
    people_count = models.PositiveIntegerField(_("转移人数"), default=0)
    destination = models.CharField(_("安置地点"), max_length=200, blank=True)
    note = models.TextField(_("说明"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("记录人"),
    )
    recorded_at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = _("应急处置记录")
        verbose_name_plural = _("应急处置记录")
        ordering = ["event", "recorded_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.recorded_at:%H:%M}"


# ---------------------------------------------------------------------------------------------------------
# Routine patrols


class PatrolPlan(DueItemMixin, ScopedModel):
    """Routine patrol of some points of a grid every `every_days` days. `due_at` (the deadline engine's
    column) is when the next patrol is due; recording a patrol moves it on, the
    engine warns when it passes."""

    scope_label = "patrol"

    name = models.CharField(_("名称"), max_length=100)
    points = models.ManyToManyField(HazardPoint, related_name="plans", verbose_name=_("巡查点位"))
    every_days = models.PositiveSmallIntegerField(_("巡查周期（天）"), default=7)
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="patrol_plans",
        verbose_name=_("巡查人"),
    )
    is_active = models.BooleanField(_("启用"), default=True)
    last_patrol_at = models.DateTimeField(_("最近巡查"), null=True, blank=True)
    warned_at = models.DateTimeField(_("超期提醒时间"), null=True, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)

    history = HistoricalRecords(
        excluded_fields=["version", "claim_token", "claimed_at", "done_at", "attempts", "last_error"]
    )

    class Meta:
        verbose_name = _("巡查计划")
        verbose_name_plural = _("巡查计划")
        ordering = ["org_path", "name"]
        indexes = [models.Index(fields=["due_state", "due_at"], name="patrol_plan_due_idx")]

    def __str__(self) -> str:
        return self.name


class PatrolRecord(ScopedModel):
    """One patrol: who, when, from where (the phone's position), and each point's result (`items`)."""

    scope_label = "patrol"

    plan = models.ForeignKey(
        PatrolPlan,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="records",
        verbose_name=_("计划"),
    )
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("巡查人")
    )
    patrolled_at = models.DateTimeField(_("巡查时间"), db_index=True)
    latitude = models.FloatField(_("纬度"), null=True, blank=True)
    longitude = models.FloatField(_("经度"), null=True, blank=True)
    accuracy = models.FloatField(_("定位精度（米）"), null=True, blank=True)
    note = models.TextField(_("备注"), blank=True)
    idempotency_key = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)

    class Meta:
        verbose_name = _("巡查记录")
        verbose_name_plural = _("巡查记录")
        ordering = ["-patrolled_at", "-id"]
        indexes = [models.Index(fields=["org_path", "patrolled_at"], name="patrol_record_scope_idx")]

    def __str__(self) -> str:
        return f"{self.worker} {self.patrolled_at:%Y-%m-%d %H:%M}"


def item_photo_path(instance: PatrolItem, filename: str) -> str:
    return f"patrol/records/{instance.record_id}/{filename}"


class PatrolItem(models.Model):
    """One point's result in a patrol."""

    record = models.ForeignKey(PatrolRecord, on_delete=models.CASCADE, related_name="items")
    point = models.ForeignKey(HazardPoint, on_delete=models.PROTECT, related_name="patrol_items")
    status = models.CharField(_("结果"), max_length=8, choices=CheckStatus.choices[1:])
    note = models.CharField(_("情况说明"), max_length=500, blank=True)
    photo = models.ImageField(_("照片"), upload_to=item_photo_path, max_length=300, blank=True)
    case = models.ForeignKey(
        "cases.Case",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("隐患工单"),
    )

    class Meta:
        verbose_name = _("巡查点位结果")
        verbose_name_plural = _("巡查点位结果")
        ordering = ["record", "id"]
        constraints = [models.UniqueConstraint(fields=["record", "point"], name="patrol_item_unique")]

    def __str__(self) -> str:
        return f"{self.record_id} {self.point_id} {self.status}"

    @property
    def scope_path(self) -> str:
        return self.record.org_path
