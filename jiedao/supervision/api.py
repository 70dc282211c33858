"""The scoped REST API of supervised matters (/api/v1/supervised-matters/ …): list and read matters with the
same
FilterSet as the list page and the export, open one (by hand, from a case or from a meeting decision), read
its timeline and allowed steps, and take each workflow step through the same services as the pages
(`POST …/{number}/actions/{name}/`). Answers: 200 with the matter; 400 for bad input; 403 for a refused role;
404 out of scope; 409 when the matter changed since the caller read it (`version`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.request import Request as ApiRequest
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from jiedao.cases.models import Case
from jiedao.core.models import Department, OrgUnit, User
from jiedao.supervision import rules, services, workflow
from jiedao.supervision.filters import MatterFilterSet
from jiedao.supervision.lights import light_of
from jiedao.supervision.models import Light, MatterStep, Rating, Source, SupervisedMatter


class MayUse(permissions.BasePermission):
    """Readers, supervisors and the staff of units and departments (the scope is the queryset's)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated) and (
            rules.may_read_all(user) or bool(rules.handler_units(user) or rules.handler_departments(user))
        )


class MatterSerializer(serializers.ModelSerializer):
    source_label = serializers.CharField(source="get_source_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    light = serializers.SerializerMethodField(help_text="Colour warning: green, blue, yellow, red or none.")
    lead_unit: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    lead_department: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    lead_name = serializers.CharField(read_only=True)
    helpers = serializers.SerializerMethodField()
    leader: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    case: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="number", read_only=True, allow_null=True
    )
    rating = serializers.ChoiceField(choices=Rating.choices, allow_blank=True, read_only=True)

    class Meta:
        model = SupervisedMatter
        fields = [
            "number",
            "title",
            "content",
            "source",
            "source_label",
            "source_note",
            "project",
            "decision",
            "case",
            "status",
            "status_label",
            "light",
            "lead_unit",
            "lead_department",
            "lead_name",
            "helpers",
            "leader",
            "deadline",
            "original_deadline",
            "progress",
            "extension_count",
            "return_count",
            "rating",
            "score",
            "rating_comment",
            "summary",
            "created_at",
            "assigned_at",
            "undertaken_at",
            "submitted_at",
            "completed_at",
            "version",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=Light.values))
    def get_light(self, matter: SupervisedMatter) -> str:
        return str(light_of(matter))

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_helpers(self, matter: SupervisedMatter) -> list[str]:
        return [h.name for h in matter.helpers.all()]


class MatterTimelineStepSerializer(serializers.ModelSerializer):
    label = serializers.CharField(read_only=True)  # type: ignore[assignment]
    actor = serializers.CharField(source="actor_label", read_only=True)

    class Meta:
        model = MatterStep
        fields = ["action", "label", "from_status", "to_status", "actor", "note", "data", "created_at"]
        read_only_fields = fields


class MatterAllowedStepSerializer(serializers.Serializer):
    name = serializers.CharField(
        help_text="POST /api/v1/supervised-matters/{number}/actions/{name}/ takes it."
    )
    label = serializers.CharField()  # type: ignore[assignment]


class MatterConflictSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="The matter changed since the caller read it; reload and retry.")


def _text(max_length: int = 5000, required: bool = False) -> serializers.CharField:
    if required:
        return serializers.CharField(max_length=max_length)
    return serializers.CharField(max_length=max_length, required=False, allow_blank=True, default="")


def _code(help_text: str = "") -> serializers.CharField:
    return serializers.CharField(
        max_length=40, required=False, allow_blank=True, default="", help_text=help_text
    )


def _codes() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, default=list, max_length=30
    )


class MatterCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    content = _text()
    # DRF's stubs type Field.source (the attribute path); this is the API field of the same name.
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=Source.choices, help_text="meeting needs `decision`; case needs `case` (its number)."
    )
    source_note = _text(200)
    decision = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=2**31 - 1
    )
    case = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    lead_unit = _code("Code of the lead unit (or give lead_department).")
    lead_department = _code("Code of the lead department.")
    helper_units = _codes()
    helper_departments = _codes()
    deadline = serializers.DateTimeField(required=False, allow_null=True, default=None)
    leader = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    assign = serializers.BooleanField(required=False, default=True, help_text="交办 at once.")


def _version() -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        help_text="The matter version the caller read (409 when it changed).",
    )


def _step_serializer(name: str, fields: dict[str, serializers.Field]) -> type:
    attrs: dict[str, Any] = {"version": _version(), **fields}
    attrs["__doc__"] = f"Request body of the {name} step ({workflow.get(name).label})."
    class_name = "Matter" + "".join(part.title() for part in name.split("_")) + "MatterTimelineStepSerializer"
    return type(class_name, (serializers.Serializer,), attrs)


