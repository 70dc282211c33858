"""One FilterSet for the portfolio (项目总览): the HTML page, the REST API and the .xlsx export all filter
with it (the queryset they pass in is already scoped with `KeyProject.objects.visible_to(user)`), and one
for the meetings list."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiedao.core.filters import SearchFilter, UnderFilter
from jiedao.projects.models import (
    ACTIVE_STAGES,
    KeyProject,
    Meeting,
    MeetingKind,
    Milestone,
    ProjectKind,
    Stage,
)


def late_milestones(today: Any = None) -> QuerySet[Milestone]:
    """Milestones whose planned date has passed without an actual date, per project (for Exists/Subquery)."""
    return Milestone.objects.filter(
        project=OuterRef("pk"), actual_date__isnull=True, planned_date__lt=today or timezone.localdate()
    )


def stalled_q(now: Any = None) -> Q:
    return Q(stage__in=ACTIVE_STAGES, stalled_after__lte=now or timezone.now())


def late_q() -> Q:
    return Q(Exists(late_milestones()))


class Flag(django_filters.ChoiceFilter):
    CHOICES = [
        ("stalled", _("停滞（长期无进展）")),
        ("late", _("节点滞后")),
        ("any", _("停滞或节点滞后")),
        ("ok", _("正常推进")),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=self.CHOICES, method=self.flag, label=_("预警"), **kwargs)

    def flag(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "stalled":
            return queryset.filter(stalled_q())
        if value == "late":
            return queryset.filter(late_q())
        if value == "any":
            return queryset.filter(stalled_q() | late_q())
        if value == "ok":
            return queryset.exclude(stalled_q() | late_q())
        return queryset


class Mine(django_filters.BooleanFilter):
    """我分包的项目: the requesting user is the project's leader."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(method=self.mine, label=_("我分包的"), **kwargs)

    def mine(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if not value:
            return queryset
        user = getattr(self.parent.request, "user", None)
        if user is None or not user.is_authenticated:
            return queryset.none()
        return queryset.filter(leader=user)


class ProjectFilterSet(django_filters.FilterSet):
    q = SearchFilter("name", "code", "owner_company", "address")
    kind = django_filters.ChoiceFilter(choices=ProjectKind.choices, label=_("项目类型"))
    stage = django_filters.ChoiceFilter(choices=Stage.choices, label=_("阶段"))
    flag = Flag()
    mine = Mine()
    unit = UnderFilter("org_path", label=_("所在单元代码（含下级）"))
    leader = django_filters.CharFilter(field_name="leader__username", label=_("分包领导（用户名）"))
    department = django_filters.CharFilter(method="by_department", label=_("责任科室代码"))
    active = django_filters.BooleanFilter(field_name="is_active", label=_("在台账"))

    class Meta:
        model = KeyProject
        fields = ["q", "kind", "stage", "flag", "mine", "unit", "leader", "department", "active"]

    def by_department(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(departments__code=value).distinct()


class MeetingFilterSet(django_filters.FilterSet):
    q = SearchFilter("title", "minutes", "location")
    kind = django_filters.ChoiceFilter(choices=MeetingKind.choices, label=_("会议类型"))
    project = django_filters.CharFilter(method="by_project", label=_("相关项目编号"))
    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte", label=_("起始日期"))
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte", label=_("截止日期"))
    unit = UnderFilter("org_path", label=_("召开单位代码（含下级）"))

    class Meta:
        model = Meeting
        fields = ["q", "kind", "project", "date_from", "date_to", "unit"]

    def by_project(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        if not value.isdigit() or len(value) > 18:
            return queryset.none()
        return queryset.filter(project_id=int(value))
