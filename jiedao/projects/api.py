"""The scoped REST API of key projects and meetings (/api/v1/key-projects/, /api/v1/meetings/).

Projects are listed with the portfolio's FilterSet and figures (investment to date, late milestones, open
and overdue problems and supervised matters, the stalled / late flags); one project is read with its
milestones, monthly investment (with running totals) and problems. Progress is reported through the same
services as the pages: `POST /key-projects/{id}/investments/` (one month, planned and completed) and
`POST /key-projects/{id}/notes/`. Meetings are read with their decisions. Answers: 403 for a refused role,
404 out of scope, 400 with a message for bad input."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from jiedao.cases.api import HasAction
from jiedao.projects import portfolio, services
from jiedao.projects.filters import MeetingFilterSet, ProjectFilterSet
from jiedao.projects.models import (
    Decision,
    InvestmentEntry,
    KeyProject,
    Meeting,
    Milestone,
    Problem,
)


def _money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=2, **kwargs)


class MilestoneSerializer(serializers.ModelSerializer):
    late = serializers.SerializerMethodField(help_text="Planned date passed without an actual date.")

    class Meta:
        model = Milestone
        fields = ["id", "name", "planned_date", "actual_date", "note", "late"]

    def get_late(self, obj: Milestone) -> bool:
        return obj.is_late()


class InvestmentSerializer(serializers.ModelSerializer):
    month = serializers.DateField(help_text="First day of the month.")

    class Meta:
        model = InvestmentEntry
        fields = ["month", "planned", "completed", "note"]


class RunningTotalSerializer(serializers.Serializer):
    month = serializers.DateField()
    planned = _money()
    completed = _money()
    planned_total = _money()
    completed_total = _money()
    rate = serializers.DecimalField(
        max_digits=7, decimal_places=1, allow_null=True, help_text="Completed / planned so far, in %."
    )


class ProblemSerializer(serializers.ModelSerializer):
    owner: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="username", read_only=True)
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = Problem
        fields = ["id", "description", "owner", "due_date", "status", "solution", "solved_at", "overdue"]

    def get_overdue(self, obj: Problem) -> bool:
        return obj.is_overdue()


class ProjectSerializer(serializers.ModelSerializer):
    org_unit: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)
    leader: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    planned_to_date = _money(read_only=True, help_text="Planned up to this month (万元).")
    completed_to_date = _money(read_only=True, help_text="Completed so far (万元).")
    late_count = serializers.IntegerField(read_only=True)
    open_problems = serializers.IntegerField(read_only=True)
    overdue_problems = serializers.IntegerField(read_only=True)
    open_matters = serializers.IntegerField(read_only=True)
    overdue_matters = serializers.IntegerField(read_only=True)
    is_stalled = serializers.BooleanField(read_only=True)
    is_late = serializers.BooleanField(read_only=True)

    class Meta:
        model = KeyProject
        fields = [
            "id",
            "name",
            "code",
            "kind",
            "stage",
            "org_unit",
            "owner_company",
            "address",
            "longitude",
            "latitude",
            "leader",
            "total_investment",
            "start_date",
            "planned_completion",
            "last_progress_at",
            "stalled_after",
            "is_active",
            "version",
            "planned_to_date",
            "completed_to_date",
            "late_count",
            "open_problems",
            "overdue_problems",
            "open_matters",
            "overdue_matters",
            "is_stalled",
            "is_late",
        ]


class ProjectDetailSerializer(ProjectSerializer):
    milestones = MilestoneSerializer(many=True, read_only=True)
    investments = serializers.SerializerMethodField()
    problems = ProblemSerializer(many=True, read_only=True)

    class Meta(ProjectSerializer.Meta):
        fields = [*ProjectSerializer.Meta.fields, "description", "milestones", "investments", "problems"]

    @extend_schema_field(RunningTotalSerializer(many=True))
    def get_investments(self, obj: KeyProject) -> list[dict[str, Any]]:
        rows = services.running_totals(obj.investments.all())
        return RunningTotalSerializer(
            [{k: v for k, v in r.items() if k != "entry"} for r in rows], many=True
        ).data  # type: ignore[return-value]


class NoteSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=2000)


def _write(write: Any) -> Any:
    try:
        return write()
    except ValidationError as exc:
        raise serializers.ValidationError({"detail": exc.messages}) from exc
    except PermissionDenied as exc:
        raise ApiPermissionDenied() from exc


@extend_schema(tags=["projects"])
class KeyProjectViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Key projects the caller may see, with the portfolio's figures and flags."""

    permission_classes = [HasAction]
    filterset_class = ProjectFilterSet

    @property
    def required_action(self) -> str:
        if getattr(self, "action", None) == "investments":
            return "project.change"
        if getattr(self, "action", None) == "notes":
            return "project.progress"
        return "project.view"

    def get_serializer_class(self) -> Any:
        if self.action == "investments":
            return InvestmentSerializer
        if self.action == "notes":
            return NoteSerializer
        return ProjectDetailSerializer if self.action == "retrieve" else ProjectSerializer

    def get_queryset(self) -> QuerySet[KeyProject]:
        queryset: QuerySet[KeyProject] = KeyProject.objects.visible_to(self.request.user).select_related(
            "org_unit", "leader"
        )
        queryset = portfolio.annotate(queryset).order_by("id")
        if getattr(self, "action", None) == "retrieve":
            queryset = queryset.prefetch_related(
                "milestones",
                "investments",
                Prefetch("problems", queryset=Problem.objects.select_related("owner")),
            )
        return queryset

    @extend_schema(request=InvestmentSerializer, responses={201: InvestmentSerializer})
    @action(detail=True, methods=["post"])
    def investments(self, request: Request, pk: str | None = None) -> Response:
        project = self.get_object()
        serializer = InvestmentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        d = serializer.validated_data
        actor: Any = request.user
        entry = _write(
            lambda: services.set_investment(
                actor, project, d["month"], d["planned"], d["completed"], d.get("note", "")
            )
        )
        return Response(InvestmentSerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=NoteSerializer, responses={201: NoteSerializer})
    @action(detail=True, methods=["post"])
    def notes(self, request: Request, pk: str | None = None) -> Response:
        project = self.get_object()
        serializer = NoteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        actor: Any = request.user
        note = _write(lambda: services.add_note(actor, project, serializer.validated_data["text"]))
        return Response({"text": note.text}, status=status.HTTP_201_CREATED)