STEP_SERIALIZERS: dict[str, type] = {
    "assign": _step_serializer(
        "assign",
        {
            "lead_unit": _code(),
            "lead_department": _code(),
            "helper_units": _codes(),
            "helper_departments": _codes(),
            "deadline": serializers.DateTimeField(required=False, allow_null=True, default=None),
            "note": _text(),
        },
    ),
    "decline": _step_serializer("decline", {"reason": _text()}),
    "undertake": _step_serializer("undertake", {"note": _text()}),
    "report": _step_serializer(
        "report", {"text": _text(), "percent": serializers.IntegerField(min_value=0, max_value=100)}
    ),
    "submit": _step_serializer("submit", {"text": _text()}),
    "approve": _step_serializer("approve", {"note": _text()}),
    "send_back": _step_serializer("send_back", {"reason": _text()}),
    "complete": _step_serializer("complete", {"summary": _text()}),
    "rate": _step_serializer(
        "rate",
        {
            "rating": serializers.ChoiceField(choices=Rating.choices),
            "score": serializers.IntegerField(
                min_value=0, max_value=100, required=False, allow_null=True, default=None
            ),
            "comment": _text(500),
        },
    ),
    "request_extension": _step_serializer(
        "request_extension", {"new_deadline": serializers.DateTimeField(), "reason": _text()}
    ),
    "decide_extension": _step_serializer(
        "decide_extension", {"approve": serializers.BooleanField(), "note": _text()}
    ),
    "remind": _step_serializer("remind", {"note": _text()}),
    "cancel": _step_serializer("cancel", {"reason": _text()}),
}
assert set(STEP_SERIALIZERS) == set(workflow.STEPS), "every workflow step needs its API operation"


