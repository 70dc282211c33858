"""The pages of supervised matters (/supervision/): the list with its tabs, filters and colour lights, the
.xlsx
export, the matter page with its timeline and the buttons for the next steps, one form per step, the new/edit
forms (also from a meeting decision), files, and the 通报 (bulletin) with its export and published snapshots.
Every write goes through `services`; every read through `SupervisedMatter.objects.visible_to`."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from jiedao.audit.services import record_event
from jiedao.core import xlsx
from jiedao.core.models import User
from jiedao.core.widgets import QuickSelect
from jiedao.supervision import bulletin as bulletins
from jiedao.supervision import rules, services, workflow
from jiedao.supervision.filters import MatterFilterSet
from jiedao.supervision.forms import STEP_FORMS, BulletinForm, MatterForm, StepForm
from jiedao.supervision.lights import expected_percent, light_of
from jiedao.supervision.models import (
    Bulletin,
    Light,
    MatterAttachment,
    MatterStep,
    Status,
    SupervisedMatter,
)

PER_PAGE = 50
STATUS_COLORS: dict[str, str] = {
    Status.OPENED: "azure",
    Status.ASSIGNED: "indigo",
    Status.IN_PROGRESS: "cyan",
    Status.REVIEWING: "purple",
    Status.APPROVED: "teal",
    Status.COMPLETED: "green",
    Status.RATED: "green",
    Status.CANCELLED: "secondary",
}
LIGHT_COLORS = {
    Light.RED: "red",
    Light.YELLOW: "yellow",
    Light.BLUE: "blue",
    Light.GREEN: "green",
    Light.NONE: "secondary",
}
FILTER_FIELDS = ["q", "light", "status", "source", "overdue", "unit", "due_after", "due_before", "late"]
LIST_COLUMNS = (
    *("number", "title", "status", "source", "deadline", "blue_at", "pace_at", "progress", "org_path"),
    *("created_at", "extension_count", "return_count", "lead_unit_id", "lead_department_id", "leader_id"),
    *("lead_unit__name", "lead_unit__short_name", "lead_department__name", "lead_department__short_name"),
    *("leader__username", "leader__full_name", "leader__first_name", "leader__last_name"),
)


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def may_use(user: Any) -> bool:
    """Anyone who may see some matter: readers, supervisors and the staff of units and departments."""
    return rules.may_read_all(user) or bool(rules.handler_units(user) or rules.handler_departments(user))


def _require_use(user: Any) -> None:
    if not may_use(user):
        raise PermissionDenied("supervision.view")


def decorate(matter: SupervisedMatter, now: Any = None) -> SupervisedMatter:
    """Presentation values the templates read (colours, the light now)."""
    light = light_of(matter, now)
    matter.status_color = STATUS_COLORS.get(matter.status, "secondary")  # type: ignore[attr-defined]
    matter.light_now = light  # type: ignore[attr-defined]
    matter.light_label = Light(light).label  # type: ignore[attr-defined]
    matter.light_color = LIGHT_COLORS[Light(light)]  # type: ignore[attr-defined]
    return matter


def _matter_or_404(request: HttpRequest, number: str) -> SupervisedMatter:
    return get_object_or_404(
        SupervisedMatter.objects.visible_to(request.user).select_related(
            "org_unit",
            "lead_unit",
            "lead_department",
            "leader",
            "project",
            "decision__meeting",
            "case",
            "created_by",
        ),
        number=number,
    )


# ---------------------------------------------------------------------------------------------------------
# The list and the export


def _filterset(request: HttpRequest) -> MatterFilterSet:
    base = SupervisedMatter.objects.visible_to(request.user)
    return MatterFilterSet(request.GET or None, queryset=base, request=request)


def _style_filter_form(form: Any) -> None:
    yes_no = [("", _("全部")), ("true", _("是")), ("false", _("否"))]
    form.fields["overdue"].widget.choices = yes_no
    for name in ("due_after", "due_before"):
        form.fields[name].widget.input_type = "date"
    for name, field in form.fields.items():
        widget = field.widget
        if name == "status":
            widget.attrs.update({"class": "form-select", "size": "4"})
        elif name == "overdue":
            field.widget = QuickSelect(attrs={"class": "form-select"}, choices=yes_no)
        elif hasattr(field, "choices"):
            field.empty_label = _("全部")
            field.widget = QuickSelect(attrs={"class": "form-select"}, choices=field.choices)
        else:
            widget.attrs["class"] = "form-control"
    form.fields["q"].widget.attrs["placeholder"] = _("编号、名称或内容")
    form.fields["unit"].widget.attrs["placeholder"] = _("单位代码")


def _tabs(request: HttpRequest, box: str) -> list[dict[str, Any]]:
    rest = request.GET.copy()
    for key in ("box", "page"):
        rest.pop(key, None)
    user = request.user
    tabs = []
    if rules.handler_units(user) or rules.handler_departments(user):
        tabs.append(("unit", _("本单位承办")))
    if rules.may_supervise_somewhere(user):
        tabs.append(("supervise", _("我督办的")))
    tabs.append(("", _("全部")))
    result = []
    for key, label in tabs:
        query = rest.copy()
        if key:
            query["box"] = key
        result.append({"key": key, "label": label, "query": query.urlencode(), "active": key == box})
    return result


def _list_queryset(qs: QuerySet[SupervisedMatter]) -> QuerySet[SupervisedMatter]:
    return qs.select_related("lead_unit", "lead_department", "leader").only(*LIST_COLUMNS)


@login_required
def matter_list(request: HttpRequest) -> HttpResponse:
    _require_use(request.user)
    filterset = _filterset(request)
    form = filterset.form
    _style_filter_form(form)
    page = Paginator(_list_queryset(filterset.qs), PER_PAGE).get_page(request.GET.get("page"))
    now = timezone.now()
    for matter in page.object_list:
        decorate(matter, now)
    box = request.GET.get("box", "") if request.GET.get("box") in ("unit", "supervise") else ""
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "supervision/matter_list.html",
        {
            "page": page,
            "form": form,
            "filter_fields": [form[name] for name in FILTER_FIELDS],
            "tabs": _tabs(request, box),
            "box": box,
            "query": query.urlencode(),
            "filtered": any(request.GET.get(name) for name in FILTER_FIELDS),
            "can_create": rules.may_supervise_somewhere(request.user),
            "can_bulletin": rules.may_read_all(request.user),
        },
    )


EXPORT_HEADERS = (
    gettext_lazy("编号"),
    gettext_lazy("事项名称"),
    gettext_lazy("来源"),
    gettext_lazy("状态"),
    gettext_lazy("预警"),
    gettext_lazy("牵头单位"),
    gettext_lazy("协办单位"),
    gettext_lazy("责任领导"),
    gettext_lazy("立项时间"),
    gettext_lazy("办理时限"),
    gettext_lazy("完成进度（%）"),
    gettext_lazy("延期次数"),
    gettext_lazy("退回次数"),
    gettext_lazy("办结时间"),
    gettext_lazy("评价"),
    gettext_lazy("评分"),
    gettext_lazy("督办内容"),
)


def export_rows(queryset: QuerySet[SupervisedMatter]) -> Any:
    now = timezone.now()
    matters = queryset.select_related("lead_unit", "lead_department", "leader").prefetch_related(
        "helpers__unit", "helpers__department"
    )
    for m in matters.order_by("-created_at", "-id").iterator(chunk_size=500):
        yield [
            m.number,
            m.title,
            m.get_source_display(),
            m.get_status_display(),
            str(Light(light_of(m, now)).label),
            m.lead_name,
            "、".join(h.name for h in m.helpers.all()),
            str(m.leader) if m.leader_id else "",
            xlsx.naive(m.created_at),
            xlsx.naive(m.deadline),
            m.progress,
            m.extension_count,
            m.return_count,
            xlsx.naive(m.completed_at),
            m.get_rating_display() if m.rating else "",
            m.score,
            m.content,
        ]


@login_required
def matter_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    _require_use(request.user)
    filterset = _filterset(request)
    if filterset.form.is_bound and not filterset.is_valid():
        messages.error(request, _("筛选条件有误，请修改后再导出。"))
        return redirect(f"{reverse('supervision:matter_list')}?{request.GET.urlencode()}")
    out, count = xlsx.build(_("督办事项"), [str(h) for h in EXPORT_HEADERS], export_rows(filterset.qs))
    record_event(
        "supervision.export",
        actor=request.user,
        data={"filters": dict(request.GET.lists()), "count": count},
        request=request,
    )
    return xlsx.response(out, f"supervision-{timezone.localtime():%Y%m%d-%H%M}.xlsx")


# ---------------------------------------------------------------------------------------------------------
# The matter page


def _timeline(matter: SupervisedMatter) -> list[MatterStep]:
    steps = list(
        matter.steps.select_related("report").prefetch_related(
            Prefetch("attachments", queryset=MatterAttachment.objects.order_by("id"))
        )
    )
    labels = {
        "lead": _("牵头单位"),
        "helpers": _("协办单位"),
        **{f.name: str(f.verbose_name) for f in SupervisedMatter._meta.fields},
    }
    for step in steps:
        step.status_label = Status(step.to_status).label if step.to_status in Status.values else ""  # type: ignore[attr-defined]
        changed = (step.data or {}).get("changed") or {}
        step.changes = [  # type: ignore[attr-defined]
            (labels.get(name, name), _plain(change[0]), _plain(change[1]))
            for name, change in changed.items()
            if isinstance(change, list) and len(change) == 2
        ]
    return steps


def _plain(value: Any) -> str:
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


@login_required
def matter_detail(request: HttpRequest, number: str) -> HttpResponse:
    matter = decorate(_matter_or_404(request, number))
    user = request.user
    helpers = list(matter.helpers.select_related("unit", "department"))
    reports = list(matter.reports.select_related("author")[:1])
    return render(
        request,
        "supervision/matter_detail.html",
        {
            "matter": matter,
            "helpers": helpers,
            "steps": _timeline(matter),
            "actions": rules.allowed(user, matter),
            "extensions": list(matter.extensions.select_related("requested_by", "decided_by")),
            "last_report": reports[0] if reports else None,
            "expected": expected_percent(matter)
            if matter.status in (Status.ASSIGNED, Status.IN_PROGRESS)
            else None,
            "can_edit": rules.may_edit(user, matter),
            "can_history": rules.may_read_all(user) and _may_history(user, matter),
        },
    )


def _may_history(user: Any, matter: SupervisedMatter) -> bool:
    from jiedao.core.permissions import can

    return can(user, "history.view", matter)


@login_required
def matter_action(request: HttpRequest, number: str, name: str) -> HttpResponse:
    form_class = STEP_FORMS.get(name)
    if form_class is None:
        raise Http404()
    matter = _matter_or_404(request, number)
    user = _actor(request)
    step = workflow.get(name)
    try:
        rules.check(user, matter, name)
    except ValidationError as exc:
        if request.method != "POST":  # a stale button: say why on the matter page
            for message in exc.messages:
                messages.error(request, message)
            return redirect("supervision:matter_detail", number=matter.number)
        # On POST the service answers (a changed matter is a conflict, a double submit is already done).
    conflict = False
    form: StepForm
    if request.method == "POST":
        form = form_class(request.POST, request.FILES, matter=matter, user=user)
        if form.is_valid():
            try:
                form.apply(name)
            except services.ConflictError as exc:
                conflict = True
                form.add_error(None, exc)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(
                    request,
                    _("已完成“%(action)s”：%(number)s。") % {"action": step.label, "number": matter.number},
                )
                return redirect("supervision:matter_detail", number=matter.number)
    else:
        form = form_class(matter=matter, user=user)
    context = {
        "matter": decorate(matter),
        "form": form,
        "step": step,
        "conflict": conflict,
        "pending": rules.pending_extension(matter) if name == "decide_extension" else None,
    }
    if request.htmx and request.method != "POST":  # type: ignore[attr-defined]
        return render(request, "supervision/_action_form.html", context)
    return render(request, "supervision/matter_action.html", context)


@login_required
def attachment(request: HttpRequest, number: str, pk: int) -> FileResponse:
    item = get_object_or_404(
        MatterAttachment.objects.filter(matter__in=SupervisedMatter.objects.visible_to(request.user)),
        matter__number=number,
        pk=pk,
    )
    inline = item.kind == "photo" and item.content_type.startswith("image/")
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


# ---------------------------------------------------------------------------------------------------------
# New and edit


def _refusal(exc: ValidationError | PermissionDenied) -> ValidationError:
    """A service's refusal as a form error."""
    if isinstance(exc, ValidationError):
        return exc
    return ValidationError(str(exc) or _("您没有执行该操作的权限。"))


