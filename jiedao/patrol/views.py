"""The patrol module's pages (/patrol/): hazard points (list, export, import,
detail, form), the map, emergency
events (declare, live board, a grid worker's points, check, records, close, summary and its .xlsx), patrol
plans, patrol records and coverage. Reads go through `visible_to`; writes through `services`."""

from __future__ import annotations

import mimetypes
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jiedao.audit.services import record_event
from jiedao.cases.uploads import CheckedUpload, check_photo
from jiedao.core import sheets, xlsx
from jiedao.core.models import OrgUnit, User
from jiedao.core.permissions import can, require
from jiedao.core.widgets import QuickSelect
from jiedao.patrol import queries, services
from jiedao.patrol.filters import EventFilterSet, HazardPointFilterSet, PlanFilterSet, RecordFilterSet
from jiedao.patrol.forms import (
    EVENT_KINDS,
    CheckForm,
    CloseForm,
    EventForm,
    ImportForm,
    PlanForm,
    PointForm,
    RecordForm,
)
from jiedao.patrol.models import (
    CheckStatus,
    EmergencyEvent,
    EventCheck,
    EventRecord,
    HazardKind,
    HazardPoint,
    PatrolItem,
    PatrolPlan,
    PatrolRecord,
    RiskLevel,
)
from jiedao.patrol.rules import may_declare

