"""The staff work views of cases (/cases/): the work lists with their filters, the case page with its
timeline and the buttons for the next steps, one form per step, the .xlsx export, attachments and revealing
a requester's phone. Every write goes through `services`; every read through `Case.objects.visible_to`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jiedao.audit.services import record_event
from jiedao.cases import export, rules, workflow
from jiedao.cases.clock import light_of
from jiedao.cases.filters import CaseFilterSet
from jiedao.cases.forms import ACTION_FORMS, CaseActionForm, DecisionForm
from jiedao.cases.models import (
    Assignment,
    Attachment,
    Case,
    Category,
    CategoryField,
    Light,
    Request,
    Status,
    Step,
)
from jiedao.cases.services import ConflictError
from jiedao.core.models import OrgUnit, Role, User
from jiedao.core.permissions import can, require, roles_of
from jiedao.core.widgets import QuickSelect

PER_PAGE = 50

STATUS_COLORS: dict[str, str] = {
    Status.REGISTERED: "azure",
    Status.ACCEPTED: "blue",
    Status.NOT_ACCEPTED: "secondary",
    Status.DISPATCHED: "indigo",
    Status.CONTESTED: "orange",
    Status.HANDLING: "cyan",
    Status.REPORTED: "purple",
    Status.VERIFIED: "teal",
    Status.CLOSED: "green",
    Status.RATED: "green",
    Status.MERGED: "secondary",
    Status.ESCALATED: "red",
    Status.UNDER_REVIEW: "pink",
}
LIGHT_COLORS = {Light.RED: "red", Light.YELLOW: "yellow", Light.GREEN: "green", Light.NONE: "secondary"}
# The filter fields shown on the list page (the rest of the FilterSet works through the query string).
FILTER_FIELDS = [
    "q",
    "status",
    "category",
    "unit",
    "channel",
    "priority",
    "light",
    "overdue",
    "petition",
    "received_after",
    "received_before",
]


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _case_or_404(request: HttpRequest, number: str) -> Case:
    return get_object_or_404(
        Case.objects.visible_to(request.user).select_related(
            "category__parent",
            "org_unit",
            "lead_unit",
            "lead_department",
            "handler",
            "leader_in_charge",
            "merged_into",
            "accused_unit",
            "accused_department",
        ),
        number=number,
    )


def _decorate(case: Case, now: Any = None) -> Case:
    """Presentation values the templates read (colours and the current light)."""
    light = light_of(case, now)
    case.status_color = STATUS_COLORS.get(case.status, "secondary")  # type: ignore[attr-defined]
    case.light_now = light  # type: ignore[attr-defined]
    case.light_label = Light(light).label  # type: ignore[attr-defined]
    case.light_color = LIGHT_COLORS[Light(light)]  # type: ignore[attr-defined]
    return case


# ---------------------------------------------------------------------------------------------------------
# The list and the export


def _filterset(request: HttpRequest) -> CaseFilterSet:
    base = Case.objects.visible_to(request.user)
    return CaseFilterSet(request.GET or None, queryset=base, request=request)


#: The place filter lists at most this many units: a district-wide user gets sub-districts and communities,
#: not thousands of grids (a grid is still reachable by its code, and a chosen unit is always listed).
UNIT_CHOICES_LIMIT = 300


def _unit_choices(user: Any, form: forms.Form) -> list[tuple[str, str]]:
    visible = OrgUnit.objects.visible_to(user).filter(is_active=True)
    top = visible.order_by("depth").values_list("depth", flat=True).first()
    if top is None:
        return []
    units = list(
        visible.filter(depth__lte=top + 2).order_by("path").values_list("code", "name", "depth", "path")
    )
    if len(units) > UNIT_CHOICES_LIMIT:
        units = [u for u in units if u[2] <= top + 1]
    chosen = str(form.data.get("unit") or "") if form.is_bound else ""
    if chosen and chosen not in {u[0] for u in units}:
        extra = visible.filter(code=chosen).values_list("code", "name", "depth", "path").first()
        if extra is not None:
            units = sorted([*units, extra], key=lambda u: u[3])
    return [(code, f"{'　' * max(0, depth - top)}{name}") for code, name, depth, _path in units]


def _style_filter_form(form: forms.Form, user: Any) -> None:
    """Friendlier widgets for the code filters: selects of categories and of the units the user sees."""
    categories = [("", _("全部类别"))] + [
        (c.code, c.full_name)
        for c in Category.objects.filter(is_active=True)
        .select_related("parent")
        .order_by("sort_order", "code")
    ]
    form.fields["category"].widget = forms.Select(choices=categories)
    form.fields["unit"].widget = forms.Select(choices=[("", _("全部区域")), *_unit_choices(user, form)])
    any_yes_no = [("", _("全部")), ("true", _("是")), ("false", _("否"))]
    for name in ("overdue", "petition"):
        form.fields[name].widget = forms.Select(choices=any_yes_no)
    for name in ("light", "channel", "priority"):
        form.fields[name].empty_label = _("全部")  # type: ignore[attr-defined]
    for name in ("received_after", "received_before"):
        form.fields[name].widget = forms.DateInput(attrs={"type": "date"})
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.SelectMultiple):
            widget.attrs.update({"class": "form-select", "size": "4"})
        elif isinstance(widget, forms.Select):
            # The field's choices, not the widget's copy: only they carry the empty_label set above.
            choices = getattr(field, "choices", widget.choices)
            field.widget = QuickSelect(attrs={**widget.attrs, "class": "form-select"}, choices=choices)
        else:
            widget.attrs["class"] = "form-control"
    form.fields["q"].widget.attrs["placeholder"] = _("编号、标题、内容或地址")


def _tabs(request: HttpRequest, box: str) -> list[dict[str, Any]]:
    rest = request.GET.copy()
    for key in ("box", "page"):
        rest.pop(key, None)
    tabs = [("mine", _("我的工单")), ("unit", _("本单位待办"))]
    if request.user.is_superuser or Role.LEADER in roles_of(request.user):
        tabs.append(("charge", _("我包案的")))
    tabs.append(("", _("全部")))
    result = []
    for key, label in tabs:
        query = rest.copy()
        if key:
            query["box"] = key
        result.append({"key": key, "label": label, "query": query.urlencode(), "active": key == box})
    return result


#: What a row of the list shows (and `_decorate` reads): the case's long texts and the related rows' other
#: columns are not fetched — a page of 50 then costs half as much. A column missing here would cost a query
#: per row, which tests/cases/test_staff_list.py would catch.
LIST_COLUMNS = (
    *("number", "title", "confidential", "status", "due_at", "warn_at", "closed_at", "received_at"),
    *("org_path", "category__name", "org_unit__name", "org_unit__short_name"),
    *("lead_unit__name", "lead_unit__short_name", "lead_department__name"),
)


@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    require(request.user, "case.view")
    filterset = _filterset(request)
    form = filterset.form
    _style_filter_form(form, request.user)
    queryset = filterset.qs.select_related("category", "org_unit", "lead_unit", "lead_department").only(
        *LIST_COLUMNS
    )
    page = Paginator(queryset, PER_PAGE).get_page(request.GET.get("page"))
    now = timezone.now()
    for case in page.object_list:
        _decorate(case, now)
    box = request.GET.get("box", "") if request.GET.get("box") in ("mine", "unit", "charge") else ""
    query = request.GET.copy()
    query.pop("page", None)
    intake_url = ""
    if can(request.user, "case.create"):
        try:
            intake_url = reverse("cases:intake")
        except NoReverseMatch:
            intake_url = ""
    filtered = any(request.GET.get(name) for name in FILTER_FIELDS)
    return render(
        request,
        "cases/case_list.html",
        {
            "page": page,
            "form": form,
            "filter_fields": [form[name] for name in FILTER_FIELDS],
            "tabs": _tabs(request, box),
            "box": box,
            "query": query.urlencode(),
            "filtered": filtered,
            "intake_url": intake_url,
            "can_export": can(request.user, "case.export"),
            "can_reveal": can(request.user, "case.reveal"),
        },
    )


@login_required
def case_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    require(request.user, "case.export")
    filterset = _filterset(request)
    if filterset.form.is_bound and not filterset.is_valid():
        messages.error(request, _("筛选条件有误，请修改后再导出。"))
        return redirect(f"{reverse('cases:case_list')}?{request.GET.urlencode()}")
    reveal = request.GET.get("reveal") == "1" and can(request.user, "case.reveal")
    out, count = export.build(filterset.qs, request.user, reveal)
    filters = {k: v for k, v in request.GET.lists() if k != "reveal"}
    record_event(
        "case.export",
        actor=request.user,
        data={"filters": filters, "count": count, "revealed": reveal},
        request=request,
    )
    name = f"cases-{timezone.localtime():%Y%m%d-%H%M}.xlsx"
    response = StreamingHttpResponse(
        export.chunks(out),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# ---------------------------------------------------------------------------------------------------------
# The case page


def _extra_fields(case: Case) -> list[tuple[str, str]]:
    """The category's extra fields as (label, value text), choice keys shown by their names."""
    defined = {
        f.code: f
        for f in CategoryField.objects.filter(category__in=case.category.lineage()).order_by("sort_order")
    }
    rows = []
    for code, value in (case.extra or {}).items():
        field = defined.get(code)
        label = field.label if field else code
        names = {str(c.get("key")): str(c.get("name")) for c in (field.choices or [])} if field else {}
        items = value if isinstance(value, list) else [value]
        rows.append((label, "、".join(names.get(str(v), str(v)) for v in items)))
    return rows


