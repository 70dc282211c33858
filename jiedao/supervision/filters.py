"""One FilterSet for supervised matters: the HTML list, the REST API and the .xlsx export filter with it (the
queryset they pass in is already scoped with `SupervisedMatter.objects.visible_to(user)`). The 通报 page's
figures link here: each number is a combination of `lead`, `due_after`/`due_before` and `late`."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import django_filters
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from jiedao.core.filters import UnderFilter
from jiedao.core.models.scope import under_path
from jiedao.supervision import rules
from jiedao.supervision.lights import light_q
from jiedao.supervision.models import (
    DONE_STATUSES,
    OPEN_STATUSES,
    Light,
    Rating,
    Source,
    Status,
    SupervisedMatter,
)


@extend_schema_field(OpenApiTypes.BOOL)
class YesNoFilter(django_filters.BooleanFilter):
    """A yes/no filter answered by a method (typed for the OpenAPI schema)."""


@extend_schema_field(OpenApiTypes.DATE)
class DayFilter(django_filters.DateFilter):
    """A date filter answered by a method (typed for the OpenAPI schema)."""


class Box(django_filters.ChoiceFilter):
    """The work views: my unit's matters (it leads or helps), the matters I supervise."""

    CHOICES = [("unit", _("本单位承办")), ("supervise", _("我督办的"))]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=self.CHOICES, method=self.box, label=_("视图"), **kwargs)

    def box(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        user = getattr(self.parent.request, "user", None)
        if user is None or not user.is_authenticated:
            return queryset.none()
        if value == "unit":
            return queryset.filter(rules.participating_q(user, queryset.db))
        if value == "supervise":
            paths = rules.supervisor_paths(user)
            if paths is None:
                return queryset
            condition = Q(pk__in=[])
            for path in paths:
                condition |= under_path("org_path", path, queryset.db)
            return queryset.filter(condition | Q(leader=user))
        return queryset


def lead_key(lead_unit_id: int | None, lead_department_id: int | None) -> str:
    """The 通报's key of a lead: "d<id>" for a department, "u<id>" for a unit."""
    if lead_department_id is not None:
        return f"d{lead_department_id}"
    return f"u{lead_unit_id}" if lead_unit_id is not None else ""


def day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def late_q(value: str, now: datetime | None = None) -> Q:
    """Overdue kinds of the 通报: still open past the deadline, completed after it, or either."""
    now = now or timezone.now()
    open_late = Q(status__in=OPEN_STATUSES, deadline__lt=now)
    done_late = Q(status__in=DONE_STATUSES, completed_at__gt=F("deadline"))
    if value == "open":
        return open_late
    if value == "done":
        return done_late
    if value == "on_time":
        return Q(status__in=DONE_STATUSES, completed_at__lte=F("deadline"))
    return open_late | done_late


class MatterFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("关键词"))
    box = Box()
    status = django_filters.MultipleChoiceFilter(choices=Status.choices, label=_("状态"), distinct=False)
    open = YesNoFilter(method="open_only", label=_("仅未办结"))
    source = django_filters.ChoiceFilter(choices=Source.choices, label=_("来源"))
    light = django_filters.ChoiceFilter(
        choices=[(v, lbl) for v, lbl in Light.choices if v != Light.NONE], method="by_light", label=_("预警")
    )
    overdue = YesNoFilter(method="is_overdue", label=_("已超期"))
    unit = UnderFilter("lead_path", label=_("牵头单位代码（含下级）"))
    lead = django_filters.CharFilter(method="by_lead", label=_("牵头单位（通报键）"))
    lead_department = django_filters.CharFilter(field_name="lead_department__code", label=_("牵头科室代码"))
    leader = django_filters.CharFilter(field_name="leader__username", label=_("责任领导（用户名）"))
    project = django_filters.CharFilter(method="by_project", label=_("重点项目（编号）"))
    rating = django_filters.ChoiceFilter(choices=Rating.choices, label=_("评价"))
    extended = YesNoFilter(method="is_extended", label=_("延期过"))
    returned = YesNoFilter(method="is_returned", label=_("退回过"))
    due_after = DayFilter(method="due_from", label=_("时限起"))
    due_before = DayFilter(method="due_until", label=_("时限止"))
    late = django_filters.ChoiceFilter(
        choices=[
            ("any", _("逾期（含逾期办结）")),
            ("open", _("逾期未办结")),
            ("done", _("逾期办结")),
            ("on_time", _("按期办结")),
        ],
        method="by_late",
        label=_("逾期情况"),
    )
    ordering = django_filters.OrderingFilter(
        fields=(("created_at", "created"), ("deadline", "deadline"), ("updated_at", "updated")),
        label=_("排序"),
    )

    class Meta:
        model = SupervisedMatter
        fields: list[str] = []

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        if value.upper().startswith("DB") and len(value) == 11:
            return queryset.filter(number=value.upper())
        return queryset.filter(
            Q(number__icontains=value) | Q(title__icontains=value) | Q(content__icontains=value)
        )

    def open_only(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return (
            queryset.filter(status__in=OPEN_STATUSES) if value else queryset.exclude(status__in=OPEN_STATUSES)
        )

    def by_light(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(light_q(value)) if value else queryset

    def is_overdue(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        q = light_q(Light.RED)
        return queryset.filter(q) if value else queryset.exclude(q)

    def by_lead(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if len(value) < 2 or not value[1:].isdigit() or value[0] not in "ud":
            return queryset.none()
        if value[0] == "d":
            return queryset.filter(lead_department_id=int(value[1:]))
        return queryset.filter(lead_unit_id=int(value[1:]), lead_department__isnull=True)

    def by_project(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        if not value.isdigit() or len(value) > 12:
            return queryset.none()
        return queryset.filter(project_id=int(value))

    def is_extended(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(extension_count__gt=0) if value else queryset.filter(extension_count=0)

    def is_returned(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(return_count__gt=0) if value else queryset.filter(return_count=0)

    def due_from(self, queryset: QuerySet, name: str, value: date | None) -> QuerySet:
        return queryset.filter(deadline__gte=day_start(value)) if value else queryset

    def due_until(self, queryset: QuerySet, name: str, value: date | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(deadline__lt=day_start(value) + timedelta(days=1))

    def by_late(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(late_q(value)) if value else queryset
