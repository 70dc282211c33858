"""One FilterSet for cases: the HTML list, the REST API and the .xlsx export all filter with it (the queryset
they pass in is already scoped with `Case.objects.visible_to(user)`)."""

from __future__ import annotations

from datetime import date
from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiedao.cases import backlog as backlog_rules
from jiedao.cases import measures
from jiedao.cases.clock import light_q
from jiedao.cases.models import (
    OPEN_STATUSES,
    Case,
    Category,
    Channel,
    Light,
    Outcome,
    PetitionType,
    Priority,
    Rating,
    Status,
)
from jiedao.cases.rules import led_by_q
from jiedao.core.filters import UnderFilter
from jiedao.core.models import OrgUnit


class Box(django_filters.ChoiceFilter):
    """The work views: my cases (I handle them or my unit leads them), my units' queue, my 包案 list."""

    CHOICES = [("mine", _("我的工单")), ("unit", _("本单位待办")), ("charge", _("我包案的"))]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=self.CHOICES, method=self.box, label=_("视图"), **kwargs)

    def box(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        user = getattr(self.parent.request, "user", None)
        if user is None or not user.is_authenticated:
            return queryset.none()
        if value == "charge":
            return queryset.filter(leader_in_charge=user)
        lead = led_by_q(user, queryset.db)
        if value == "mine":
            return queryset.filter(
                Q(handler=user) | (lead & Q(status__in=[Status.DISPATCHED, Status.HANDLING]))
            )
        return queryset.filter(lead & Q(status__in=OPEN_STATUSES))


class CaseFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("关键词"))
    box = Box()
    # distinct=False: a status is a column of the case, no join can repeat a row (django-filter's default
    # DISTINCT made PostgreSQL sort every matching row, description included, before counting).
    status = django_filters.MultipleChoiceFilter(choices=Status.choices, label=_("状态"), distinct=False)
    open = django_filters.BooleanFilter(method="open_only", label=_("仅办理中"))
    category = django_filters.CharFilter(method="in_category", label=_("类别代码（含下级）"))
    channel = django_filters.ChoiceFilter(choices=Channel.choices, label=_("渠道"))
    priority = django_filters.ChoiceFilter(choices=Priority.choices, label=_("紧急程度"))
    light = django_filters.ChoiceFilter(
        choices=[(v, lbl) for v, lbl in Light.choices if v != Light.NONE],
        method="by_light",
        label=_("红黄绿灯"),
    )
    overdue = django_filters.BooleanFilter(method="is_overdue", label=_("已超期"))
    unit = UnderFilter("org_path", label=_("所在单元代码（含下级）"))
    lead_unit = django_filters.CharFilter(method="by_lead_unit", label=_("主办单位代码"))
    lead_department = django_filters.CharFilter(field_name="lead_department__code", label=_("主办科室代码"))
    leader = django_filters.CharFilter(field_name="leader_in_charge__username", label=_("包案领导（用户名）"))
    handler = django_filters.CharFilter(field_name="handler__username", label=_("经办人（用户名）"))
    petition = django_filters.BooleanFilter(method="is_petition", label=_("信访件"))
    petition_type = django_filters.ChoiceFilter(choices=PetitionType.choices, label=_("信访类型"))
    outcome = django_filters.ChoiceFilter(choices=Outcome.choices, label=_("办理结果"))
    rating = django_filters.ChoiceFilter(choices=Rating.choices, label=_("评价"))
    escalated = django_filters.BooleanFilter(label=_("已升级"))
    reopened = django_filters.BooleanFilter(method="is_reopened", label=_("重办过"))
    received_after = django_filters.DateFilter(
        field_name="received_at", lookup_expr="date__gte", label=_("收到日期起")
    )
    received_before = django_filters.DateFilter(
        field_name="received_at", lookup_expr="date__lte", label=_("收到日期止")
    )
    closed_after = django_filters.DateFilter(
        field_name="closed_at", lookup_expr="date__gte", label=_("结案日期起")
    )
    closed_before = django_filters.DateFilter(
        field_name="closed_at", lookup_expr="date__lte", label=_("结案日期止")
    )
    # Drill-down from the 三率 and 积案清零 pages (jiedao.cases.measures / backlog): each figure there is one
    # combination of these.
    dispatched_month = django_filters.CharFilter(method="in_dispatched_month", label=_("派遣月份（YYYY-MM）"))
    responded = django_filters.ChoiceFilter(
        choices=[("on_time", _("按时签收")), ("late", _("超时签收")), ("none", _("未签收"))],
        method="by_responded",
        label=_("签收情况"),
    )
    closed_month = django_filters.CharFilter(
        method="in_closed_month", label=_("结案月份（YYYY-MM，有办理结果）")
    )
    rated_month = django_filters.CharFilter(method="in_rated_month", label=_("评价月份（YYYY-MM）"))
    satisfied = django_filters.BooleanFilter(method="is_satisfied", label=_("满意或基本满意"))
    community = django_filters.CharFilter(method="in_community", label=_("所属社区/村代码（按发生地）"))
    handled_by = django_filters.ChoiceFilter(
        choices=[("community", _("社区/村承办")), ("department", _("科室承办"))],
        method="by_handled_by",
        label=_("承办方"),
    )
    no_leader = django_filters.BooleanFilter(
        field_name="leader_in_charge", lookup_expr="isnull", label=_("未指定包案领导")
    )
    backlog = django_filters.ChoiceFilter(
        choices=[
            ("age", _("超期积案")),
            ("person", _("重复来件")),
            ("place", _("同一地点同类问题")),
            ("any", _("全部积案")),
        ],
        method="by_backlog",
        label=_("积案"),
    )
    baseline_start = django_filters.DateFilter(method="in_baseline", label=_("清零行动起始日（基数）"))
    same_requester = django_filters.CharFilter(
        method="by_same_requester", label=_("与此工单同一诉求人（编号）")
    )
    same_place = django_filters.CharFilter(method="by_same_place", label=_("与此工单同地点同类别（编号）"))
    ordering = django_filters.OrderingFilter(
        fields=(("received_at", "received"), ("due_at", "due"), ("updated_at", "updated")),
        label=_("排序"),
    )

    class Meta:
        model = Case
        fields: list[str] = []

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        if value.upper().startswith("GC") and len(value) == 15:
            return queryset.filter(number=value.upper())
        return queryset.filter(
            Q(number__icontains=value)
            | Q(title__icontains=value)
            | Q(description__icontains=value)
            | Q(address__icontains=value)
        )

    def open_only(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return (
            queryset.filter(status__in=OPEN_STATUSES) if value else queryset.exclude(status__in=OPEN_STATUSES)
        )

    def in_category(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        root = Category.objects.filter(code=value.strip()).first()
        if root is None:
            return queryset.none()
        ids = {root.pk}
        frontier = [root.pk]
        while frontier:
            frontier = list(Category.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
            ids.update(frontier)
        return queryset.filter(category_id__in=ids)

    def by_light(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(light_q(value)) if value else queryset

    def is_overdue(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        q = light_q(Light.RED, timezone.now())
        return queryset.filter(q) if value else queryset.exclude(q)

    def by_lead_unit(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        unit = OrgUnit.objects.filter(code=value.strip()).only("pk").first()
        if unit is None:
            return queryset.none()
        return queryset.filter(lead_unit=unit, lead_department__isnull=True)

    def is_petition(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.exclude(petition_type="") if value else queryset.filter(petition_type="")

    def is_reopened(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(reopen_count__gt=0) if value else queryset.filter(reopen_count=0)

    def _month(self, queryset: QuerySet, value: str, condition: Any) -> QuerySet:
        month = measures.parse_month(value)
        if month is None:
            return queryset.none() if value.strip() else queryset
        return queryset.filter(condition(*measures.month_bounds(month)))

    def in_dispatched_month(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return self._month(queryset, value, measures.dispatched_q)

    def in_closed_month(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return self._month(queryset, value, measures.closed_q)

    def in_rated_month(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return self._month(queryset, value, measures.rated_q)

    def by_responded(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(measures.RESPONDED[value]) if value else queryset

    def is_satisfied(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        if value:
            return queryset.filter(rating__in=measures.GOOD_RATINGS)
        return queryset.filter(rating=Rating.UNSATISFIED)

    def in_community(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        unit = OrgUnit.objects.filter(code=value.strip()).only("path").first()
        if unit is None:
            return queryset.none()
        return queryset.filter(measures.community_key_q(unit.path))

    def by_handled_by(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if not value:
            return queryset
        return queryset.filter(lead_department__isnull=value == "community")

    def _viewer_cases(self) -> QuerySet:
        """The cases the requesting user may see: the base of the repeat counts (as on the backlog page)."""
        user = getattr(self.request, "user", None)
        return Case.objects.visible_to(user) if user is not None else Case.objects.all()

    def by_backlog(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if not value:
            return queryset
        return queryset.filter(backlog_rules.backlog_q(value, timezone.now(), self._viewer_cases()))

    def in_baseline(self, queryset: QuerySet, name: str, value: date | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(backlog_rules.baseline_q(backlog_rules.campaign_start(value)))

    def by_same_requester(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        phone = (
            self._viewer_cases()
            .filter(number=value.strip())
            .values_list("requester_phone", flat=True)
            .first()
        )
        if not phone:
            return queryset.none()
        return queryset.filter(requester_phone=phone)

    def by_same_place(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        place = self._viewer_cases().filter(number=value.strip()).values("org_unit_id", "category_id").first()
        if place is None:
            return queryset.none()
        return queryset.filter(org_unit_id=place["org_unit_id"], category_id=place["category_id"])
