"""One FilterSet per list: the HTML page, the REST API and the .xlsx export filter with the same one (the
queryset passed in is already scoped with `visible_to(user)`)."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from jiedao.core.filters import UnderFilter
from jiedao.patrol.models import (
    EmergencyEvent,
    EventStatus,
    HazardPoint,
    PatrolPlan,
    PatrolRecord,
    RiskLevel,
)


class HazardPointFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("名称/地址"))
    unit = UnderFilter("org_path", label=_("社区/网格"))
    kind = django_filters.CharFilter(field_name="kind__code", label=_("类型（代码）"))
    risk = django_filters.ChoiceFilter(choices=RiskLevel.choices, label=_("风险等级"))
    is_active = django_filters.BooleanFilter(label=_("在册"))

    class Meta:
        model = HazardPoint
        fields = ["q", "unit", "kind", "risk", "is_active"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(address__icontains=value))


class EventFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=EventStatus.choices, label=_("状态"))
    q = django_filters.CharFilter(field_name="kind", lookup_expr="icontains", label=_("事件类型"))

    class Meta:
        model = EmergencyEvent
        fields = ["q", "status"]


class PlanFilterSet(django_filters.FilterSet):
    unit = UnderFilter("org_path", label=_("社区/网格"))
    is_active = django_filters.BooleanFilter(label=_("启用"))

    class Meta:
        model = PatrolPlan
        fields = ["unit", "is_active"]


class RecordFilterSet(django_filters.FilterSet):
    unit = UnderFilter("org_path", label=_("社区/网格"))
    after = django_filters.DateFilter(field_name="patrolled_at", lookup_expr="date__gte", label=_("起始日期"))
    before = django_filters.DateFilter(
        field_name="patrolled_at", lookup_expr="date__lte", label=_("截止日期")
    )

    class Meta:
        model = PatrolRecord
        fields = ["unit", "after", "before"]
