"""One FilterSet per list: the HTML page, the API and exports use the same filters."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from jiedao.core.models import Department, OrgUnit, Role, User


class SearchFilter(django_filters.CharFilter):
    def __init__(self, *fields: str, **kwargs: object) -> None:
        self.search_fields = fields
        kwargs.setdefault("label", _("关键词"))
        super().__init__(method=self.search, **kwargs)

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        condition = Q()
        for field in self.search_fields:
            condition |= Q(**{f"{field}__icontains": value})
        return queryset.filter(condition)


class UnderFilter(django_filters.CharFilter):
    """Everything under the org unit with this code (the unit itself included)."""

    def __init__(self, path_field: str, **kwargs: object) -> None:
        self.path_field = path_field
        kwargs.setdefault("label", _("所属单元代码（含下级）"))
        super().__init__(method=self.under, **kwargs)

    def under(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        unit = OrgUnit.objects.filter(code=value.strip()).only("path").first()
        if unit is None:
            return queryset.none()
        return queryset.filter(**{f"{self.path_field}__startswith": unit.path})


class OrgUnitFilterSet(django_filters.FilterSet):
    q = SearchFilter("name", "short_name", "code")
    kind = django_filters.ChoiceFilter(choices=OrgUnit.Kind.choices, label=_("层级"))
    under = UnderFilter("path")
    is_active = django_filters.BooleanFilter(label=_("启用"))

    class Meta:
        model = OrgUnit
        fields = ["q", "kind", "under", "is_active"]


class DepartmentFilterSet(django_filters.FilterSet):
    q = SearchFilter("name", "short_name", "code")
    under = UnderFilter("org_path")

    class Meta:
        model = Department
        fields = ["q", "under", "is_active"]


class UserFilterSet(django_filters.FilterSet):
    q = SearchFilter("username", "full_name", "title")
    role = django_filters.ChoiceFilter(
        choices=Role.choices, field_name="memberships__role", label=_("角色"), distinct=True
    )
    under = UnderFilter("memberships__org_path", distinct=True)

    class Meta:
        model = User
        fields = ["q", "role", "under"]
