"""The scoped REST API of expropriation (/api/v1/relocation-projects/, /relocation-households/,
/relocation-visits/): lists with the same FilterSets as the pages and the export, the progress board of a
project, a household's stage steps and the visit log, all through the same services.

Owners' phones are masked in every answer. Answers: 400 with field messages for bad input or a refused step
(missing documents …); 403 for a caller who may read but not act; 404 out of scope; 409 when the household
changed since the caller read it (`version`)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from jiedao.cases.api import HasAction
from jiedao.relocation import board, rules, services
from jiedao.relocation.filters import HouseholdFilterSet, ProjectFilterSet, VisitFilterSet
from jiedao.relocation.models import (
    Attitude,
    ExpropriationHousehold,
    ExpropriationProject,
    Stage,
    Team,
    Visit,
)


class Conflict(serializers.ValidationError):
    status_code = status.HTTP_409_CONFLICT


def _write(call: Any) -> Any:
    try:
        return call()
    except services.ConflictError as exc:
        raise Conflict({"detail": exc.messages}) from exc
    except ValidationError as exc:
        raise serializers.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        ) from exc
    except PermissionDenied as exc:
        raise ApiPermissionDenied() from exc


class TeamSerializer(serializers.ModelSerializer):
    leader = serializers.CharField(source="leader.username", read_only=True)
    members: serializers.SlugRelatedField = serializers.SlugRelatedField(
        many=True, slug_field="username", read_only=True
    )

    class Meta:
        model = Team
        fields = ["id", "name", "leader", "members"]


class ExpropriationProjectSerializer(serializers.ModelSerializer):
    org_unit: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)
    leader = serializers.CharField(source="leader.username", read_only=True)
    teams = TeamSerializer(many=True, read_only=True)

    class Meta:
        model = ExpropriationProject
        fields = [
            "id",
            "name",
            "org_unit",
            "leader",
            "start_date",
            "target_date",
            "target_signed",
            "target_vacated",
            "is_active",
            "teams",
            "version",
        ]


class BoardRowSerializer(serializers.Serializer):
    key = serializers.IntegerField(help_text="Team, leader or staff user id (0: no team).")
    label = serializers.CharField()  # type: ignore[assignment]
    rank = serializers.IntegerField()
    households = serializers.IntegerField()
    signed = serializers.IntegerField()
    signed_week = serializers.IntegerField()
    signed_today = serializers.IntegerField()
    vacated = serializers.IntegerField()
    vacated_week = serializers.IntegerField()
    vacated_today = serializers.IntegerField()
    signed_rate = serializers.FloatField()


class BoardSerializer(serializers.Serializer):
    day = serializers.DateField()
    total = BoardRowSerializer()
    teams = BoardRowSerializer(many=True)
    leaders = BoardRowSerializer(many=True)
    staff = BoardRowSerializer(many=True)
    stages = inline_serializer(
        "RelocationStageCount",
        {
            "key": serializers.CharField(),
            "label": serializers.CharField(),
            "count": serializers.IntegerField(),
        },
        many=True,
    )
    trend = inline_serializer(
        "RelocationTrend",
        {
            "categories": serializers.ListField(child=serializers.CharField()),
            "series": serializers.ListField(child=serializers.DictField()),
        },
    )


@extend_schema(tags=["relocation"])
class ProjectViewSet(viewsets.ReadOnlyModelViewSet):
    """Expropriation projects the caller may see (by scope, or by working on them)."""

    serializer_class = ExpropriationProjectSerializer
    filterset_class = ProjectFilterSet
    permission_classes = [HasAction]
    required_action = "relocation.view"

    def get_queryset(self) -> QuerySet[ExpropriationProject]:
        return (
            ExpropriationProject.objects.visible_to(self.request.user)
            .select_related("org_unit", "leader")
            .prefetch_related("teams__leader", "teams__members")
            .order_by("id")
        )

    @extend_schema(responses={200: BoardSerializer}, description="The daily progress board (today).")
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def board(self, request: Request, pk: str | None = None) -> Response:
        project = self.get_object()
        data = board.build(project, timezone.localdate())
        payload = {
            "day": data.day,
            "total": data.total,
            "teams": data.teams,
            "leaders": data.leaders,
            "staff": data.staff,
            "stages": [{k: s[k] for k in ("key", "label", "count")} for s in data.stages],
            "trend": data.trend,
        }
        return Response(BoardSerializer(payload).data)


class ExpropriationHouseholdSerializer(serializers.ModelSerializer):
    team = serializers.CharField(source="team.name", read_only=True, allow_null=True, default=None)
    staff = serializers.CharField(source="staff.username", read_only=True, allow_null=True, default=None)
    phone = serializers.CharField(source="phone_mask", read_only=True, help_text="Masked: 138****5678.")
    attitude = serializers.ChoiceField(choices=Attitude.choices, allow_blank=True, read_only=True)

    class Meta:
        model = ExpropriationHousehold
        fields = [
            "id",
            "project",
            "number",
            "owner_name",
            "phone",
            "address",
            "area",
            "valuation",
            "team",
            "staff",
            "stage",
            "surveyed_on",
            "valued_on",
            "negotiating_on",
            "signed_on",
            "vacated_on",
            "demolished_on",
            "attitude",
            "last_visit_on",
            "missing_documents",
            "version",
        ]


class AdvanceSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=0, help_text="The version the caller read; 409 if stale.")
    on = serializers.DateField(required=False, help_text="Date the stage was reached (default today).")


class BackSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=0)
    to_stage = serializers.ChoiceField(choices=Stage.choices)
    reason = serializers.CharField(max_length=1000)


@extend_schema(tags=["relocation"])
class HouseholdViewSet(viewsets.ReadOnlyModelViewSet):
    """Households (被征收户) of the projects the caller may see; stage steps through the services."""

    serializer_class = ExpropriationHouseholdSerializer
    filterset_class = HouseholdFilterSet
    permission_classes = [HasAction]
    required_action = "relocation.view"

    def get_queryset(self) -> QuerySet[ExpropriationHousehold]:
        return (
            ExpropriationHousehold.objects.visible_to(self.request.user)
            .select_related("team", "staff", "project__leader")
            .order_by("id")
        )

    @extend_schema(
        request=AdvanceSerializer,
        responses={
            200: ExpropriationHouseholdSerializer,
            400: OpenApiResponse(description="Refused (documents …)"),
        },
        description="Move the household one stage forward.",
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    def advance(self, request: Request, pk: str | None = None) -> Response:
        household = self.get_object()
        if not rules.may_work(request.user, household):
            raise ApiPermissionDenied()
        serializer = AdvanceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        done = _write(
            lambda: services.advance(request.user, household, version=data["version"], on=data.get("on"))  # type: ignore[arg-type]
        )
        return Response(ExpropriationHouseholdSerializer(done).data)

    @extend_schema(
        request=BackSerializer,
        responses={200: ExpropriationHouseholdSerializer},
        description="Move back with a reason.",
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    def back(self, request: Request, pk: str | None = None) -> Response:
        household = self.get_object()
        if not rules.may_step_back(request.user, household):
            raise ApiPermissionDenied()
        serializer = BackSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        done = _write(
            lambda: services.step_back(
                request.user,  # type: ignore[arg-type]
                household,
                version=data["version"],
                to_stage=data["to_stage"],
                reason=data["reason"],
            )
        )
        return Response(ExpropriationHouseholdSerializer(done).data)


class VisitSerializer(serializers.ModelSerializer):
    visitor = serializers.CharField(source="visitor.username", read_only=True)
    household = serializers.IntegerField(source="household_id", help_text="The household's id.")
    remind_on = serializers.DateField(
        write_only=True, required=False, allow_null=True, help_text="Set the next visit reminder (定时闹钟)."
    )

    class Meta:
        model = Visit
        fields = [
            "id",
            "household",
            "project",
            "visited_on",
            "visitor",
            "talk",
            "attitude",
            "demands",
            "next_step",
            "remind_on",
            "created_at",
        ]
        read_only_fields = ["project", "created_at"]
        extra_kwargs = {
            "talk": {"max_length": 4000},
            "demands": {"max_length": 2000},
            "next_step": {"max_length": 1000},
        }


@extend_schema(tags=["relocation"])
class VisitViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """The visit log (征收日志): read, and add an entry (optionally setting the next reminder)."""

    serializer_class = VisitSerializer
    filterset_class = VisitFilterSet
    permission_classes = [HasAction]
    parser_classes = [JSONParser]

    @property
    def required_action(self) -> str:
        return "relocation.view" if self.request.method in ("GET", "HEAD", "OPTIONS") else "relocation.work"

    def get_queryset(self) -> QuerySet[Visit]:
        return (
            Visit.objects.visible_to(self.request.user)
            .select_related("visitor")
            .order_by("-visited_on", "-id")
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # The household first: one that is missing or out of scope is a 404 whatever else was sent.
        data: Any = request.data
        raw: Any = data.get("household") if hasattr(data, "get") else None
        try:
            household_id = int(raw)
        except (TypeError, ValueError):
            household_id = 0
        household = None
        if -(2**63) < household_id < 2**63:
            household = (
                ExpropriationHousehold.objects.visible_to(request.user)
                .select_related("project", "team")
                .filter(pk=household_id)
                .first()
            )
        if household is None:
            raise NotFound("No such household.")
        self.household = household
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer: Any) -> None:
        data = serializer.validated_data
        household = self.household
        actor: Any = self.request.user
        serializer.instance = _write(
            lambda: services.record_visit(
                actor,
                household,
                visited_on=data["visited_on"],
                talk=data["talk"],
                attitude=data["attitude"],
                demands=data.get("demands", ""),
                next_step=data.get("next_step", ""),
                remind_on=data.get("remind_on"),
            )
        )


def register(router: DefaultRouter) -> None:
    """Register this module's viewsets on the API router (called by jiedao/api_urls.py)."""
    router.register("relocation-projects", ProjectViewSet, basename="relocation-project")
    router.register("relocation-households", HouseholdViewSet, basename="relocation-household")
    router.register("relocation-visits", VisitViewSet, basename="relocation-visit")
