"""The audit trail pages: event list and detail, a record's history, chain verification."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_htmx.middleware import HtmxDetails

from jiedao.audit.filters import AuditEventFilterSet
from jiedao.audit.models import AuditEvent
from jiedao.audit.services import ChainCheck, Problem, has_root_scope, hash_verifies, verify_chain
from jiedao.core.permissions import can, require

EVENTS_PER_PAGE = 50
VERSIONS_PER_PAGE = 30
HISTORY_EVENTS_LIMIT = 100


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


@login_required
def event_list(request: HtmxHttpRequest) -> HttpResponse:
    require(request.user, "audit.view")
    events = AuditEvent.objects.visible_to(request.user).order_by("-seq")
    filterset = AuditEventFilterSet(request.GET or None, queryset=events)
    page = Paginator(filterset.qs, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filter": filterset,
        "page": page,
        "query": query.urlencode(),
        "can_verify": can(request.user, "audit.verify"),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "audit/_event_table.html", context)
    return render(request, "audit/event_list.html", context)


def _history_url(object_type: str, object_id: str) -> str:
    """Link to the record history of an event's object, when that model keeps history."""
    if not object_type or not object_id or "." not in object_type:
        return ""
    app_label, model_name = object_type.split(".", 1)
    try:
        model = apps.get_model(app_label, model_name)
    except LookupError:
        return ""
    if not _history_manager(model):
        return ""
    try:
        return reverse("audit:record_history", args=[app_label, model_name, object_id])
    except NoReverseMatch:
        return ""


def _shown(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, indent=2)
    if value is None:
        return "—"
    return str(value)


@login_required
def event_detail(request: HttpRequest, seq: int) -> HttpResponse:
    require(request.user, "audit.view")
    event = get_object_or_404(AuditEvent.objects.visible_to(request.user), seq=seq)
    data = event.data if isinstance(event.data, dict) else {"": event.data}
    rows = [(key, _shown(value)) for key, value in sorted(data.items())]
    return render(
        request,
        "audit/event_detail.html",
        {
            "event": event,
            "data_rows": rows,
            "verifies": hash_verifies(event),
            "history_url": _history_url(event.object_type, event.object_id),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def chain_verify(request: HtmxHttpRequest) -> HttpResponse:
    """Re-walk the whole chain on request (POST). This reads every event in the request: with millions of rows
    it takes tens of seconds; move it to a background task with a progress row when that starts to hurt."""
    require(request.user, "audit.verify")
    result = verify_chain() if request.method == "POST" else None
    template = "audit/_verify_result.html" if request.htmx else "audit/verify.html"
    return render(request, template, {"result": result, "problem": _problem_text(result)})


def _problem_text(result: ChainCheck | None) -> str:
    if result is None or result.ok:
        return ""
    values = {"seq": result.seq, "id": result.event_id if result.event_id is not None else "—"}
    if result.problem == Problem.MISSING_SEQ:
        values["missing"] = result.missing_seq
        return (
            _("序号 %(missing)s 的记录缺失（已被删除）；第一个受影响的记录：序号 %(seq)s，编号 %(id)s。")
            % values
        )
    if result.problem == Problem.HASH_MISMATCH:
        return _("序号 %(seq)s（编号 %(id)s）的记录内容与其哈希不符：该记录已被改动。") % values
    if result.problem == Problem.PREV_HASH_MISMATCH:
        return _("序号 %(seq)s（编号 %(id)s）的记录与前一条记录的哈希不衔接：链条在此处被替换。") % values
    return _("链头（序号 %(seq)s）与最后一条记录不符。") % values


# --- Record history ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class Version:
    record: Any
    kind: str  # "+" created, "~" changed, "-" deleted (simple-history's history_type)
    changes: list[Change]


def _history_manager(model: type[models.Model]) -> str | None:
    """The name of the model's simple-history manager ("history"), or None when it keeps no history."""
    name = getattr(model._meta, "simple_history_manager_attribute", None)
    if isinstance(name, str) and hasattr(model, name):
        return name
    return None


def _is_hidden(field_name: str) -> bool:
    return "password" in field_name.lower()


def _display(model: type[models.Model], field_name: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    try:
        field = model._meta.get_field(field_name)
    except FieldDoesNotExist:
        return str(value)
    choices = getattr(field, "flatchoices", None)
    if choices:
        return str(dict(choices).get(value, value))
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _verbose(model: type[models.Model], field_name: str) -> str:
    try:
        field = model._meta.get_field(field_name)
    except FieldDoesNotExist:
        return field_name
    return str(getattr(field, "verbose_name", field_name))


def _tracked_fields(record: Any) -> list[str]:
    return [f.name for f in record.instance_type._meta.fields if not _is_hidden(f.name)]


def _versions(model: type[models.Model], records: list[Any], older: Any) -> list[Version]:
    """Diffs between consecutive records, newest first; `older` is the record before the last one shown."""
    versions = []
    for index, record in enumerate(records):
        previous = records[index + 1] if index + 1 < len(records) else older
        hidden = [f.name for f in model._meta.fields if _is_hidden(f.name)]
        if previous is None:
            changes = [
                Change(_verbose(model, name), "—", _display(model, name, getattr(record, name, None)))
                for name in _tracked_fields(record)
                if name != model._meta.pk.name
            ]
        else:
            delta = record.diff_against(previous, excluded_fields=hidden, foreign_keys_are_objs=True)
            changes = [
                Change(
                    _verbose(model, change.field),
                    _display(model, change.field, change.old),
                    _display(model, change.field, change.new),
                )
                for change in delta.changes
                if not _is_hidden(change.field)
            ]
        versions.append(Version(record, record.history_type, changes))
    return versions


def _check_history_permission(user: Any, obj: models.Model) -> None:
    """Scoped records by their scope path; records belonging to no unit (users …) need district scope."""
    if isinstance(getattr(obj, "scope_path", None), str):
        require(user, "history.view", obj)
    elif not has_root_scope(user, "history.view"):
        raise PermissionDenied("history.view")


@login_required
def record_history(request: HttpRequest, app_label: str, model_name: str, pk: str) -> HttpResponse:
    try:
        model = apps.get_model(app_label, model_name)
    except (LookupError, ValueError):
        raise Http404 from None
    manager_name = _history_manager(model)
    if not manager_name:
        raise Http404
    try:
        obj = model._default_manager.get(pk=pk)
    except (model.DoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404 from None
    _check_history_permission(request.user, obj)

    history = (
        getattr(obj, manager_name).select_related("history_user").order_by("-history_date", "-history_id")
    )
    paginator = Paginator(history, VERSIONS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    records = list(page.object_list)
    older = history[page.end_index()] if page.has_next() else None
    events = (
        AuditEvent.objects.visible_to(request.user).for_object(obj).order_by("-seq")[:HISTORY_EVENTS_LIMIT]
    )
    return render(
        request,
        "audit/record_history.html",
        {
            "obj": obj,
            "model_name": model._meta.verbose_name,
            "object_type": model._meta.label_lower,
            "versions": _versions(model, records, older),
            "page": page,
            "events": list(events),
            "events_limit": HISTORY_EVENTS_LIMIT,
        },
    )
