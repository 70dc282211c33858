"""The scoped REST API of the patrol module: /api/v1/hazard-points/ (with the list page's FilterSet),
/patrol-plans/, /patrol-records/, /emergency-events/ (with the board's figures) and their checks
(/emergency-events/{id}/checks/). Read-only: writes go through the pages' services,
where photos and the phone's
position are taken. Everything answers from `visible_to(user)`: a grid worker sees their grids only."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from jiedao.cases.api import HasAction
from jiedao.patrol import filters, services
from jiedao.patrol.models import EmergencyEvent, EventCheck, HazardPoint, PatrolItem, PatrolPlan, PatrolRecord


class HazardPointSerializer(serializers.ModelSerializer):
    org_unit: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)
    kind: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)
    kind_name = serializers.CharField(source="kind.name", read_only=True)
    responsible: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = HazardPoint
        fields = [
            "id",
            "org_unit",
            "kind",
            "kind_name",
            "name",
            "latitude",
            "longitude",
            "address",
            "risk",
            "responsible",
            "notes",
            "is_active",
            "version",
        ]
        read_only_fields = fields


class PatrolPlanSerializer(serializers.ModelSerializer):
    org_unit: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)
    worker: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="username", read_only=True)
    points: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = PatrolPlan
        fields = [
            "id",
            "org_unit",
            "name",
            "every_days",
            "worker",
            "points",
            "is_active",
            "due_at",
            "last_patrol_at",
        ]
        read_only_fields = fields


class PatrolItemSerializer(serializers.ModelSerializer):
    case: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="number", read_only=True)

    class Meta:
        model = PatrolItem
        fields = ["point", "status", "note", "case"]
        read_only_fields = fields


class PatrolRecordSerializer(serializers.ModelSerializer):
    org_unit: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)
    worker: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="username", read_only=True)
    items = PatrolItemSerializer(many=True, read_only=True)

    class Meta:
        model = PatrolRecord
        fields = [
            "id",
            "org_unit",
            "plan",
            "worker",
            "patrolled_at",
            "latitude",
            "longitude",
            "note",
            "items",
        ]
        read_only_fields = fields


class FiguresSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    checked = serializers.IntegerField()
    unchecked = serializers.IntegerField()
    ok = serializers.IntegerField()
    hazards = serializers.IntegerField()
    fixed = serializers.IntegerField()
    open_cases = serializers.IntegerField()
    moved = serializers.IntegerField()
    evacuations = serializers.IntegerField()
    measures = serializers.IntegerField()


class EmergencyEventSerializer(serializers.ModelSerializer):
    org_unit: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)
    declared_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    point_kinds: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", many=True, read_only=True
    )
    areas = serializers.SerializerMethodField()

    class Meta:
        model = EmergencyEvent
        fields = [
            "id",
            "org_unit",
            "kind",
            "level",
            "status",
            "started_at",
            "closed_at",
            "declared_by",
            "point_kinds",
            "areas",
            "notified",
        ]
        read_only_fields = fields

    def get_areas(self, obj: EmergencyEvent) -> list[str]:
        return [a.org_unit.code for a in obj.areas.all()]


class EventCheckSerializer(serializers.ModelSerializer):
    org_unit: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)
    point_name = serializers.CharField(source="point.name", read_only=True)
    checked_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    case: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="number", read_only=True)

    class Meta:
        model = EventCheck
        fields = [
            "id",
            "org_unit",
            "point",
            "point_name",
            "status",
            "checked_by",
            "checked_at",
            "note",
            "case",
        ]
        read_only_fields = fields


class ScopedReadViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [HasAction]
    model: Any = None
    related: tuple[str, ...] = ("org_unit",)
    required_action = ""

    def get_queryset(self) -> QuerySet[Any]:
        return self.model.objects.visible_to(self.request.user).select_related(*self.related).order_by("id")


@extend_schema(tags=["patrol"])
class HazardPointViewSet(ScopedReadViewSet):
    model = HazardPoint
    serializer_class = HazardPointSerializer
    filterset_class = filters.HazardPointFilterSet
    related = ("org_unit", "kind", "responsible")
    required_action = "hazard.view"


@extend_schema(tags=["patrol"])
class PatrolPlanViewSet(ScopedReadViewSet):
    model = PatrolPlan
    serializer_class = PatrolPlanSerializer
    filterset_class = filters.PlanFilterSet
    related = ("org_unit", "worker")
    required_action = "patrol.view"

    def get_queryset(self) -> QuerySet[Any]:
        return super().get_queryset().prefetch_related("points")


@extend_schema(tags=["patrol"])
class PatrolRecordViewSet(ScopedReadViewSet):
    model = PatrolRecord
    serializer_class = PatrolRecordSerializer
    filterset_class = filters.RecordFilterSet
    related = ("org_unit", "worker")
    required_action = "patrol.view"

    def get_queryset(self) -> QuerySet[Any]:
        return super().get_queryset().prefetch_related("items__case")


@extend_schema(tags=["patrol"])
class EmergencyEventViewSet(ScopedReadViewSet):
    model = EmergencyEvent
    serializer_class = EmergencyEventSerializer
    filterset_class = filters.EventFilterSet
    related = ("org_unit", "declared_by")
    required_action = "emergency.view"

    def get_queryset(self) -> QuerySet[Any]:
        return super().get_queryset().prefetch_related("point_kinds", "areas__org_unit")

    @extend_schema(
        responses={200: FiguresSerializer}, description="The event's figures (as the summary shows)."
    )
    @action(detail=True, methods=["get"])
    def figures(self, request: Request, pk: str | None = None) -> Response:
        return Response(services.summary_figures(self.get_object()))

    @extend_schema(
        responses={200: EventCheckSerializer(many=True)}, description="The event's checks in scope."
    )
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def checks(self, request: Request, pk: str | None = None) -> Response:
        event = self.get_object()
        checks = (
            EventCheck.objects.visible_to(request.user)
            .filter(event=event)
            .select_related("org_unit", "point", "checked_by", "case")
            .order_by("id")
        )
        return Response(EventCheckSerializer(checks, many=True).data)


def register(router: DefaultRouter) -> None:
    """Register this module's viewsets on the API router (called by jiedao/api_urls.py)."""
    router.register("hazard-points", HazardPointViewSet, basename="hazard-point")
    router.register("patrol-plans", PatrolPlanViewSet, basename="patrol-plan")
    router.register("patrol-records", PatrolRecordViewSet, basename="patrol-record")
    router.register("emergency-events", EmergencyEventViewSet, basename="emergency-event")
