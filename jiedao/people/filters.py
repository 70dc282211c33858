"""One FilterSet per people list: the HTML page, the REST API and the .xlsx export filter with the same one
(the queryset they pass in is already scoped with `visible_to(user)`)."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from jiedao.core.filters import UnderFilter
from jiedao.people.models import (
    Building,
    CareSubject,
    Compound,
    CompoundKind,
    Dwelling,
    DwellingUse,
    Household,
    Organisation,
    OrganisationKind,
    Relation,
    ResidenceType,
    Resident,
    ResidentTag,
    Sex,
    Structure,
    Tag,
    years_before,
)
from jiedao.people.personal import id_lookup, phone_lookup


def _text_q(value: str, *fields: str) -> Q:
    condition = Q()
    for field in fields:
        condition |= Q(**{f"{field}__icontains": value})
    return condition


@extend_schema_field(OpenApiTypes.INT)
class RowIdFilter(django_filters.Filter):
    """A row's id: a whole number (anything else is refused with a message); an id beyond what the database
    stores matches nothing instead of failing in the database."""

    field_class = forms.IntegerField

    def filter(self, qs: QuerySet, value: Any) -> QuerySet:
        if value in (None, ""):
            return qs
        if not -(2**63) < int(value) < 2**63:
            return qs.none()
        return super().filter(qs, int(value))


def _years(value: Any) -> int:
    """An age as asked, within what a person can be (a negative or absurd age filters as 0 or 150)."""
    return max(0, min(int(value), 150))


class ResidentFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("姓名/拼音/地址/证件号/电话"))
    unit = UnderFilter("org_path", label=_("社区/网格"))
    residence_type = django_filters.ChoiceFilter(choices=ResidenceType.choices, label=_("人口类型"))
    sex = django_filters.ChoiceFilter(choices=Sex.choices, label=_("性别"))
    tag = django_filters.CharFilter(method="with_tag", label=_("标签（代码）"))
    age_min = django_filters.NumberFilter(method="min_age", label=_("年龄不小于"))
    age_max = django_filters.NumberFilter(method="max_age", label=_("年龄不大于"))
    relation = django_filters.ChoiceFilter(choices=Relation.choices, label=_("与户主关系"))
    state = django_filters.ChoiceFilter(
        choices=[("current", _("在住")), ("moved_out", _("已迁出"))],
        method="by_state",
        label=_("在住情况"),
    )

    class Meta:
        model = Resident
        fields = ["q", "unit", "residence_type", "sex", "tag", "age_min", "age_max", "relation", "state"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """A full ID number or phone is matched exactly through the blind index; other text by name, its
        pinyin and initials, or address."""
        from jiedao.core.privacy import normalise_phone, valid_phone
        from jiedao.people.identity import normalise_id_number

        value = value.strip()
        if not value:
            return queryset
        number = normalise_id_number(value)
        if len(number) == 18 and number[:17].isdigit():
            return queryset.filter(id_index=id_lookup(number)).exclude(id_index="")  # the partial index
        phone = normalise_phone(value)
        if phone.isdigit() and valid_phone(phone):
            return queryset.filter(phone_index=phone_lookup(phone))
        condition = _text_q(value, "name", "address")
        if value.isascii():
            condition |= Q(name_pinyin__contains=value.lower().replace(" ", ""))
        return queryset.filter(condition)

    def with_tag(self, queryset: QuerySet, name: str, code: str) -> QuerySet:
        if not code:
            return queryset
        value = Tag.objects.filter(is_active=True, code=code).first()
        if value is None:  # an unknown tag: nobody carries it
            return queryset.none()
        today = timezone.localdate()
        if value.min_age is not None:
            return queryset.filter(birth_date__lte=years_before(today, value.min_age))
        active = ResidentTag.objects.filter(resident=OuterRef("pk"), tag=value).filter(
            Q(start__isnull=True) | Q(start__lte=today), Q(end__isnull=True) | Q(end__gte=today)
        )
        return queryset.filter(Exists(active))

    def min_age(self, queryset: QuerySet, name: str, value: int) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(birth_date__lte=years_before(timezone.localdate(), _years(value)))

    def max_age(self, queryset: QuerySet, name: str, value: int) -> QuerySet:
        if value is None:
            return queryset
        # younger than value + 1 years: born after that day
        return queryset.filter(birth_date__gt=years_before(timezone.localdate(), _years(value) + 1))

    def by_state(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "current":
            return queryset.filter(moved_out__isnull=True)
        if value == "moved_out":
            return queryset.filter(moved_out__isnull=False)
        return queryset


class HouseholdFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("户号/地址"))
    unit = UnderFilter("org_path", label=_("社区/网格"))

    class Meta:
        model = Household
        fields = ["q", "unit", "kind"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        return queryset.filter(_text_q(value, "number", "address")) if value else queryset


class CompoundFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("名称/地址"))
    unit = UnderFilter("org_path", label=_("社区/网格"))
    kind = django_filters.ChoiceFilter(choices=CompoundKind.choices, label=_("类型"))
    is_old = django_filters.BooleanFilter(label=_("老旧小区"))

    class Meta:
        model = Compound
        fields = ["q", "unit", "kind", "is_old"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        return queryset.filter(_text_q(value, "name", "aliases", "address")) if value else queryset


class BuildingFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("楼号/地址"))
    unit = UnderFilter("org_path", label=_("社区/网格"))
    compound = RowIdFilter(field_name="compound_id", label=_("小区/楼院"))
    structure = django_filters.ChoiceFilter(choices=Structure.choices, label=_("结构"))
    is_old = django_filters.BooleanFilter(label=_("老旧楼栋"))
    built_before = RowIdFilter(field_name="year_built", lookup_expr="lt", label=_("建成早于"))

    class Meta:
        model = Building
        fields = ["q", "unit", "compound", "structure", "is_old", "built_before"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        return queryset.filter(_text_q(value, "name", "address", "compound__name")) if value else queryset


class DwellingFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("地址"))
    unit = UnderFilter("org_path", label=_("社区/网格"))
    building = RowIdFilter(field_name="building_id", label=_("楼栋"))
    use = django_filters.ChoiceFilter(choices=DwellingUse.choices, label=_("用途"))

    class Meta:
        model = Dwelling
        fields = ["q", "unit", "building", "use"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        return queryset.filter(address__icontains=value) if value else queryset


class OrganisationFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("名称/代码/地址"))
    unit = UnderFilter("org_path", label=_("社区/网格"))
    kind = django_filters.ChoiceFilter(choices=OrganisationKind.choices, label=_("类型"))
    is_active = django_filters.BooleanFilter(label=_("在册"))

    class Meta:
        model = Organisation
        fields = ["q", "unit", "kind", "is_active"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(_text_q(value, "name", "credit_code", "address", "industry"))


class CareFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("姓名/原因"))
    unit = UnderFilter("org_path", label=_("社区/网格"))
    overdue = django_filters.BooleanFilter(method="by_overdue", label=_("超期未走访"))
    state = django_filters.ChoiceFilter(
        choices=[("active", _("在册")), ("ended", _("已移出"))], method="by_state", label=_("状态")
    )
    mine = django_filters.BooleanFilter(method="by_worker", label=_("我负责的"))

    class Meta:
        model = CareSubject
        fields = ["q", "unit", "overdue", "state", "mine"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        return queryset.filter(_text_q(value, "resident__name", "reason")) if value else queryset

    def by_overdue(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        late = Q(until__isnull=True, due_at__lte=timezone.now())
        return queryset.filter(late) if value else queryset.exclude(late)

    def by_state(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "active":
            return queryset.filter(until__isnull=True)
        if value == "ended":
            return queryset.filter(until__isnull=False)
        return queryset

    def by_worker(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        user = getattr(self.request, "user", None)
        if not value or user is None:
            return queryset
        return queryset.filter(worker=user)