def _render_form(request: HttpRequest, form: MatterForm, **context: Any) -> HttpResponse:
    return render(request, "supervision/matter_form.html", {"form": form, **context})


@login_required
def matter_create(request: HttpRequest) -> HttpResponse:
    user = _actor(request)
    if not rules.may_supervise_somewhere(user):
        raise PermissionDenied("supervision.supervise")
    form = MatterForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            matter = form.save()
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, _refusal(exc))
        else:
            messages.success(request, _("已立项：%(number)s。") % {"number": matter.number})
            return redirect("supervision:matter_detail", number=matter.number)
    return _render_form(request, form, title=_("新建督办事项"))


@login_required
def matter_from_decision(request: HttpRequest, pk: int) -> HttpResponse:
    from jiedao.projects.models import Decision, Meeting

    user = _actor(request)
    decision = get_object_or_404(
        Decision.objects.select_related("meeting__project", "owner_unit").filter(
            meeting__in=Meeting.objects.visible_to(user)
        ),
        pk=pk,
    )
    existing = SupervisedMatter.objects.filter(decision=decision).only("number").first()
    if existing is not None:
        messages.info(request, _("该决定事项已转为督办事项 %(number)s。") % {"number": existing.number})
        return redirect("supervision:matter_detail", number=existing.number)
    if not rules.may_supervise_somewhere(user):
        raise PermissionDenied("supervision.supervise")
    form = MatterForm(request.POST or None, user=user, decision=decision)
    if request.method == "POST" and form.is_valid():
        try:
            matter = form.save()
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, _refusal(exc))
        else:
            messages.success(request, _("已转为督办事项：%(number)s。") % {"number": matter.number})
            return redirect("supervision:matter_detail", number=matter.number)
    return _render_form(request, form, title=_("会议决定事项转为督办事项"), decision=decision)


