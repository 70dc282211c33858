"""Read-only, scoped API for org units, departments and staff: the pattern later modules follow."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Length, Substr
from rest_framework import serializers, viewsets

from jiedao.core.filters import DepartmentFilterSet, OrgUnitFilterSet, UserFilterSet
from jiedao.core.models import Department, Membership, OrgUnit, User


class OrgUnitSerializer(serializers.ModelSerializer):
    # DRF's stubs type Field.parent (the enclosing serializer); this is our API field of the same name.
    parent = serializers.CharField(  # type: ignore[assignment]
        source="parent_code",
        read_only=True,
        allow_null=True,
        help_text="The parent unit's code (null for a root).",
    )

    class Meta:
        model = OrgUnit
        fields = [
            "id",
            "code",
            "kind",
            "name",
            "short_name",
            "parent",
            "depth",
            "population",
            "households",
            "area_km2",
            "sort_order",
            "is_active",
            "boundary",
            "version",
        ]


class DepartmentSerializer(serializers.ModelSerializer):
    subdistrict: serializers.SlugRelatedField = serializers.SlugRelatedField(
        source="org_unit", slug_field="code", read_only=True
    )

    class Meta:
        model = Department
        fields = [
            "id",
            "code",
            "name",
            "short_name",
            "subdistrict",
            "duties",
            "phone",
            "sort_order",
            "is_active",
        ]


class MembershipSerializer(serializers.ModelSerializer):
    org_unit: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)
    department: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )

    class Meta:
        model = Membership
        fields = ["org_unit", "role", "department"]


class UserSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="display_name", read_only=True)
    memberships = MembershipSerializer(many=True, read_only=True, source="visible_memberships")

    class Meta:
        model = User
        fields = ["id", "username", "name", "title", "memberships"]


class OrgUnitViewSet(viewsets.ReadOnlyModelViewSet):
    """Org units the caller may see (their subtrees)."""

    serializer_class = OrgUnitSerializer
    filterset_class = OrgUnitFilterSet
    lookup_field = "code"

    def get_queryset(self) -> QuerySet[OrgUnit]:
        parents = OrgUnit.objects.filter(
            path=Substr(OuterRef("path"), 1, Length(OuterRef("path")) - OrgUnit.steplen)
        )
        return (
            OrgUnit.objects.visible_to(self.request.user)
            .annotate(parent_code=Subquery(parents.values("code")[:1]))
            .order_by("path")
        )


class DepartmentViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = DepartmentSerializer
    filterset_class = DepartmentFilterSet

    def get_queryset(self) -> QuerySet[Department]:
        return (
            Department.objects.visible_to(self.request.user)
            .select_related("org_unit")
            .order_by("org_path", "sort_order")
        )


class UserViewSet(viewsets.ReadOnlyModelViewSet):
    """Staff attached to units the caller may see; only memberships inside the caller's scope are shown."""

    serializer_class = UserSerializer
    filterset_class = UserFilterSet

    def get_queryset(self) -> QuerySet[User]:
        memberships: Any = Membership.objects.visible_to(self.request.user).filter(is_active=True)
        return (
            User.objects.filter(is_active=True, memberships__in=memberships)
            .distinct()
            .prefetch_related(
                Prefetch(
                    "memberships",
                    queryset=memberships.select_related("org_unit", "department"),
                    to_attr="visible_memberships",
                )
            )
            .order_by("username")
        )
