"""The household list's one FilterSet: the project's household page, the board's drill-down links, the .xlsx
export and the API all filter through it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from jiedao.core.filters import SearchFilter
from jiedao.relocation.models import (
    Attitude,
    ExpropriationHousehold,
    ExpropriationProject,
    ReminderStatus,
    Stage,
    Visit,
    VisitReminder,
)
from jiedao.relocation.services import reminder_due_at

REACHED = [
    ("valuation", _("已评估")),
    ("negotiation", _("已进入协商")),
    ("signed", _("已签约")),
    ("vacated", _("已腾房")),
    ("demolished", _("已拆除")),
]
REACHED_FIELD = {
    "valuation": "valued_on",
    "negotiation": "negotiating_on",
    "signed": "signed_on",
    "vacated": "vacated_on",
    "demolished": "demolished_on",
}
YES_NO = [("true", _("是")), ("false", _("否"))]


@extend_schema_field(OpenApiTypes.INT)
class RowIdFilter(django_filters.Filter):
    """A row id: any whole number is accepted, one the database cannot hold matches nothing."""

    field_class = forms.IntegerField

    def filter(self, qs: QuerySet, value: Any) -> QuerySet:
        if value in (None, ""):
            return qs
        if not _row_id(value):
            return qs.none()
        return super().filter(qs, int(value))


def _row_id(value: Any) -> bool:
    """A whole number the database can compare with an id column."""
    return value == int(value) and -(2**63) < int(value) < 2**63


def reminder_due_q(day: Any = None) -> Q:
    """Households with an open reminder ringing today or earlier."""
    day = day or timezone.localdate()
    due = VisitReminder.objects.filter(
        household=OuterRef("pk"),
        status=ReminderStatus.OPEN,
        due_at__lt=reminder_due_at(day + timedelta(days=1)),
    )
    return Q(Exists(due))


class HouseholdFilterSet(django_filters.FilterSet):
    q = SearchFilter("number", "owner_name", "address", label=_("户号、产权人或坐落"))
    project = RowIdFilter(field_name="project_id", label=_("项目编号"))
    stage = django_filters.MultipleChoiceFilter(choices=Stage.choices, label=_("环节"))
    reached = django_filters.ChoiceFilter(choices=REACHED, method="filter_reached", label=_("已达到"))
    team = RowIdFilter(method="filter_team", label=_("工作组（0 为未分组）"))
    leader = RowIdFilter(field_name="team__leader_id", label=_("组长"))
    staff = RowIdFilter(method="filter_staff", label=_("包户人（0 为未指定）"))
    attitude = django_filters.ChoiceFilter(choices=Attitude.choices, label=_("态度"))
    missing = django_filters.TypedChoiceFilter(
        choices=YES_NO, coerce=lambda v: v == "true", method="filter_missing", label=_("缺材料")
    )
    reminder_due = django_filters.TypedChoiceFilter(
        choices=YES_NO, coerce=lambda v: v == "true", method="filter_reminder_due", label=_("今日应回访")
    )
    signed_from = django_filters.DateFilter(field_name="signed_on", lookup_expr="gte", label=_("签约日期起"))
    signed_to = django_filters.DateFilter(field_name="signed_on", lookup_expr="lte", label=_("签约日期止"))
    vacated_from = django_filters.DateFilter(
        field_name="vacated_on", lookup_expr="gte", label=_("腾房日期起")
    )
    vacated_to = django_filters.DateFilter(field_name="vacated_on", lookup_expr="lte", label=_("腾房日期止"))
    not_visited_since = django_filters.DateFilter(method="filter_not_visited", label=_("此日后未走访"))

    class Meta:
        model = ExpropriationHousehold
        fields = [
            "q",
            "project",
            "stage",
            "reached",
            "team",
            "leader",
            "staff",
            "attitude",
            "missing",
            "reminder_due",
            "signed_from",
            "signed_to",
            "vacated_from",
            "vacated_to",
            "not_visited_since",
        ]

    def filter_team(self, queryset: QuerySet, name: str, value: int) -> QuerySet:
        if value is None:
            return queryset
        if not _row_id(value):
            return queryset.none()
        return queryset.filter(team__isnull=True) if value == 0 else queryset.filter(team_id=int(value))

    def filter_staff(self, queryset: QuerySet, name: str, value: int) -> QuerySet:
        if value is None:
            return queryset
        if not _row_id(value):
            return queryset.none()
        return queryset.filter(staff__isnull=True) if value == 0 else queryset.filter(staff_id=int(value))

    def filter_reached(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        field = REACHED_FIELD.get(value)
        return queryset.filter(**{f"{field}__isnull": False}) if field else queryset

    def filter_missing(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(missing_documents__gt=0) if value else queryset.filter(missing_documents=0)

    def filter_reminder_due(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(reminder_due_q()) if value else queryset.exclude(reminder_due_q())

    def filter_not_visited(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        return queryset.filter(Q(last_visit_on__isnull=True) | Q(last_visit_on__lt=value))


class ProjectFilterSet(django_filters.FilterSet):
    q = SearchFilter("name", "description")
    is_active = django_filters.BooleanFilter(label=_("进行中"))

    class Meta:
        model = ExpropriationProject
        fields = ["q", "is_active"]


class VisitFilterSet(django_filters.FilterSet):
    project = RowIdFilter(field_name="project_id", label=_("项目编号"))
    household = RowIdFilter(field_name="household_id", label=_("被征收户编号"))
    attitude = django_filters.ChoiceFilter(choices=Attitude.choices, label=_("态度"))
    visited_from = django_filters.DateFilter(
        field_name="visited_on", lookup_expr="gte", label=_("走访日期起")
    )
    visited_to = django_filters.DateFilter(field_name="visited_on", lookup_expr="lte", label=_("走访日期止"))

    class Meta:
        model = Visit
        fields = ["project", "household", "attitude", "visited_from", "visited_to"]