def _map_data(case: Case) -> dict[str, Any] | None:
    point = None
    if case.latitude is not None and case.longitude is not None:
        point = [case.latitude, case.longitude]
    boundary = case.org_unit.boundary if case.org_unit.boundary else None
    if point is None and boundary is None:
        return None
    return {"point": point, "boundary": boundary, "label": case.address or case.org_unit.name}


def _timeline(case: Case) -> list[Step]:
    steps = list(
        case.steps.select_related("actor").prefetch_related(
            Prefetch("attachments", queryset=Attachment.objects.order_by("id"))
        )
    )
    for step in steps:
        step.status_label = Status(step.to_status).label if step.to_status in Status.values else ""  # type: ignore[attr-defined]
    return steps


@login_required
def case_detail(request: HttpRequest, number: str) -> HttpResponse:
    case = _decorate(_case_or_404(request, number))
    user = request.user
    assignments = list(case.assignments.select_related("unit", "department", "confirmed_by"))
    requests_ = list(case.requests.select_related("requested_by", "decided_by"))
    actions = [t for t in rules.allowed(user, case) if t.name in ACTION_FORMS]
    return render(
        request,
        "cases/case_detail.html",
        {
            "case": case,
            "extra_fields": _extra_fields(case),
            "map_data": _map_data(case),
            "assignments": assignments,
            "active_assignments": [a for a in assignments if a.state != Assignment.State.ENDED],
            "requests": requests_,
            "steps": _timeline(case),
            "actions": [a for a in actions if a.name != "comment"],
            "can_comment": any(a.name == "comment" for a in actions),
            "can_reveal": can(user, "case.reveal", case) and bool(case.requester_phone),
            "Request": Request,
        },
    )


