"""The scoped REST API of the cases module (/api/v1/cases/ …): list and read cases with the same FilterSet as
the HTML list and the export, register cases (staff intake), take workflow steps through the same service
functions as the pages, and read the category tree and the dispatch table.

Every step is its own operation (`POST /cases/{number}/actions/{name}/`) with its own documented request
body. Answers: 200 with the updated case; 400 for bad input (field messages, or {"detail": …} from the
service); 403 for a refused role or scope; 404 out of scope; 409 when the case changed since the caller read
it (`version`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request as ApiRequest
from rest_framework.response import Response

from jiedao.cases import routing, rules, services, workflow
from jiedao.cases.clock import light_of
from jiedao.cases.filters import CaseFilterSet
from jiedao.cases.models import (
    Case,
    Category,
    CategoryField,
    Channel,
    DispatchRule,
    Outcome,
    PetitionType,
    Priority,
    Rating,
    Step,
)
from jiedao.core.models import Department, OrgUnit, User
from jiedao.core.permissions import can

# ---------------------------------------------------------------------------------------------------------
# Permissions


class HasAction(permissions.BasePermission):
    """The caller holds the view's `required_action` somewhere (the object-level scope is the queryset's)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        action_name = getattr(view, "required_action", None)
        return bool(request.user and request.user.is_authenticated) and (
            action_name is None or can(request.user, action_name)
        )


# ---------------------------------------------------------------------------------------------------------
# Reading cases


class CaseSerializer(serializers.ModelSerializer):
    category: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)
    category_name = serializers.CharField(source="category.name", read_only=True)
    org_unit: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)
    requester_phone = serializers.SerializerMethodField(
        help_text="Masked (138****5678) unless the caller may reveal it on this case (case.reveal)."
    )
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    # Blank until set: declared so the schema allows "" beside the choices.
    petition_type = serializers.ChoiceField(choices=PetitionType.choices, allow_blank=True, read_only=True)
    outcome = serializers.ChoiceField(choices=Outcome.choices, allow_blank=True, read_only=True)
    rating = serializers.ChoiceField(choices=Rating.choices, allow_blank=True, read_only=True)
    light = serializers.SerializerMethodField(help_text="Traffic light: green, yellow, red or none.")
    lead_unit: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    lead_department: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    handler: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    leader_in_charge: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Case
        fields = [
            "number",
            "channel",
            "category",
            "category_name",
            "priority",
            "confidential",
            "title",
            "description",
            "extra",
            "org_unit",
            "address",
            "longitude",
            "latitude",
            "requester_name",
            "requester_phone",
            "anonymous",
            "petition_type",
            "status",
            "status_label",
            "light",
            "lead_unit",
            "lead_department",
            "handler",
            "leader_in_charge",
            "outcome",
            "reply",
            "rating",
            "due_at",
            "deadline_rule",
            "received_at",
            "accepted_at",
            "dispatched_at",
            "responded_at",
            "closed_at",
            "rated_at",
            "reopen_count",
            "version",
        ]
        read_only_fields = fields

    def get_requester_phone(self, case: Case) -> str:
        # The list answers with the full number where the caller may reveal it; unlike the case page's
        # "show number" button this is not written to the audit trail (one event per row would drown it).
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is not None and can(user, "case.reveal", case):
            return case.requester_phone
        return case.masked_phone

    @extend_schema_field(serializers.ChoiceField(choices=["green", "yellow", "red", "none"]))
    def get_light(self, case: Case) -> str:
        return str(light_of(case))


class StepSerializer(serializers.ModelSerializer):
    label = serializers.CharField(read_only=True)  # type: ignore[assignment]
    actor = serializers.CharField(source="actor_label", read_only=True)

    class Meta:
        model = Step
        fields = ["action", "label", "from_status", "to_status", "actor", "note", "public", "created_at"]
        read_only_fields = fields


class AllowedActionSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="POST /api/v1/cases/{number}/actions/{name}/ takes this step.")
    label = serializers.CharField()  # type: ignore[assignment]


class ConflictSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="The case changed since the caller read it; reload and retry.")


# ---------------------------------------------------------------------------------------------------------
# Writing: intake and the steps


class CaseCreateSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Channel.choices)
    category = serializers.SlugField(help_text="Category code (a leaf of the category tree).")
    org_unit = serializers.CharField(max_length=40, help_text="Code of the grid, community or sub-district.")
    description = serializers.CharField(max_length=5000)
    title = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    priority = serializers.ChoiceField(choices=Priority.choices, required=False, default=Priority.NORMAL)
    confidential = serializers.BooleanField(required=False, default=False)
    extra = serializers.DictField(required=False, default=dict, help_text="The category's extra fields.")
    address = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    longitude = serializers.FloatField(
        required=False, allow_null=True, default=None, min_value=-180, max_value=180
    )
    latitude = serializers.FloatField(
        required=False, allow_null=True, default=None, min_value=-90, max_value=90
    )
    requester_name = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    requester_phone = serializers.RegexField(
        r"^[0-9+\- ]{0,20}$", max_length=20, required=False, allow_blank=True, default=""
    )
    anonymous = serializers.BooleanField(required=False, default=False)
    petition_type = serializers.ChoiceField(
        choices=PetitionType.choices, required=False, allow_blank=True, default=""
    )
    accused_unit = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    accused_department = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    accept = serializers.BooleanField(
        required=False, default=False, help_text="Accept at once (needs case.accept on the place)."
    )
    idempotency_key = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        default="",
        help_text="A repeat returns the same case.",
    )


def _version_field() -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, help_text="The case version the caller read (409 when it changed)."
    )


def _text(max_length: int = 5000, required: bool = False) -> serializers.CharField:
    if required:
        return serializers.CharField(max_length=max_length)
    return serializers.CharField(max_length=max_length, required=False, allow_blank=True, default="")


def _codes() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, default=list, max_length=20
    )


def _step_serializer(name: str, fields: dict[str, serializers.Field], versioned: bool = True) -> type:
    attrs: dict[str, Any] = {"version": _version_field()} if versioned else {}
    attrs.update(fields)
    label = workflow.get(name).label
    attrs["__doc__"] = f"Request body of the {name} step ({label})."
    class_name = "".join(part.title() for part in name.split("_")) + "StepSerializer"
    return type(class_name, (serializers.Serializer,), attrs)


STEP_SERIALIZERS: dict[str, type] = {
    "accept": _step_serializer("accept", {"note": _text()}),
    "refuse": _step_serializer("refuse", {"reason": _text()}),
    "dispatch": _step_serializer(
        "dispatch",
        {
            "lead_unit": serializers.CharField(max_length=40, required=False, allow_blank=True, default=""),
            "lead_department": serializers.CharField(
                max_length=40, required=False, allow_blank=True, default=""
            ),
            "co_units": _codes(),
            "co_departments": _codes(),
            "note": _text(),
        },
    ),
    "sign": _step_serializer("sign", {"note": _text()}),
    "contest": _step_serializer(
        "contest",
        {
            "reason_code": serializers.CharField(max_length=32, required=False, allow_blank=True, default=""),
            "reason": _text(),
        },
    ),
    "decide_contest": _step_serializer(
        "decide_contest", {"approve": serializers.BooleanField(), "note": _text()}
    ),
    "report": _step_serializer("report", {"note": _text()}),
    "verify": _step_serializer("verify", {"note": _text()}),
    "send_back": _step_serializer("send_back", {"note": _text()}),
    "close": _step_serializer(
        "close", {"outcome": serializers.ChoiceField(choices=Outcome.choices), "reply": _text()}
    ),
    "rate": _step_serializer(
        "rate", {"rating": serializers.ChoiceField(choices=Rating.choices), "comment": _text(500)}
    ),
    "request_extension": _step_serializer(
        "request_extension", {"days": serializers.IntegerField(min_value=1, max_value=365), "reason": _text()}
    ),
    "decide_extension": _step_serializer(
        "decide_extension", {"approve": serializers.BooleanField(), "note": _text()}
    ),
    "merge": _step_serializer(
        "merge",
        {
            "into": serializers.CharField(max_length=20, help_text="Number of the case to merge into."),
            "note": _text(),
        },
    ),
    "escalate": _step_serializer("escalate", {"reason": _text()}),
    "whistle": _step_serializer("whistle", {"departments": _codes(), "units": _codes(), "note": _text(300)}),
    "report_in": _step_serializer("report_in", {"note": _text()}),
    "request_review": _step_serializer("request_review", {"note": _text()}),
    "answer_review": _step_serializer(
        "answer_review",
        {
            "reply": _text(),
            "outcome": serializers.ChoiceField(
                choices=Outcome.choices, required=False, allow_blank=True, default=""
            ),
        },
    ),
    "comment": _step_serializer(
        "comment",
        {
            "version": serializers.IntegerField(
                min_value=1, max_value=2**31 - 1, required=False, help_text="Ignored: a note changes nothing."
            ),
            "note": _text(required=True),
        },
        versioned=False,
    ),
}
assert set(STEP_SERIALIZERS) == set(workflow.TRANSITIONS), "every workflow step needs its API operation"