@login_required
def matter_edit(request: HttpRequest, number: str) -> HttpResponse:
    matter = _matter_or_404(request, number)
    user = _actor(request)
    if not rules.may_supervise(user, matter):
        raise PermissionDenied("supervision.supervise")
    if not rules.may_edit(user, matter):
        messages.error(
            request, _("督办事项当前状态为“%(status)s”，不能修改。") % {"status": matter.get_status_display()}
        )
        return redirect("supervision:matter_detail", number=matter.number)
    form = MatterForm(request.POST or None, user=user, matter=matter)
    conflict = False
    if request.method == "POST" and form.is_valid():
        try:
            form.save()
        except services.ConflictError as exc:
            conflict = True
            form.add_error(None, exc)
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, _refusal(exc))
        else:
            messages.success(request, _("已保存：%(number)s。") % {"number": matter.number})
            return redirect("supervision:matter_detail", number=matter.number)
    return _render_form(request, form, title=_("修改督办事项"), matter=matter, conflict=conflict)


# ---------------------------------------------------------------------------------------------------------
# 通报


def _require_bulletin(user: Any) -> None:
    if not rules.may_read_all(user):
        raise PermissionDenied("supervision.view")


def _period(request: HttpRequest) -> tuple[BulletinForm, Any, Any]:
    start, end = bulletins.default_period()
    form = BulletinForm(request.GET or None, initial={"start": start, "end": end})
    if form.is_bound:
        if form.is_valid():
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        else:
            form = BulletinForm(request.GET, initial={"start": start, "end": end})
            form.is_valid()
    return form, start, end


