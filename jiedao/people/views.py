"""The people module's pages (/people/): one list, export, detail and form view over the ledgers
(`ledgers.LEDGERS`), the resident page with its reveal buttons, tags and move-out, and the care list with
visits. Reads go through `visible_to`; writes through `services`."""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import models
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jiedao.audit.services import record_event
from jiedao.core import xlsx
from jiedao.core.models import OrgUnit, User
from jiedao.core.permissions import can, require
from jiedao.core.widgets import QuickSelect
from jiedao.people import ledgers, services
from jiedao.people.care import days_since_visit
from jiedao.people.forms import CareForm, MoveOutForm, RecordForm, TagForm, VisitForm
from jiedao.people.ledgers import PLACE_KEYS, Ledger
from jiedao.people.models import (
    Building,
    CareSubject,
    Compound,
    Dwelling,
    Household,
    Resident,
    ResidentTag,
    Tag,
    Visit,
)

PER_PAGE = 50
ITERATOR_CHUNK = 1000


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _flash(request: HttpRequest, errors: Iterable[Any]) -> None:
    for message in errors:
        messages.error(request, str(message))


def _flash_form(request: HttpRequest, form: Any) -> None:
    _flash(request, [message for errors in form.errors.values() for message in errors])


def _ledger(key: str) -> Ledger:
    try:
        return ledgers.get(key)
    except KeyError:
        raise Http404() from None


def _filterset(request: HttpRequest, ledger: Ledger) -> Any:
    base = ledger.model.objects.visible_to(request.user)  # type: ignore[attr-defined]
    return ledger.filterset(request.GET or None, queryset=base, request=request)


def _unit_choices(user: Any) -> list[tuple[str, str]]:
    """Communities and grids the user sees, indented under their community."""
    units = (
        OrgUnit.objects.visible_to(user)
        .filter(is_active=True, kind__in=[OrgUnit.Kind.COMMUNITY, OrgUnit.Kind.VILLAGE, OrgUnit.Kind.GRID])
        .values_list("code", "name", "kind")[:500]
    )
    return [("", _("全部"))] + [
        (code, f"　{name}" if kind == OrgUnit.Kind.GRID else name) for code, name, kind in units
    ]


def _style(form: Any, user: Any) -> None:
    for name, field in form.fields.items():
        if name == "unit":
            field.widget = QuickSelect(choices=_unit_choices(user))
            field.widget.attrs["class"] = "form-select"
        elif name == "tag":
            tags = list(Tag.objects.filter(is_active=True).values_list("code", "name"))
            field.widget = QuickSelect(choices=[("", _("全部")), *tags])
            field.widget.attrs["class"] = "form-select"
        elif hasattr(field, "choices"):
            choices = [(v, label) for v, label in field.choices if v != ""]
            field.widget = QuickSelect(choices=[("", _("全部")), *choices])
            field.widget.attrs["class"] = "form-select"
        else:
            field.widget.attrs.setdefault("class", "form-control")


def _boolean_choices(form: Any) -> None:
    for field in form.fields.values():
        if field.__class__.__name__ == "NullBooleanField":
            field.choices = [("", _("全部")), ("true", _("是")), ("false", _("否"))]


@login_required
def record_list(request: HttpRequest, key: str) -> HttpResponse:
    ledger = _ledger(key)
    require(request.user, ledger.view_action)
    filterset = _filterset(request, ledger)
    form = filterset.form
    _boolean_choices(form)
    _style(form, request.user)
    queryset = filterset.qs.select_related(*ledger.related).order_by(*ledger.order)
    page = Paginator(queryset, PER_PAGE).get_page(request.GET.get("page"))
    columns = [c for c in ledger.columns if c.listed]
    rows = [(obj, [c.value(obj) for c in columns], _detail_url(ledger.key, obj)) for obj in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "people/list.html",
        {
            "ledger": ledger,
            "columns": columns,
            "rows": rows,
            "page": page,
            "form": form,
            "filter_fields": [form[name] for name in ledger.filter_fields],
            "filtered": any(request.GET.get(name) for name in ledger.filter_fields),
            "query": query.urlencode(),
            "tabs": _tabs(ledger.key),
            "can_create": ledger.form is not None and can(request.user, ledger.change_action),
            "can_export": can(request.user, ledger.export_action),
            "can_reveal": ledger.key == "resident" and services.may_reveal(request.user),
            "can_import": ledger.key in ("resident", "organisation")
            and can(request.user, "people_import.create"),
        },
    )