class BadInput(Exception):
    """A code in the request body names nothing the caller may use: a 400 on that field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def _unit(user: Any, code: str, field: str) -> OrgUnit:
    unit = OrgUnit.objects.visible_to(user).filter(code=code.strip(), is_active=True).first()
    if unit is None:
        raise BadInput(field, _("找不到代码为“%(code)s”的单位。") % {"code": code})
    return unit


def _department(user: Any, code: str, field: str, near: str = "") -> Department:
    """A department by code (codes repeat across sub-districts: the one above `near` wins)."""
    candidates = [
        d
        for d in Department.objects.visible_to(user, "department.view").filter(
            code=code.strip(), is_active=True
        )
    ]
    candidates.sort(key=lambda d: (not near.startswith(d.org_path), d.org_path))
    if not candidates:
        raise BadInput(field, _("找不到代码为“%(code)s”的科室。") % {"code": code})
    return candidates[0]


def _units(user: Any, codes: list[str], field: str) -> list[OrgUnit]:
    return [_unit(user, c, field) for c in codes]


def _case_department(case: Case, code: str, field: str) -> Department:
    """A department the case may be sent to (`routing.departments_for`, as on the case page), by code."""
    department = routing.departments_for(case).filter(code=code.strip()).first()
    if department is None:
        raise BadInput(field, _("找不到代码为“%(code)s”的科室。") % {"code": code})
    return department


def _case_departments(case: Case, codes: list[str], field: str) -> list[Department]:
    return [_case_department(case, c, field) for c in codes]


def _call_step(user: User, case: Case, name: str, data: dict[str, Any]) -> Case:
    """Run the service of step `name` with the parsed request body."""
    version = data.get("version")
    if name == "dispatch":
        return services.dispatch(
            user,
            case,
            version=version,
            lead_unit=_unit(user, data["lead_unit"], "lead_unit") if data["lead_unit"] else None,
            lead_department=(
                _case_department(case, data["lead_department"], "lead_department")
                if data["lead_department"]
                else None
            ),
            co_units=_units(user, data["co_units"], "co_units"),
            co_departments=_case_departments(case, data["co_departments"], "co_departments"),
            note=data["note"],
        )
    if name == "merge":
        into = Case.objects.visible_to(user).filter(number=data["into"].strip().upper()).first()
        if into is None:
            raise BadInput("into", _("找不到要并入的工单。"))
        return services.merge(user, case, version=version, into=into, note=data["note"])
    if name == "whistle":
        return services.whistle(
            user,
            case,
            version=version,
            departments=_case_departments(case, data["departments"], "departments"),
            units=_units(user, data["units"], "units"),
            note=data["note"],
        )
    if name == "comment":
        services.comment(user, case, note=data["note"])
        return Case.objects.get(pk=case.pk)
    service: Callable[..., Case] = getattr(services, name)
    return service(user, case, **data)


def _messages(exc: ValidationError) -> str:
    return " ".join(str(m) for m in exc.messages)


def _denied_message(exc: PermissionDenied) -> str:
    """rules.check gives a sentence; `require` gives the action name, which is not for people."""
    text = str(exc)
    if not text or re.fullmatch(r"[\w.]+", text):
        return _("您没有执行该操作的权限。")
    return text


def _answer(run: Callable[[], Response]) -> Response:
    """Turn the services' refusals into the API's answers."""
    try:
        return run()
    except BadInput as exc:
        return Response({exc.field: [exc.message]}, status=status.HTTP_400_BAD_REQUEST)
    except services.ConflictError as exc:
        return Response({"detail": _messages(exc)}, status=status.HTTP_409_CONFLICT)
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            return Response(
                {
                    field: [str(m) for e in errors for m in e.messages]
                    for field, errors in exc.error_dict.items()
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response({"detail": _messages(exc)}, status=status.HTTP_400_BAD_REQUEST)
    except PermissionDenied as exc:
        return Response({"detail": _denied_message(exc)}, status=status.HTTP_403_FORBIDDEN)


STEP_RESPONSES: dict[int | str, Any] = {
    200: CaseSerializer,
    409: OpenApiResponse(ConflictSerializer, description="The case changed since the caller read it."),
}


class CaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Cases the caller may see (by place; confidential ones need case.view_confidential), filtered with the
    same filters as the case list page."""

    serializer_class = CaseSerializer
    filterset_class = CaseFilterSet
    lookup_field = "number"
    lookup_value_regex = "[A-Za-z0-9]+"
    permission_classes = [HasAction]
    required_action = "case.view"

    def get_queryset(self) -> QuerySet[Case]:
        return Case.objects.visible_to(self.request.user).select_related(
            "category", "org_unit", "lead_unit", "lead_department", "handler", "leader_in_charge"
        )

    def get_object(self) -> Case:
        # Detail operations answer for the case itself: list filters in the query string do not apply.
        from django.shortcuts import get_object_or_404

        case = get_object_or_404(self.get_queryset(), number=self.kwargs["number"])
        self.check_object_permissions(self.request, case)
        return case

    def _user(self) -> User:
        assert isinstance(self.request.user, User)
        return self.request.user

    def _case_answer(self, case: Case, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().filter(pk=case.pk).first() or case
        return Response(CaseSerializer(fresh, context=self.get_serializer_context()).data, status=code)

    @extend_schema(
        request=CaseCreateSerializer,
        responses={201: CaseSerializer},
        summary="Register a case (staff intake).",
    )
    def create(self, request: ApiRequest) -> Response:
        if not can(request.user, "case.create"):
            return Response({"detail": _("您没有执行该操作的权限。")}, status=status.HTTP_403_FORBIDDEN)
        form = CaseCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        user = self._user()

        def run() -> Response:
            category = Category.objects.filter(code=data.pop("category"), is_active=True).first()
            if category is None:
                raise BadInput("category", _("找不到该类别。"))
            org_unit = _unit(user, data.pop("org_unit"), "org_unit")
            accused_unit = data.pop("accused_unit")
            accused_department = data.pop("accused_department")
            case = services.create_case(
                user,
                category=category,
                org_unit=org_unit,
                accused_unit=_unit(user, accused_unit, "accused_unit") if accused_unit else None,
                accused_department=(
                    _department(user, accused_department, "accused_department", org_unit.path)
                    if accused_department
                    else None
                ),
                **{**data, "idempotency_key": data["idempotency_key"] or None},
            )
            return self._case_answer(case, status.HTTP_201_CREATED)

        return _answer(run)

    @extend_schema(responses={200: AllowedActionSerializer(many=True)}, filters=False)
    @action(
        detail=True,
        methods=["get"],
        url_path="actions",
        url_name="actions",
        filter_backends=[],
        pagination_class=None,
    )
    def actions(self, request: ApiRequest, number: str) -> Response:
        """The steps the caller may take on this case now."""
        case = self.get_object()
        allowed = [{"name": t.name, "label": str(t.label)} for t in rules.allowed(request.user, case)]
        return Response(AllowedActionSerializer(allowed, many=True).data)

    @extend_schema(responses={200: StepSerializer(many=True)}, filters=False)
    @action(
        detail=True,
        methods=["get"],
        url_path="steps",
        url_name="steps",
        filter_backends=[],
        pagination_class=None,
    )
    def steps(self, request: ApiRequest, number: str) -> Response:
        """The case's timeline, oldest first."""
        case = self.get_object()
        return Response(StepSerializer(case.steps.order_by("created_at", "id"), many=True).data)

    def take_step(self, request: ApiRequest, name: str) -> Response:
        case = self.get_object()
        form = STEP_SERIALIZERS[name](data=request.data)
        form.is_valid(raise_exception=True)
        user = self._user()
        return _answer(lambda: self._case_answer(_call_step(user, case, name, dict(form.validated_data))))


def _make_step_action(name: str) -> Callable[..., Response]:
    spec = workflow.get(name)

    def step(self: CaseViewSet, request: ApiRequest, number: str) -> Response:
        return self.take_step(request, name)

    step.__name__ = f"step_{name}"
    step.__doc__ = f"Take the step “{spec.label}” ({name}); needs {spec.permission}."
    decorated = action(
        detail=True,
        methods=["post"],
        url_path=f"actions/{name}",
        url_name=f"action-{name}",
        filter_backends=[],
    )(step)
    return extend_schema(
        request=STEP_SERIALIZERS[name], responses=STEP_RESPONSES, filters=False, operation_id=f"cases_{name}"
    )(decorated)


for _name in workflow.TRANSITIONS:
    setattr(CaseViewSet, f"step_{_name}", _make_step_action(_name))


# ---------------------------------------------------------------------------------------------------------
# Catalogue


class CategoryFieldSerializer(serializers.ModelSerializer):
    class Meta:
        model = CategoryField
        fields = ["code", "label", "datatype", "required", "help_text", "choices", "sort_order"]
        read_only_fields = fields


class CategorySerializer(serializers.ModelSerializer):
    # DRF's stubs type Field.parent (the enclosing serializer); this is our API field of the same name.
    parent: serializers.SlugRelatedField = serializers.SlugRelatedField(  # type: ignore[assignment]
        slug_field="code", read_only=True, allow_null=True
    )
    fields = CategoryFieldSerializer(many=True, read_only=True)  # type: ignore[assignment]

    class Meta:
        model = Category
        fields = [
            "code",
            "name",
            "parent",
            "description",
            "keywords",
            "is_public",
            "is_hazard",
            "is_active",
            "sort_order",
            "fields",
        ]
        read_only_fields = fields


class CategoryViewSet(viewsets.ReadOnlyModelViewSet):
    """The category tree (parents before children), with each category's extra fields."""

    serializer_class = CategorySerializer
    lookup_field = "code"
    permission_classes = [HasAction]
    required_action = "category.view"
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Category]:
        return (
            Category.objects.select_related("parent")
            .prefetch_related(
                Prefetch("fields", queryset=CategoryField.objects.order_by("sort_order", "code"))
            )
            .order_by("parent__sort_order", "sort_order", "code")
        )