@login_required
def bulletin(request: HttpRequest) -> HttpResponse:
    user = _actor(request)
    _require_bulletin(user)
    form, start, end = _period(request)
    table = bulletins.rows(SupervisedMatter.objects.visible_to(user), start, end)
    period = {"due_after": f"{start:%Y-%m-%d}", "due_before": f"{end:%Y-%m-%d}"}
    units = [] if not rules.may_supervise_somewhere(user) else _publish_units(user)
    paths = _bulletin_paths(user)
    published = Bulletin.objects.all() if paths is None else Bulletin.objects.filter(org_path__in=paths)
    return render(
        request,
        "supervision/bulletin.html",
        {
            "form": form,
            "start": start,
            "end": end,
            "rows": table,
            "total": bulletins.totals(table),
            "period": period,
            "publish_units": units,
            "published": list(published.select_related("published_by")[:20]),
        },
    )


def _bulletin_paths(user: Any) -> list[str] | None:
    """Published bulletins are read by the readers of their sub-district."""
    paths = rules.reader_paths(user)
    if paths is None:
        return None
    from jiedao.core.models import OrgUnit

    return list(
        OrgUnit.objects.filter(kind=OrgUnit.Kind.SUBDISTRICT)
        .filter(_under_any("path", paths))
        .values_list("path", flat=True)
    )