def _tabs(key: str) -> list[dict[str, Any]]:
    """The places page's tabs (小区/楼院, 楼栋, 房屋) and the residents page's (居民, 户)."""
    group = (
        PLACE_KEYS
        if key in PLACE_KEYS
        else ["resident", "household"]
        if key in ("resident", "household")
        else []
    )
    return [
        {"key": k, "label": ledgers.get(k).title, "url": reverse(f"people:{k}_list"), "active": k == key}
        for k in group
    ]


def _detail_url(key: str, obj: Any) -> str:
    return reverse(f"people:{key}_detail", args=[obj.pk])


@login_required
def record_export(request: HttpRequest, key: str) -> HttpResponseBase:
    ledger = _ledger(key)
    require(request.user, ledger.export_action)
    filterset = _filterset(request, ledger)
    if filterset.form.is_bound and not filterset.is_valid():
        messages.error(request, _("筛选条件有误，请修改后再导出。"))
        return redirect(f"{reverse(f'people:{key}_list')}?{request.GET.urlencode()}")
    user = _actor(request)
    reveal = key == "resident" and request.GET.get("reveal") == "1"
    if reveal and not services.may_reveal(user):
        raise PermissionDenied("resident.reveal")
    queryset = filterset.qs.select_related(*ledger.related).order_by(*ledger.order)
    header = [str(c.label) for c in ledger.columns]
    rows = (_export_row(ledger, obj, user, reveal) for obj in queryset.iterator(chunk_size=ITERATOR_CHUNK))
    out, count = xlsx.build(str(ledger.title), header, rows)
    record_event(
        "people.export",
        actor=user,
        data={
            "ledger": key,
            "filters": {k: v for k, v in request.GET.lists() if k != "reveal"},
            "count": count,
            "revealed": reveal,
        },
        request=request,
    )
    return xlsx.response(out, f"{key}-{timezone.localtime():%Y%m%d-%H%M}.xlsx")


def _export_row(ledger: Ledger, obj: Any, user: User, reveal: bool) -> list[Any]:
    values = [c.value(obj) for c in ledger.columns]
    if reveal and isinstance(obj, Resident) and can(user, "resident.reveal", obj):
        id_number, phone = services.clear_values(obj)
        labels = [str(c.label) for c in ledger.columns]
        values[labels.index(str(_("身份证号")))] = id_number
        values[labels.index(str(_("联系电话")))] = phone
    return values


# ---------------------------------------------------------------------------------------------------------
# Detail pages


def _get(request: HttpRequest, ledger: Ledger, pk: int, action: str = "view") -> Any:
    qs = ledger.model.objects.visible_to(request.user, action)  # type: ignore[attr-defined]
    return get_object_or_404(qs.select_related(*ledger.related), pk=pk)


@login_required
def record_detail(request: HttpRequest, key: str, pk: int) -> HttpResponse:
    ledger = _ledger(key)
    require(request.user, ledger.view_action)
    if key == "resident":
        return resident_detail(request, pk)
    if key == "care":
        return care_detail(request, pk)
    obj = _get(request, ledger, pk)
    fields = [(c.label, c.value(obj)) for c in ledger.columns]
    return render(
        request,
        "people/detail.html",
        {
            "ledger": ledger,
            "obj": obj,
            "fields": fields,
            "sections": _sections(request.user, obj),
            "can_change": ledger.form is not None and can(request.user, ledger.change_action, obj),
            "history": obj.history.select_related("history_user").order_by("-history_date")[:10]
            if hasattr(obj, "history")
            else [],
        },
    )


def _link_list(
    user: Any,
    title: str,
    key: str,
    qs: models.QuerySet,
    add: dict[str, Any] | None = None,
    label: Any = str,
) -> dict[str, Any]:
    items = list(qs.visible_to(user)[:200])  # type: ignore[attr-defined]
    return {
        "title": title,
        "items": [(label(i), reverse(f"people:{key}_detail", args=[i.pk])) for i in items],
        "more": len(items) == 200,
        "add_url": (
            f"{reverse(f'people:{key}_create')}?{'&'.join(f'{k}={v}' for k, v in add.items())}"
            if add is not None and can(user, ledgers.get(key).change_action)
            else ""
        ),
    }