PER_PAGE = 50
WATER_CATEGORIES = {"infra-water"}  # findings there ask for the depth and whether it is passable
BOARD_SECONDS = 5


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _flash(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def _photo(request: HttpRequest, name: str = "photo") -> tuple[CheckedUpload | None, list[str]]:
    upload = request.FILES.get(name)
    if upload is None:
        return None, []
    try:
        return check_photo(upload), []
    except ValidationError as exc:
        return None, exc.messages


def _unit_choices(user: Any) -> list[tuple[str, str]]:
    units = (
        OrgUnit.objects.visible_to(user)
        .filter(is_active=True, kind__in=[OrgUnit.Kind.COMMUNITY, OrgUnit.Kind.VILLAGE, OrgUnit.Kind.GRID])
        .values_list("code", "name", "kind")[:500]
    )
    return [("", _("全部"))] + [
        (code, f"　{name}" if kind == OrgUnit.Kind.GRID else name) for code, name, kind in units
    ]


def _style_filters(form: Any, user: Any) -> None:
    for name, field in form.fields.items():
        if name == "unit":
            field.widget = QuickSelect(choices=_unit_choices(user))
            field.widget.attrs["class"] = "form-select"
        elif field.__class__.__name__ == "NullBooleanField":
            field.widget = QuickSelect(choices=[("", _("全部")), ("true", _("是")), ("false", _("否"))])
            field.widget.attrs["class"] = "form-select"
        elif hasattr(field, "choices"):
            choices = [(v, label) for v, label in field.choices if v != ""]
            field.widget = QuickSelect(choices=[("", _("全部")), *choices])
            field.widget.attrs["class"] = "form-select"
        else:
            field.widget.attrs.setdefault("class", "form-control")
            if name in ("after", "before"):
                field.widget.input_type = "date"


def _tabs(active: str, user: Any) -> list[dict[str, Any]]:
    tabs = [
        ("points", _("隐患点位"), "patrol:point_list", "hazard.view"),
        ("plans", _("巡查计划"), "patrol:plan_list", "patrol.view"),
        ("records", _("巡查记录"), "patrol:record_list", "patrol.view"),
        ("coverage", _("巡查覆盖率"), "patrol:coverage", "patrol.view"),
    ]
    return [
        {"key": k, "label": label, "url": reverse(name), "active": k == active}
        for k, label, name, action in tabs
        if can(user, action)
    ]


# ---------------------------------------------------------------------------------------------------------
# Hazard points


def _points(request: HttpRequest) -> HazardPointFilterSet:
    base = HazardPoint.objects.visible_to(request.user)
    return HazardPointFilterSet(request.GET or None, queryset=base, request=request)


@login_required
def point_list(request: HttpRequest) -> HttpResponse:
    require(request.user, "hazard.view")
    filterset = _points(request)
    _style_filters(filterset.form, request.user)
    kinds = list(HazardKind.objects.filter(is_active=True).values_list("code", "name"))
    filterset.form.fields["kind"].widget = QuickSelect(choices=[("", _("全部")), *kinds])
    filterset.form.fields["kind"].widget.attrs["class"] = "form-select"
    filterset.form.fields["kind"].label = _("类型")
    queryset = filterset.qs.select_related("kind", "org_unit", "responsible").order_by(
        "org_path", "kind__sort_order", "name"
    )
    page = Paginator(queryset, PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "patrol/point_list.html",
        {
            "page": page,
            "form": filterset.form,
            "filtered": any(request.GET.get(n) for n in filterset.form.fields),
            "query": query.urlencode(),
            "tabs": _tabs("points", request.user),
            "can_create": can(request.user, "hazard.change"),
            "can_import": can(request.user, "hazard.import"),
            "can_export": can(request.user, "hazard.export"),
        },
    )


EXPORT_HEADER = ["点位名称", "类型", "网格", "地址", "经度", "纬度", "风险等级", "责任网格员", "备注", "在册"]


@login_required
def point_export(request: HttpRequest) -> HttpResponseBase:
    require(request.user, "hazard.export")
    filterset = _points(request)
    if filterset.form.is_bound and not filterset.is_valid():
        messages.error(request, _("筛选条件有误，请修改后再导出。"))
        return redirect(f"{reverse('patrol:point_list')}?{request.GET.urlencode()}")
    queryset = filterset.qs.select_related("kind", "org_unit", "responsible").order_by("org_path", "name")
    rows = (
        [
            p.name,
            p.kind.name,
            p.org_unit.code,
            p.address,
            p.longitude,
            p.latitude,
            p.get_risk_display(),
            p.responsible.full_name or p.responsible.username if p.responsible else "",
            p.notes,
            _("是") if p.is_active else _("否"),
        ]
        for p in queryset.iterator(chunk_size=1000)
    )
    header = EXPORT_HEADER  # the sheet's own column names (the import reads them back), not UI text
    out, count = xlsx.build(_("隐患点位"), header, rows)
    record_event(
        "patrol.point_export",
        actor=_actor(request),
        data={"filters": {k: v for k, v in request.GET.lists()}, "count": count},
        request=request,
    )
    return xlsx.response(out, f"hazard-points-{timezone.localtime():%Y%m%d-%H%M}.xlsx")


@login_required
def point_detail(request: HttpRequest, pk: int) -> HttpResponse:
    point = get_object_or_404(
        HazardPoint.objects.visible_to(request.user).select_related("kind", "org_unit", "responsible"), pk=pk
    )
    checks = list(
        EventCheck.objects.filter(point=point)
        .exclude(status=CheckStatus.PENDING)
        .select_related("event", "checked_by", "case")
        .order_by("-checked_at")[:50]
    )
    items = list(
        PatrolItem.objects.filter(point=point)
        .select_related("record", "record__worker", "case")
        .order_by("-record__patrolled_at")[:50]
    )
    case_ids = {c.case_id for c in checks if c.case_id} | {i.case_id for i in items if i.case_id}
    from jiedao.cases.models import Case

    cases = list(
        Case.objects.visible_to(request.user)
        .filter(pk__in=case_ids)
        .select_related("category")
        .order_by("-received_at")
    )
    return render(
        request,
        "patrol/point_detail.html",
        {
            "point": point,
            "checks": checks,
            "items": items,
            "cases": cases,
            "can_change": can(request.user, "hazard.change", point),
            "can_history": can(request.user, "history.view", point),
            "geo": {
                "point": [point.latitude, point.longitude] if point.has_position else None,
                "label": point.name,
            },
        },
    )


def _point_form(request: HttpRequest, point: HazardPoint | None) -> HttpResponse:
    user = _actor(request)
    initial: dict[str, Any] = {}
    if point is not None:
        initial = {
            "org_unit": point.org_unit_id,
            "kind": point.kind_id,
            "name": point.name,
            "risk": point.risk,
            "address": point.address,
            "latitude": point.latitude,
            "longitude": point.longitude,
            "responsible": point.responsible_id,
            "notes": point.notes,
            "is_active": point.is_active,
            "version": point.version,
        }
    form = PointForm(request.POST or None, initial=initial, user=user)
    photo_errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        photo, photo_errors = _photo(request)
        if not photo_errors:
            try:
                saved = services.save_point(
                    user,
                    point,
                    form.data_for_service(),
                    version=form.cleaned_data.get("version"),
                    photo=photo,
                )
            except ValidationError as exc:
                _flash(request, exc)
            else:
                messages.success(request, _("已保存隐患点“%(name)s”。") % {"name": saved.name})
                return redirect("patrol:point_detail", pk=saved.pk)
    return render(
        request, "patrol/point_form.html", {"form": form, "point": point, "photo_errors": photo_errors}
    )


@login_required
def point_create(request: HttpRequest) -> HttpResponse:
    require(request.user, "hazard.change")
    return _point_form(request, None)


@login_required
def point_edit(request: HttpRequest, pk: int) -> HttpResponse:
    point = get_object_or_404(HazardPoint.objects.visible_to(request.user), pk=pk)
    require(request.user, "hazard.change", point)
    return _point_form(request, point)


@login_required
def point_import(request: HttpRequest) -> HttpResponse:
    require(request.user, "hazard.import")
    form = ImportForm(request.POST or None, request.FILES or None)
    errors: list[tuple[int, str]] = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            rows = sheets.read_rows(upload, upload.name or "")
            result = services.import_points(_actor(request), rows)
        except sheets.SheetFileError as exc:
            messages.error(request, str(exc))
        else:
            if result.errors:
                errors = result.errors
                messages.error(
                    request,
                    _("发现 %(n)s 处错误，未导入任何点位。请改正后重新上传。") % {"n": len(result.errors)},
                )
            else:
                messages.success(request, _("已导入 %(n)s 个隐患点。") % {"n": result.created})
                return redirect("patrol:point_list")
    return render(
        request,
        "patrol/point_import.html",
        {
            "form": form,
            "errors": errors,
            "columns": services.IMPORT_HEADER,
            "kinds": HazardKind.objects.filter(is_active=True),
        },
    )


@login_required
def point_import_template(request: HttpRequest) -> HttpResponse:
    require(request.user, "hazard.import")
    grid = OrgUnit.objects.visible_to(request.user, "hazard.change").filter(kind=OrgUnit.Kind.GRID).first()
    example = [
        "陇海路下穿通道",
        "涵洞/下穿通道",
        grid.code if grid else "",
        "陇海路与城东路交叉口",
        113.68,
        34.73,
        "高风险",
        "",
        "",
    ]
    data = sheets.write_rows("隐患点位", services.IMPORT_HEADER, [example])
    response = HttpResponse(data, content_type=xlsx.XLSX_TYPE)
    response["Content-Disposition"] = 'attachment; filename="hazard-points-template.xlsx"'
    return response


PHOTO_SOURCES: dict[str, tuple[Any, str]] = {
    "point": (HazardPoint, "photo"),
    "check": (EventCheck, "photo"),
}


@login_required
def photo(request: HttpRequest, kind: str, pk: int) -> FileResponse:
    if kind == "item":
        item = get_object_or_404(
            PatrolItem.objects.filter(record__in=PatrolRecord.objects.visible_to(request.user)), pk=pk
        )
        file = item.photo
    elif kind in PHOTO_SOURCES:
        model, attr = PHOTO_SOURCES[kind]
        obj = get_object_or_404(model.objects.visible_to(request.user), pk=pk)
        file = getattr(obj, attr)
    else:
        raise Http404()
    if not file:
        raise Http404()
    try:
        handle = file.open("rb")
    except FileNotFoundError:
        raise Http404() from None
    content_type = mimetypes.guess_type(file.name or "")[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response


# ---------------------------------------------------------------------------------------------------------
# Map


@login_required
def map_page(request: HttpRequest) -> HttpResponse:
    require(request.user, "hazard.view")
    communities = OrgUnit.objects.visible_to(request.user).filter(
        is_active=True, kind__in=[OrgUnit.Kind.COMMUNITY, OrgUnit.Kind.VILLAGE]
    )
    events = EmergencyEvent.objects.visible_to(request.user).active()
    return render(
        request,
        "patrol/map.html",
        {
            "communities": communities,
            "kinds": HazardKind.objects.filter(is_active=True),
            "risks": RiskLevel.choices,
            "events": events,
            "data_url": reverse("patrol:map_data"),
        },
    )


@login_required
def map_data(request: HttpRequest) -> JsonResponse:
    require(request.user, "hazard.view")
    unit = None
    if code := request.GET.get("unit", "").strip():
        unit = OrgUnit.objects.visible_to(request.user).filter(code=code).first()
        if unit is None:
            raise Http404()
    event = None
    if (raw := request.GET.get("event", "").strip()).isdigit():
        event = get_object_or_404(EmergencyEvent.objects.visible_to(request.user), pk=int(raw))
    kinds = [k for k in request.GET.getlist("kind") if k]
    risk = request.GET.get("risk", "")
    if risk and risk not in RiskLevel.values:
        risk = ""
    data = queries.map_data(request.user, unit=unit, kinds=kinds, risk=risk, event=event)
    return JsonResponse(data)


# ---------------------------------------------------------------------------------------------------------
# Emergencies


def _event(request: HttpRequest, pk: int) -> EmergencyEvent:
    return get_object_or_404(
        EmergencyEvent.objects.visible_to(request.user).select_related(
            "declared_by", "closed_by", "org_unit"
        ),
        pk=pk,
    )


@login_required
def event_list(request: HttpRequest) -> HttpResponse:
    require(request.user, "emergency.view")
    filterset = EventFilterSet(
        request.GET or None, queryset=EmergencyEvent.objects.visible_to(request.user), request=request
    )
    _style_filters(filterset.form, request.user)
    events = (
        filterset.qs.select_related("declared_by", "org_unit")
        .annotate(
            n_checks=Count("checks"),
            n_checked=Count("checks", filter=~Q(checks__status=CheckStatus.PENDING)),
            n_hazards=Count("checks", filter=Q(checks__status=CheckStatus.HAZARD)),
        )
        .order_by("-started_at", "-id")
    )  # Meta.ordering does not apply to a grouped query
    page = Paginator(events, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "patrol/event_list.html",
        {"page": page, "form": filterset.form, "can_declare": may_declare(request.user)},
    )


@login_required
def event_create(request: HttpRequest) -> HttpResponse:
    user = _actor(request)
    if not may_declare(user):
        raise PermissionDenied("emergency.declare")
    form = EventForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            event = services.declare_event(
                user,
                kind=data["kind"],
                level=data["level"],
                areas=list(data["areas"]),
                point_kinds=list(data["point_kinds"]),
                started_at=data.get("started_at"),
                instructions=data.get("instructions", ""),
                idempotency_key=f"event:{user.pk}:{data.get('idempotency_key') or ''}"
                if data.get("idempotency_key")
                else None,
            )
        except ValidationError as exc:
            _flash(request, exc)
        else:
            messages.success(
                request,
                _("已发布“%(kind)s”：%(points)s 个点位待排查，已通知 %(workers)s 名网格员。")
                % {"kind": event.kind, "points": event.checks.count(), "workers": event.notified},
            )
            return redirect("patrol:event_detail", pk=event.pk)
    return render(request, "patrol/event_form.html", {"form": form, "kinds": EVENT_KINDS})


def _board_unit(request: HttpRequest) -> OrgUnit | None:
    code = request.GET.get("unit", "").strip()
    if not code:
        return None
    unit = OrgUnit.objects.visible_to(request.user).filter(code=code).first()
    if unit is None:
        raise Http404()
    return unit


def _board_context(request: HttpRequest, event: EmergencyEvent) -> dict[str, Any]:
    unit = _board_unit(request)
    totals, communities = queries.board(event, request.user, unit)
    return {
        "event": event,
        "totals": totals,
        "communities": communities,
        "findings": queries.findings(event, request.user, limit=20),
        "moved": sum(
            EventRecord.objects.visible_to(request.user)
            .filter(event=event, kind="evacuation")
            .values_list("people_count", flat=True)
        ),
        "refreshed": timezone.localtime(),
        "board_seconds": BOARD_SECONDS,
        "board_unit": unit,
    }


@login_required
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    event = _event(request, pk)
    user = _actor(request)
    mine = EventCheck.objects.visible_to(user, "emergency.check").filter(event=event)
    context = _board_context(request, event)
    context.update(
        {
            "records": EventRecord.objects.visible_to(user)
            .filter(event=event)
            .select_related("org_unit", "recorded_by")
            .order_by("-recorded_at")[:50],
            "areas": OrgUnit.objects.filter(pk__in=event.areas.values("org_unit_id")),
            "point_kinds": event.point_kinds.all(),
            "my_pending": mine.filter(status=CheckStatus.PENDING).count()
            if can(user, "emergency.check")
            else None,
            "record_form": RecordForm(user=user)
            if event.is_active and can(user, "emergency.record")
            else None,
            "close_form": CloseForm(initial={"version": event.version})
            if event.is_active and may_declare(user, event.org_unit)
            else None,
        }
    )
    return render(request, "patrol/event_detail.html", context)


@login_required
def event_board(request: HttpRequest, pk: int) -> HttpResponse:
    event = _event(request, pk)
    return render(request, "patrol/_board.html", _board_context(request, event))


@login_required
def event_mine(request: HttpRequest, pk: int) -> HttpResponse:
    event = _event(request, pk)
    require(request.user, "emergency.check")
    checks = list(
        EventCheck.objects.visible_to(request.user, "emergency.check")
        .filter(event=event)
        .select_related("point", "point__kind", "org_unit", "checked_by", "case")
        .order_by("status", "org_path", "point__name")
    )
    pending = [c for c in checks if c.status == CheckStatus.PENDING]
    done = [c for c in checks if c.status != CheckStatus.PENDING]
    return render(request, "patrol/event_mine.html", {"event": event, "pending": pending, "done": done})


@login_required
def event_check(request: HttpRequest, pk: int, check: int) -> HttpResponse:
    event = _event(request, pk)
    item = get_object_or_404(
        EventCheck.objects.visible_to(request.user, "emergency.check")
        .filter(event=event)
        .select_related("point", "point__kind", "org_unit", "checked_by", "case"),
        pk=check,
    )
    user = _actor(request)
    form = CheckForm(request.POST or None)
    photo_errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        photo, photo_errors = _photo(request)
        if not photo_errors:
            data = form.cleaned_data
            try:
                done = services.check_point(
                    user,
                    item,
                    services.CheckInput(
                        status=data["status"],
                        note=data.get("note") or "",
                        photo=photo,
                        latitude=data.get("latitude"),
                        longitude=data.get("longitude"),
                        accuracy=data.get("accuracy"),
                        depth_cm=data.get("depth_cm"),
                        passable=data.get("passable") or "",
                    ),
                )
            except services.ConflictError as exc:
                _flash(request, exc)
                return redirect("patrol:event_mine", pk=event.pk)
            except ValidationError as exc:
                _flash(request, exc)
            else:
                if done.case is not None:
                    messages.success(
                        request,
                        _("已登记“%(point)s”：发现险情，已生成隐患工单 %(n)s。")
                        % {"point": done.point.name, "n": done.case.number},
                    )
                else:
                    messages.success(request, _("已登记“%(point)s”：正常。") % {"point": done.point.name})
                return redirect("patrol:event_mine", pk=event.pk)
    return render(
        request,
        "patrol/event_check.html",
        {
            "event": event,
            "check": item,
            "form": form,
            "photo_errors": photo_errors,
            "photo_lost": bool(request.FILES) and request.method == "POST",
            "water": item.point.kind.category_code in WATER_CATEGORIES,
        },
    )


@login_required
@require_POST
def event_record(request: HttpRequest, pk: int) -> HttpResponse:
    event = _event(request, pk)
    user = _actor(request)
    require(user, "emergency.record")
    form = RecordForm(request.POST, user=user)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.add_record(
                user,
                event,
                kind=data["kind"],
                org_unit=data["org_unit"],
                note=data["note"],
                people_count=data.get("people_count") or 0,
                destination=data.get("destination") or "",
            )
        except ValidationError as exc:
            _flash(request, exc)
        else:
            messages.success(request, _("已记录。"))
    else:
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, str(message))
    return redirect("patrol:event_detail", pk=event.pk)


@login_required
@require_POST
def event_close(request: HttpRequest, pk: int) -> HttpResponse:
    event = _event(request, pk)
    user = _actor(request)
    if not may_declare(user, event.org_unit):
        raise PermissionDenied("emergency.close")
    form = CloseForm(request.POST)
    if form.is_valid():
        try:
            services.close_event(
                user,
                event,
                version=form.cleaned_data.get("version"),
                summary_note=form.cleaned_data.get("summary_note") or "",
            )
        except ValidationError as exc:
            _flash(request, exc)
            return redirect("patrol:event_detail", pk=event.pk)
        messages.success(request, _("应急响应已结束。"))
        return redirect("patrol:event_summary", pk=event.pk)
    return redirect("patrol:event_detail", pk=event.pk)


def _summary(request: HttpRequest, event: EmergencyEvent) -> dict[str, Any]:
    totals, communities = queries.board(event, request.user)
    figures = services.summary_figures(event)
    return {
        "event": event,
        "figures": figures,
        "totals": totals,
        "communities": communities,
        "timeline": queries.timeline(event, request.user),
    }


@login_required
def event_summary(request: HttpRequest, pk: int) -> HttpResponse:
    event = _event(request, pk)
    return render(request, "patrol/event_summary.html", _summary(request, event))


@login_required
def event_summary_export(request: HttpRequest, pk: int) -> HttpResponseBase:
    event = _event(request, pk)
    context = _summary(request, event)
    f = context["figures"]

    def rows() -> Any:
        yield [_("事件"), event.kind, event.get_level_display()]
        yield [_("开始时间"), event.started_at]
        yield [_("结束时间"), event.closed_at or ""]
        for label, key in [
            (_("排查点位"), "total"),
            (_("已排查"), "checked"),
            (_("未排查"), "unchecked"),
            (_("正常"), "ok"),
            (_("发现险情"), "hazards"),
            (_("已整改"), "fixed"),
            (_("工单未办结"), "open_cases"),
            (_("转移群众（人）"), "moved"),
            (_("处置措施（条）"), "measures"),
        ]:
            yield [label, f[key]]
        yield []
        yield [_("社区/网格"), _("排查点位"), _("已排查"), _("发现险情"), _("工单未办结")]
        for community in context["communities"]:
            yield [
                community.unit.name if community.unit else "",
                community.total,
                community.checked,
                community.hazards,
                community.open_cases,
            ]
            for grid in community.grids:
                yield [
                    "　" + (grid.unit.name if grid.unit else ""),
                    grid.total,
                    grid.checked,
                    grid.hazards,
                    grid.open_cases,
                ]
        yield []
        yield [_("时间"), _("经过")]
        for item in context["timeline"]:
            yield [item["at"], item["text"]]
        for check in (
            EventCheck.objects.visible_to(request.user)
            .filter(event=event)
            .select_related("point", "org_unit", "checked_by", "case")
            .iterator(chunk_size=1000)
        ):
            yield [
                check.org_unit.name,
                check.point.name,
                check.get_status_display(),
                str(check.checked_by or ""),
                check.checked_at or "",
                check.note,
                check.case.number if check.case else "",
            ]

    out, _count = xlsx.build(_("应急事件总结"), [_("项目"), _("数值"), ""], rows())
    return xlsx.response(out, f"emergency-{event.pk}-summary.xlsx")


# ---------------------------------------------------------------------------------------------------------
# Patrol plans, records and coverage


@login_required
def plan_list(request: HttpRequest) -> HttpResponse:
    require(request.user, "patrol.view")
    filterset = PlanFilterSet(
        request.GET or None, queryset=PatrolPlan.objects.visible_to(request.user), request=request
    )
    _style_filters(filterset.form, request.user)
    plans = (
        filterset.qs.select_related("org_unit", "worker")
        .annotate(n_points=Count("points"))
        .order_by("due_at")
    )
    page = Paginator(plans, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "patrol/plan_list.html",
        {
            "page": page,
            "form": filterset.form,
            "now": timezone.now(),
            "tabs": _tabs("plans", request.user),
            "can_create": can(request.user, "patrol.plan"),
        },
    )


def _plan(request: HttpRequest, pk: int) -> PatrolPlan:
    return get_object_or_404(
        PatrolPlan.objects.visible_to(request.user).select_related("org_unit", "worker"), pk=pk
    )


@login_required
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _plan(request, pk)
    records = plan.records.select_related("worker").annotate(
        n_items=Count("items"), n_hazards=Count("items", filter=Q(items__status=CheckStatus.HAZARD))
    )[:30]
    return render(
        request,
        "patrol/plan_detail.html",
        {
            "plan": plan,
            "points": plan.points.select_related("kind"),
            "records": records,
            "overdue": plan.is_active and plan.due_at < timezone.now(),
            "can_change": can(request.user, "patrol.plan", plan),
            "can_record": can(request.user, "patrol.record", plan),
            "can_history": can(request.user, "history.view", plan),
        },
    )


def _plan_form(request: HttpRequest, plan: PatrolPlan | None) -> HttpResponse:
    user = _actor(request)
    initial: dict[str, Any] = {}
    if plan is not None:
        initial = {
            "org_unit": plan.org_unit_id,
            "name": plan.name,
            "every_days": plan.every_days,
            "worker": plan.worker_id,
            "points": list(plan.points.values_list("pk", flat=True)),
            "is_active": plan.is_active,
            "version": plan.version,
        }
    elif request.GET.get("grid"):
        grid = OrgUnit.objects.filter(code=request.GET["grid"]).first()
        if grid is not None:
            initial["org_unit"] = grid.pk
    form = PlanForm(request.POST or None, initial=initial, user=user)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        points = list(data.pop("points"))
        version = data.pop("version", None)
        try:
            saved = services.save_plan(user, plan, data, points, version=version)
        except ValidationError as exc:
            _flash(request, exc)
        else:
            messages.success(request, _("已保存巡查计划。"))
            return redirect("patrol:plan_detail", pk=saved.pk)
    return render(request, "patrol/plan_form.html", {"form": form, "plan": plan})


@login_required
def plan_create(request: HttpRequest) -> HttpResponse:
    require(request.user, "patrol.plan")
    return _plan_form(request, None)


@login_required
def plan_edit(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _plan(request, pk)
    require(request.user, "patrol.plan", plan)
    return _plan_form(request, plan)


@login_required
def plan_patrol(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _plan(request, pk)
    user = _actor(request)
    require(user, "patrol.record", plan)
    points = list(plan.points.filter(is_active=True).select_related("kind"))
    errors: list[str] = []

    def number(name: str) -> float | None:
        try:
            return float(request.POST.get(name, "")) if request.POST.get(name) else None
        except ValueError:
            return None

    if request.method == "POST":
        items: list[services.ItemInput] = []
        for point in points:
            status = request.POST.get(f"status_{point.pk}", "")
            if not status:
                continue
            photo, photo_errors = _photo(request, f"photo_{point.pk}")
            errors += photo_errors
            items.append(
                services.ItemInput(
                    point,
                    status,
                    request.POST.get(f"note_{point.pk}", ""),
                    photo,
                    depth_cm=number(f"depth_{point.pk}"),
                    passable=request.POST.get(f"passable_{point.pk}", "")
                    if request.POST.get(f"passable_{point.pk}") in ("yes", "no")
                    else "",
                )
            )

        if not errors:
            try:
                record = services.record_patrol(
                    user,
                    plan,
                    items,
                    latitude=number("latitude"),
                    longitude=number("longitude"),
                    accuracy=number("accuracy"),
                    note=request.POST.get("note", ""),
                    idempotency_key=f"patrol:{user.pk}:{request.POST.get('idempotency_key', '')}"
                    if request.POST.get("idempotency_key")
                    else None,
                )
            except ValidationError as exc:
                errors += exc.messages
            else:
                messages.success(request, _("已记录巡查。"))
                return redirect("patrol:record_detail", pk=record.pk)
    import uuid

    return render(
        request,
        "patrol/plan_patrol.html",
        {
            "plan": plan,
            "points": points,
            "water": WATER_CATEGORIES,
            "errors": errors,
            "key": request.POST.get("idempotency_key") or uuid.uuid4().hex,
            "posted": request.POST,
        },
    )


@login_required
def record_list(request: HttpRequest) -> HttpResponse:
    require(request.user, "patrol.view")
    filterset = RecordFilterSet(
        request.GET or None, queryset=PatrolRecord.objects.visible_to(request.user), request=request
    )
    _style_filters(filterset.form, request.user)
    records = (
        filterset.qs.select_related("org_unit", "worker", "plan")
        .annotate(
            n_items=Count("items"), n_hazards=Count("items", filter=Q(items__status=CheckStatus.HAZARD))
        )
        .order_by("-patrolled_at", "-id")  # Meta.ordering does not apply to a grouped query
    )
    page = Paginator(records, PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "patrol/record_list.html",
        {
            "page": page,
            "form": filterset.form,
            "tabs": _tabs("records", request.user),
            "query": query.urlencode(),
        },
    )


@login_required
def record_detail(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_object_or_404(
        PatrolRecord.objects.visible_to(request.user).select_related("org_unit", "worker", "plan"), pk=pk
    )
    items = record.items.select_related("point", "point__kind", "case")
    return render(request, "patrol/record_detail.html", {"record": record, "items": items})


@login_required
def coverage(request: HttpRequest) -> HttpResponse:
    require(request.user, "patrol.view")
    today = timezone.localdate()
    start = parse_date(request.GET.get("start", "") or "") or today - timedelta(days=29)
    end = parse_date(request.GET.get("end", "") or "") or today
    if end < start:
        start, end = end, start
    if (end - start).days > 366:
        start = end - timedelta(days=366)
        messages.info(request, _("统计区间最长一年，已自动缩短。"))
    grids, workers = queries.coverage(request.user, start, end)
    return render(
        request,
        "patrol/coverage.html",
        {
            "grids": grids,
            "workers": workers,
            "start": start,
            "end": end,
            "tabs": _tabs("coverage", request.user),
            "overdue": queries.overdue_plans(request.user),
        },
    )