class DecisionSerializer(serializers.ModelSerializer):
    owner_unit: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    matter = serializers.SerializerMethodField(help_text="The supervised matter made from it, if any.")

    class Meta:
        model = Decision
        fields = ["id", "content", "owner_unit", "due_date", "matter"]

    def get_matter(self, obj: Decision) -> int | None:
        matter = getattr(obj, "matter", None)
        return matter.pk if matter is not None else None


class MeetingSerializer(serializers.ModelSerializer):
    org_unit: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)
    chair: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    expected: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", many=True, read_only=True
    )
    present: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", many=True, read_only=True
    )
    decisions = DecisionSerializer(many=True, read_only=True)

    class Meta:
        model = Meeting
        fields = [
            "id",
            "title",
            "kind",
            "date",
            "location",
            "org_unit",
            "project",
            "chair",
            "expected",
            "present",
            "minutes",
            "decisions",
            "version",
        ]


@extend_schema(tags=["projects"])
class MeetingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Meetings the caller may see, with attendance and decisions."""

    permission_classes = [HasAction]
    serializer_class = MeetingSerializer
    filterset_class = MeetingFilterSet
    required_action = "meeting.view"

    def get_queryset(self) -> QuerySet[Meeting]:
        return (
            Meeting.objects.visible_to(self.request.user)
            .select_related("org_unit", "chair")
            .prefetch_related(
                "expected",
                "present",
                Prefetch("decisions", queryset=Decision.objects.select_related("owner_unit", "matter")),
            )
            .order_by("-date", "-id")
        )


def register(router: DefaultRouter) -> None:
    """Register this module's viewsets on the API router (called by jiedao/api_urls.py)."""
    router.register("key-projects", KeyProjectViewSet, basename="key-project")
    router.register("meetings", MeetingViewSet, basename="meeting")