def _sections(user: Any, obj: Any) -> list[dict[str, Any]]:
    if isinstance(obj, Compound):
        return [
            _link_list(user, _("楼栋"), "building", obj.buildings.all(), {"compound": obj.pk}),
            _link_list(user, _("单位组织"), "organisation", obj.organisations.all()),
        ]
    if isinstance(obj, Building):
        return [
            _link_list(user, _("房屋"), "dwelling", obj.dwellings.all(), {"building": obj.pk}),
        ]
    if isinstance(obj, Dwelling):
        return [
            _link_list(user, _("户"), "household", obj.households.all(), {"dwelling": obj.pk}),
            _link_list(user, _("现住居民"), "resident", obj.residents.all(), {"dwelling": obj.pk}),
        ]
    if isinstance(obj, Household):
        members = obj.members.all().order_by("birth_date")
        return [
            _link_list(
                user,
                _("家庭成员"),
                "resident",
                members,
                {"household": obj.pk, "org_unit": obj.org_unit_id},
                label=lambda m: f"{m.name}（{m.get_relation_display() or _('未填关系')}）",
            )
        ]
    return []


@login_required
def resident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    ledger = ledgers.get("resident")
    resident = _get(request, ledger, pk)
    user = _actor(request)
    today = timezone.localdate()
    tag_items = list(
        ResidentTag.objects.filter(resident=resident)
        .select_related("tag")
        .order_by("tag__sort_order", "start")
    )
    care = list(resident.care.select_related("worker").order_by("-since"))
    return render(
        request,
        "people/resident_detail.html",
        {
            "ledger": ledger,
            "resident": resident,
            "age": resident.age_on(today),
            "derived_tags": [
                n
                for n in services.tags_on([resident], today)[resident.pk]
                if n not in {i.tag.name for i in tag_items}
            ],
            "tag_items": [(i, i.active_on(today)) for i in tag_items],
            "household": resident.household,
            "members": (
                list(resident.household.members.visible_to(user).exclude(pk=resident.pk))
                if resident.household_id
                else []
            ),
            "care": care,
            "can_change": can(user, "resident.change", resident),
            "can_reveal": services.may_reveal(user, resident),
            "can_add_care": can(user, "care.change", resident) and not any(c.until is None for c in care),
            "tag_form": TagForm(),
            "move_form": MoveOutForm(initial={"version": resident.version, "moved_out": today}),
            "care_form": CareForm(unit=resident.org_unit) if can(user, "care.change", resident) else None,
            "history": resident.history.select_related("history_user").order_by("-history_date")[:10],
        },
    )


@login_required
@require_POST
def resident_reveal(request: HttpRequest, pk: int, field: str) -> HttpResponse:
    """The clear value, for the reveal button (htmx swaps it in); logged as people.reveal."""
    if field not in ("id_number", "phone"):
        raise Http404()
    resident = _get(request, ledgers.get("resident"), pk)
    value = services.reveal(_actor(request), resident, field, request=request)
    return render(request, "people/_revealed.html", {"value": value, "field": field})


