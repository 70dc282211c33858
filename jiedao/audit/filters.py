"""The one FilterSet of the event list (page, and later API and export)."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiedao.audit.kinds import kind_choices
from jiedao.audit.models import AuditEvent, AuditEventQuerySet


def _start_of(day: dt.date) -> dt.datetime:
    """Midnight at the start of `day` in the current time zone (an index-friendly bound on created_at)."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class AuditEventFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("搜索"),
        method="filter_q",
        widget=forms.TextInput(attrs={"class": "form-control", "placeholder": _("对象或操作人")}),
    )
    actor = django_filters.CharFilter(
        label=_("操作人"),
        method="filter_actor",
        widget=forms.TextInput(attrs={"class": "form-control", "placeholder": _("用户名")}),
    )
    kind = django_filters.ChoiceFilter(
        label=_("类别"),
        choices=kind_choices,
        empty_label=_("全部类别"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    date_from = django_filters.DateFilter(
        label=_("起始日期"),
        method="filter_date_from",
        widget=forms.DateInput(attrs={"class": "form-control", "type": "date"}),
    )
    date_to = django_filters.DateFilter(
        label=_("截止日期"),
        method="filter_date_to",
        widget=forms.DateInput(attrs={"class": "form-control", "type": "date"}),
    )
    object_type = django_filters.CharFilter(
        label=_("对象类型"),
        field_name="object_type",
        widget=forms.TextInput(attrs={"class": "form-control", "placeholder": "core.orgunit"}),
    )
    object_id = django_filters.CharFilter(
        label=_("对象编号"),
        field_name="object_id",
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )

    class Meta:
        model = AuditEvent
        fields = ["q", "actor", "kind", "date_from", "date_to", "object_type", "object_id"]

    def filter_q(self, queryset: AuditEventQuerySet, name: str, value: str) -> AuditEventQuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(object_repr__icontains=value) | Q(actor_repr__icontains=value))

    def filter_actor(self, queryset: AuditEventQuerySet, name: str, value: str) -> AuditEventQuerySet:
        """By username (as recorded), or by user id when a number is given (links from other pages)."""
        value = value.strip()
        if not value:
            return queryset
        condition = Q(actor_repr__iexact=value)
        if value.isdigit():
            condition |= Q(actor_id=int(value))
        return queryset.filter(condition)

    def filter_date_from(self, queryset: AuditEventQuerySet, name: str, value: dt.date) -> AuditEventQuerySet:
        return queryset.filter(created_at__gte=_start_of(value))

    def filter_date_to(self, queryset: AuditEventQuerySet, name: str, value: dt.date) -> AuditEventQuerySet:
        return queryset.filter(created_at__lt=_start_of(value + dt.timedelta(days=1)))