def _under_any(field: str, paths: list[str]) -> Any:
    from django.db.models import Q

    from jiedao.core.models.scope import under_path

    condition = Q(pk__in=[])
    for path in paths:
        condition |= under_path(field, path)
    return condition


def _publish_units(user: Any) -> list[Any]:
    from jiedao.core.models import OrgUnit

    paths = rules.supervisor_paths(user)
    qs = OrgUnit.objects.filter(kind=OrgUnit.Kind.SUBDISTRICT, is_active=True)
    if paths is not None:
        qs = qs.filter(_under_any("path", paths))
    return [u for u in qs.order_by("path") if rules.may_supervise(user, services._PathProbe(u.path))]  # type: ignore[arg-type]


@login_required
def bulletin_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    user = _actor(request)
    _require_bulletin(user)
    _form, start, end = _period(request)
    table = bulletins.rows(SupervisedMatter.objects.visible_to(user), start, end, details=True)
    header = [
        _("牵头单位"),
        _("到期事项"),
        _("按期办结"),
        _("逾期办结"),
        _("逾期未办结"),
        _("逾期合计"),
        _("按期办结率（%）"),
        _("逾期事项"),
    ]
    lines = [
        [
            r.name,
            r.due,
            r.on_time,
            r.done_late,
            r.open_late,
            r.overdue,
            r.on_time_rate,
            "、".join(m["number"] for m in r.matters),
        ]
        for r in table
    ]
    total = bulletins.totals(table)
    lines.append(
        [
            str(total.name),
            total.due,
            total.on_time,
            total.done_late,
            total.open_late,
            total.overdue,
            total.on_time_rate,
            "",
        ]
    )
    out, count = xlsx.build(_("督办通报"), header, lines)
    record_event(
        "supervision.bulletin_export",
        actor=user,
        data={"start": start.isoformat(), "end": end.isoformat(), "rows": count},
        request=request,
    )
    return xlsx.response(out, f"supervision-bulletin-{start:%Y%m%d}-{end:%Y%m%d}.xlsx")


@login_required
@require_POST
def bulletin_publish(request: HttpRequest) -> HttpResponse:
    user = _actor(request)
    if not rules.may_supervise_somewhere(user):
        raise PermissionDenied("supervision.supervise")
    form = BulletinForm(request.POST)
    units = {str(u.pk): u for u in _publish_units(user)}
    unit = units.get(request.POST.get("unit", ""))
    back = reverse("supervision:bulletin")
    if not form.is_valid() or unit is None:
        for field_errors in form.errors.values():
            for message in field_errors:
                messages.error(request, str(message))
        if unit is None:
            messages.error(request, _("请选择发布通报的街道。"))
        return redirect(f"{back}?{request.POST.urlencode()}" if form.is_valid() else back)
    try:
        item = bulletins.publish(
            user,
            unit,
            form.cleaned_data["start"],
            form.cleaned_data["end"],
            note=request.POST.get("note", ""),
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect(back)
    messages.success(request, _("通报已发布。"))
    return redirect("supervision:bulletin_detail", pk=item.pk)


@login_required
def bulletin_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _actor(request)
    _require_bulletin(user)
    paths = _bulletin_paths(user)
    qs = Bulletin.objects.all() if paths is None else Bulletin.objects.filter(org_path__in=paths)
    item = get_object_or_404(qs.select_related("org_unit", "published_by"), pk=pk)
    total = {
        key: sum(int(r.get(key) or 0) for r in item.rows)
        for key in ("due", "on_time", "done_late", "open_late", "overdue")
    }
    return render(request, "supervision/bulletin_detail.html", {"item": item, "total": total})