class BadInput(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def _unit(root: str, code: str, field: str) -> OrgUnit:
    unit = OrgUnit.objects.filter(code=code.strip(), is_active=True, path__startswith=root).first()
    if unit is None:
        raise BadInput(field, _("找不到代码为“%(code)s”的单位。") % {"code": code})
    return unit


def _department(root: str, code: str, field: str) -> Department:
    dept = Department.objects.filter(code=code.strip(), is_active=True, org_path__startswith=root).first()
    if dept is None:
        raise BadInput(field, _("找不到代码为“%(code)s”的科室。") % {"code": code})
    return dept


def _roots(user: Any) -> list[str]:
    paths = rules.supervisor_paths(user)
    return [""] if paths is None else paths


def _find(finder: Callable[[str, str, str], Any], user: Any, code: str, field: str, root: str | None) -> Any:
    """A unit or department by code under `root` (a matter's sub-district) or any place the user
    supervises."""
    error: BadInput | None = None
    for candidate in [root] if root is not None else _roots(user):
        try:
            return finder(candidate, code, field)
        except BadInput as exc:
            error = exc
    raise error or BadInput(field, _("找不到代码为“%(code)s”的单位。") % {"code": code})


def _lead_values(user: Any, data: dict[str, Any], root: str | None) -> dict[str, Any]:
    return {
        "lead_unit": _find(_unit, user, data["lead_unit"], "lead_unit", root)
        if data.get("lead_unit")
        else None,
        "lead_department": (
            _find(_department, user, data["lead_department"], "lead_department", root)
            if data.get("lead_department")
            else None
        ),
        "helper_units": [_find(_unit, user, c, "helper_units", root) for c in data.get("helper_units") or []],
        "helper_departments": [
            _find(_department, user, c, "helper_departments", root)
            for c in data.get("helper_departments") or []
        ],
    }


def _messages(exc: ValidationError) -> str:
    return " ".join(str(m) for m in exc.messages)


def _denied(exc: PermissionDenied) -> str:
    text = str(exc)
    if not text or re.fullmatch(r"[\w.]+", text):
        return _("您没有执行该操作的权限。")
    return text


def _answer(run: Callable[[], Response]) -> Response:
    try:
        return run()
    except BadInput as exc:
        return Response({exc.field: [exc.message]}, status=status.HTTP_400_BAD_REQUEST)
    except services.ConflictError as exc:
        return Response({"detail": _messages(exc)}, status=status.HTTP_409_CONFLICT)
    except ValidationError as exc:
        return Response({"detail": _messages(exc)}, status=status.HTTP_400_BAD_REQUEST)
    except PermissionDenied as exc:
        return Response({"detail": _denied(exc)}, status=status.HTTP_403_FORBIDDEN)


STEP_RESPONSES: dict[int | str, Any] = {
    200: MatterSerializer,
    409: OpenApiResponse(
        MatterConflictSerializer, description="The matter changed since the caller read it."
    ),
}


class MatterViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Supervised matters the caller may see, filtered with the same filters as the list page."""

    serializer_class = MatterSerializer
    filterset_class = MatterFilterSet
    lookup_field = "number"
    # No operation here takes a file (progress reports with photos are filed on the pages): JSON only.
    parser_classes = [JSONParser]
    lookup_value_regex = "[A-Za-z0-9]+"
    permission_classes = [MayUse]

    def get_queryset(self) -> QuerySet[SupervisedMatter]:
        return (
            SupervisedMatter.objects.visible_to(self.request.user)
            .select_related("lead_unit", "lead_department", "leader", "case")
            .prefetch_related("helpers__unit", "helpers__department")
        )

    def get_object(self) -> SupervisedMatter:
        matter = get_object_or_404(self.get_queryset(), number=self.kwargs["number"])
        self.check_object_permissions(self.request, matter)
        return matter

    def _user(self) -> User:
        assert isinstance(self.request.user, User)
        return self.request.user

    def _matter_answer(self, matter: SupervisedMatter, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().filter(pk=matter.pk).first() or matter
        return Response(MatterSerializer(fresh, context=self.get_serializer_context()).data, status=code)

    @extend_schema(
        request=MatterCreateSerializer, responses={201: MatterSerializer}, summary="Open a matter (立项)."
    )
    def create(self, request: ApiRequest) -> Response:
        user = self._user()
        if not rules.may_supervise_somewhere(user):
            return Response({"detail": _("您没有执行该操作的权限。")}, status=status.HTTP_403_FORBIDDEN)
        form = MatterCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)

        def run() -> Response:
            values = _lead_values(user, data, None)
            leader = None
            if data["leader"]:
                leader = User.objects.filter(username=data["leader"], is_active=True).first()
                if leader is None:
                    raise BadInput("leader", _("找不到该领导。"))
            fields: dict[str, Any] = {
                **{k: v for k, v in values.items() if v},
                "source_note": data["source_note"],
                "leader": leader,
                "assign": data["assign"],
            }
            for name in ("title", "content", "deadline"):
                if data[name]:
                    fields[name] = data[name]
            if data["source"] == Source.MEETING:
                from jiedao.projects.models import Decision, Meeting

                decision = Decision.objects.filter(
                    pk=data["decision"] or 0, meeting__in=Meeting.objects.visible_to(user)
                ).first()
                if decision is None:
                    raise BadInput("decision", _("找不到该决定事项。"))
                matter = services.open_from_decision(user, decision, **fields)
                return self._matter_answer(matter, status.HTTP_201_CREATED)
            case = None
            if data["source"] == Source.CASE:
                case = Case.objects.visible_to(user).filter(number=data["case"].strip().upper()).first()
                if case is None:
                    raise BadInput("case", _("找不到该工单。"))
            fields.setdefault("title", "")
            fields.setdefault("content", "")
            fields.setdefault("deadline", None)
            matter = services.create_matter(user, source=data["source"], case=case, **fields)
            return self._matter_answer(matter, status.HTTP_201_CREATED)

        return _answer(run)

    @extend_schema(responses={200: MatterAllowedStepSerializer(many=True)}, filters=False)
    @action(
        detail=True,
        methods=["get"],
        url_path="actions",
        url_name="actions",
        filter_backends=[],
        pagination_class=None,
    )
    def actions(self, request: ApiRequest, number: str) -> Response:
        """The steps the caller may take on this matter now."""
        matter = self.get_object()
        allowed = [{"name": s.name, "label": str(s.label)} for s in rules.allowed(request.user, matter)]
        return Response(MatterAllowedStepSerializer(allowed, many=True).data)

    @extend_schema(responses={200: MatterTimelineStepSerializer(many=True)}, filters=False)
    @action(
        detail=True,
        methods=["get"],
        url_path="steps",
        url_name="steps",
        filter_backends=[],
        pagination_class=None,
    )
    def steps(self, request: ApiRequest, number: str) -> Response:
        """The matter's timeline, oldest first."""
        matter = self.get_object()
        return Response(
            MatterTimelineStepSerializer(matter.steps.order_by("created_at", "id"), many=True).data
        )

    def take_step(self, request: ApiRequest, name: str) -> Response:
        matter = self.get_object()
        form = STEP_SERIALIZERS[name](data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        user = self._user()

        def run() -> Response:
            if name == "assign":
                lead = _lead_values(user, data, matter.org_path)
                values: dict[str, Any] = {
                    "lead_unit": lead["lead_unit"],
                    "lead_department": lead["lead_department"],
                    "deadline": data["deadline"],
                    "note": data["note"],
                }
                if data["helper_units"] or data["helper_departments"]:
                    values["helper_units"] = lead["helper_units"]
                    values["helper_departments"] = lead["helper_departments"]
                data.clear()
                data.update(values, version=form.validated_data["version"])
            service = services.STEP_SERVICES[name]
            return self._matter_answer(service(user, matter, **data))

        return _answer(run)


def _make_step_action(name: str) -> Callable[..., Response]:
    spec = workflow.get(name)

    def step(self: MatterViewSet, request: ApiRequest, number: str) -> Response:
        return self.take_step(request, name)

    step.__name__ = f"step_{name}"
    step.__doc__ = f"Take the step “{spec.label}” ({name})."
    decorated = action(
        detail=True,
        methods=["post"],
        url_path=f"actions/{name}",
        url_name=f"action-{name}",
        filter_backends=[],
    )(step)
    return extend_schema(
        request=STEP_SERIALIZERS[name],
        responses=STEP_RESPONSES,
        filters=False,
        operation_id=f"supervision_{name}",
    )(decorated)


for _name in workflow.STEPS:
    setattr(MatterViewSet, f"step_{_name}", _make_step_action(_name))


def register(router: DefaultRouter) -> None:
    """Register this module's viewsets on the API router (called by jiedao/api_urls.py)."""
    router.register("supervised-matters", MatterViewSet, basename="supervised-matter")