@login_required
def case_action(request: HttpRequest, number: str, name: str) -> HttpResponse:
    form_class = ACTION_FORMS.get(name)
    if form_class is None:
        raise Http404()
    case = _case_or_404(request, number)
    user = _actor(request)
    transition = workflow.get(name)
    try:
        rules.check(user, case, name)
    except ValidationError as exc:
        if request.method != "POST":  # a stale button: say why on the case page
            for message in exc.messages:
                messages.error(request, message)
            return redirect("cases:case_detail", number=case.number)
        # On POST the service answers (a changed case is a conflict, a double submit is already done).
    form: CaseActionForm
    conflict = False
    if request.method == "POST":
        form = form_class(request.POST, request.FILES, case=case, user=user)
        if form.is_valid():
            try:
                form.apply()
            except ConflictError as exc:
                conflict = True
                form.add_error(None, exc)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(
                    request,
                    _("已完成“%(action)s”：%(number)s。")
                    % {"action": transition.label, "number": case.number},
                )
                return redirect("cases:case_detail", number=case.number)
    else:
        form = form_class(case=case, user=user)
    context = {
        "case": _decorate(case),
        "form": form,
        "transition": transition,
        "conflict": conflict,
        "pending": form.pending() if isinstance(form, DecisionForm) else None,
        "route": getattr(form, "route", None),
    }
    if request.htmx and request.method != "POST":  # type: ignore[attr-defined]
        return render(request, "cases/_action_form.html", context)
    return render(request, "cases/case_action.html", context)


@login_required
def attachment(request: HttpRequest, number: str, pk: int) -> FileResponse:
    item = get_object_or_404(
        Attachment.objects.filter(case__in=Case.objects.visible_to(request.user)), case__number=number, pk=pk
    )
    inline = item.kind == Attachment.Kind.PHOTO and item.content_type.startswith("image/")
    try:
        handle = item.file.open("rb")
    except FileNotFoundError:
        raise Http404() from None
    response = FileResponse(
        handle, as_attachment=not inline, filename=item.name, content_type=item.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
@require_POST
def case_reveal(request: HttpRequest, number: str) -> HttpResponse:
    case = _case_or_404(request, number)
    require(request.user, "case.reveal", case)
    record_event(
        "privacy.reveal",
        actor=request.user,
        obj=case,
        data={"number": case.number, "field": "requester_phone"},
        request=request,
    )
    return render(request, "cases/_phone.html", {"case": case, "revealed": True})


urlpatterns = [
    path("", case_list, name="case_list"),
    path("export.xlsx", case_export, name="case_export"),
    path("<str:number>/", case_detail, name="case_detail"),
    path("<str:number>/act/<str:name>/", case_action, name="case_action"),
    path("<str:number>/files/<int:pk>/", attachment, name="attachment"),
    path("<str:number>/reveal/", case_reveal, name="case_reveal"),
]