class DispatchRuleSerializer(serializers.ModelSerializer):
    category: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)
    category_name = serializers.CharField(source="category.name", read_only=True)
    area: serializers.SlugRelatedField = serializers.SlugRelatedField(
        source="org_unit", slug_field="code", read_only=True
    )
    area_name = serializers.CharField(source="org_unit.name", read_only=True)
    target_unit: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    target_department: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    target_name = serializers.SerializerMethodField()

    class Meta:
        model = DispatchRule
        fields = [
            "id",
            "category",
            "category_name",
            "area",
            "area_name",
            "target_unit",
            "target_department",
            "target_name",
            "version",
            "valid_from",
            "note",
        ]
        read_only_fields = fields

    def get_target_name(self, rule: DispatchRule) -> str:
        return str(rule.target_department or rule.target_unit or "")


class DispatchRuleViewSet(viewsets.ReadOnlyModelViewSet):
    """The current dispatch table (派单目录) in the caller's scope."""

    serializer_class = DispatchRuleSerializer
    permission_classes = [HasAction]
    required_action = "dispatch.view"
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[DispatchRule]:
        return (
            DispatchRule.objects.visible_to(self.request.user)
            .filter(Q(valid_to__isnull=True))
            .select_related("category", "org_unit", "target_unit", "target_department")
            .order_by("category__code", "org_path", "id")
        )