@login_required
@require_POST
def resident_tag(request: HttpRequest, pk: int) -> HttpResponse:
    resident = _get(request, ledgers.get("resident"), pk)
    form = TagForm(request.POST)
    if form.is_valid():
        try:
            services.add_tag(
                _actor(request),
                resident,
                form.cleaned_data["tag"],
                start=form.cleaned_data["start"],
                end=form.cleaned_data["end"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            _flash(request, exc.messages)
        else:
            messages.success(request, _("已添加标签。"))
    else:
        _flash_form(request, form)
    return redirect("people:resident_detail", resident.pk)


@login_required
@require_POST
def resident_tag_end(request: HttpRequest, pk: int, item: int) -> HttpResponse:
    resident = _get(request, ledgers.get("resident"), pk)
    tag_item = get_object_or_404(ResidentTag, resident=resident, pk=item)
    try:
        services.end_tag(_actor(request), tag_item, timezone.localdate())
    except ValidationError as exc:
        _flash(request, exc.messages)
    else:
        messages.success(request, _("标签已于今天结束。"))
    return redirect("people:resident_detail", resident.pk)


@login_required
@require_POST
def resident_move_out(request: HttpRequest, pk: int) -> HttpResponse:
    resident = _get(request, ledgers.get("resident"), pk)
    form = MoveOutForm(request.POST)
    if not form.is_valid():
        _flash_form(request, form)
        return redirect("people:resident_detail", resident.pk)
    try:
        services.move_out(
            _actor(request),
            resident,
            form.cleaned_data["moved_out"],
            form.cleaned_data["version"],
            note=form.cleaned_data["note"],
        )
    except ValidationError as exc:
        _flash(request, exc.messages)
    else:
        messages.success(request, _("已登记迁出。"))
    return redirect("people:resident_detail", resident.pk)


# ---------------------------------------------------------------------------------------------------------
# Create and edit


@login_required
def record_create(request: HttpRequest, key: str) -> HttpResponse:
    return _record_form(request, key, None)


@login_required
def record_edit(request: HttpRequest, key: str, pk: int) -> HttpResponse:
    return _record_form(request, key, pk)


def _record_form(request: HttpRequest, key: str, pk: int | None) -> HttpResponse:
    ledger = _ledger(key)
    if ledger.form is None:
        raise Http404()
    user = _actor(request)
    require(user, ledger.change_action)
    instance = _get(request, ledger, pk, "change") if pk is not None else ledger.model()
    fields = ledger.form._meta.fields or ()
    initial = {k: v for k, v in request.GET.items() if k in fields}
    form: RecordForm = ledger.form(request.POST or None, instance=instance, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if pk is None:
                obj = services.create(user, ledger.model, form.service_data())
            else:
                fresh = ledger.model._default_manager.get(pk=pk)
                obj = services.update(user, fresh, form.service_data(), form.cleaned_data.get("version"))
        except ValidationError as exc:
            _add_errors(form, exc)
        except PermissionDenied:
            form.add_error(None, _("您没有权限把记录放在所选的网格/社区。"))
        else:
            messages.success(request, _("已保存。"))
            return redirect(f"people:{key}_detail", obj.pk)
    return render(
        request,
        "people/form.html",
        {"ledger": ledger, "form": form, "obj": instance if pk is not None else None},
        status=400 if request.method == "POST" else 200,
    )


def _add_errors(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            for error in errors:
                form.add_error(name if name in form.fields else None, error)
    else:
        for message in exc.messages:
            form.add_error(None, message)


# ---------------------------------------------------------------------------------------------------------
# Care subjects and visits


@login_required
def care_detail(request: HttpRequest, pk: int) -> HttpResponse:
    ledger = ledgers.get("care")
    care = _get(request, ledger, pk)
    user = _actor(request)
    visits = list(care.visits.select_related("visitor").order_by("-visited_on", "-id")[:100])
    can_visit = can(user, "care.visit", care) and care.until is None
    return render(
        request,
        "people/care_detail.html",
        {
            "ledger": ledger,
            "care": care,
            "days": days_since_visit(care, timezone.localdate()),
            "overdue": care.until is None and care.due_at <= timezone.now(),
            "visits": visits,
            "visit_form": VisitForm() if can_visit else None,
            "edit_form": CareForm(instance=care, unit=care.org_unit)
            if can(user, "care.change", care)
            else None,
        },
    )


@login_required
@require_POST
def care_add(request: HttpRequest, pk: int) -> HttpResponse:
    resident = _get(request, ledgers.get("resident"), pk)
    user = _actor(request)
    form = CareForm(request.POST, unit=resident.org_unit)
    if form.is_valid():
        try:
            care = services.add_care(
                user,
                resident,
                reason=form.cleaned_data["reason"],
                visit_every_days=form.cleaned_data["visit_every_days"],
                worker=form.cleaned_data["worker"],
                since=form.cleaned_data["since"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            _flash(request, exc.messages)
        else:
            messages.success(request, _("已列为关爱对象。"))
            return redirect("people:care_detail", care.pk)
    else:
        _flash_form(request, form)
    return redirect("people:resident_detail", resident.pk)


@login_required
@require_POST
def care_edit(request: HttpRequest, pk: int) -> HttpResponse:
    care = _get(request, ledgers.get("care"), pk)
    form = CareForm(request.POST, instance=CareSubject.objects.get(pk=care.pk), unit=care.org_unit)
    if form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "version"}
        try:
            services.update_care(_actor(request), care, data, form.cleaned_data.get("version"))
        except ValidationError as exc:
            _flash(request, exc.messages)
        else:
            messages.success(request, _("已保存。"))
    else:
        _flash_form(request, form)
    return redirect("people:care_detail", care.pk)


@login_required
@require_POST
def care_visit(request: HttpRequest, pk: int) -> HttpResponse:
    care = _get(request, ledgers.get("care"), pk)
    form = VisitForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.record_visit(
                _actor(request),
                care,
                visited_on=form.cleaned_data["visited_on"],
                summary=form.cleaned_data["summary"],
                photo=form.cleaned_data.get("photo"),
            )
        except ValidationError as exc:
            _flash(request, exc.messages)
        else:
            messages.success(request, _("已记录走访。"))
    else:
        _flash_form(request, form)
    return redirect("people:care_detail", care.pk)


@login_required
def visit_photo(request: HttpRequest, pk: int) -> FileResponse:
    visit = get_object_or_404(Visit.objects.visible_to(request.user), pk=pk)
    if not visit.photo:
        raise Http404()
    try:
        handle = visit.photo.open("rb")
    except FileNotFoundError:
        raise Http404() from None
    content_type = mimetypes.guess_type(visit.photo.name or "")[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response
