"""Getting cases in: the staff intake form (电话/来信/来访/12345), likely duplicates while typing, the grid
worker's phone report, and the import of 12345 transfer orders from Excel."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from jiedao.audit.services import client_ip, record_event
from jiedao.cases import duplicates, importer, rules, services
from jiedao.cases.forms_intake import (
    ImportUploadForm,
    IntakeForm,
    ReportForm,
    creatable_units,
    extra_inputs,
    leaf_categories,
)
from jiedao.cases.models import Case, Category, Channel, Status
from jiedao.cases.uploads import CheckedUpload, check_uploads
from jiedao.core.models import OrgUnit, User
from jiedao.core.permissions import can, require

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IMPORT_SESSION_KEY = "case_import"
IMPORT_DONE_KEY = "case_import_done"
IMPORT_MAX_AGE_SECONDS = 24 * 3600


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _case_url(case: Case) -> str:
    return f"/cases/{case.number}/"


def _uploads(request: HttpRequest) -> tuple[list[CheckedUpload], list[str], bool]:
    """Check the posted photos and files: (checked uploads, error messages, whether any were chosen)."""
    photos = request.FILES.getlist("photos")
    files = request.FILES.getlist("files")
    try:
        return check_uploads(photos, files), [], bool(photos or files)
    except ValidationError as exc:
        return [], list(exc.messages), True


def _create_from_form(
    request: HttpRequest,
    form: forms.Form,
    build: Callable[[dict[str, Any], list[CheckedUpload]], Case],
    denied: tuple[str | None, str],
) -> tuple[Case | None, list[str], bool]:
    """On a POST, check the form and the uploads, then make the case with `build(cleaned_data, uploads)`;
    refusals become form errors (`denied`: the field and message for a PermissionDenied). Returns the case (or
    None), the upload errors, and whether chosen files were lost (they must be chosen again)."""
    if request.method != "POST":
        return None, [], False
    uploads, upload_errors, had_files = _uploads(request)
    if form.is_valid() and not upload_errors:
        try:
            return build(form.cleaned_data, uploads), [], False
        except PermissionDenied:
            form.add_error(denied[0], denied[1])
        except ValidationError as exc:
            form.add_error(None, exc)
    return None, upload_errors, had_files


def _refusal_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "；".join(exc.messages)
    text = str(exc)
    return text if text and not re.fullmatch(r"[a-z_]+\.[a-z_]+", text) else _("您没有执行该操作的权限。")


# ---------------------------------------------------------------------------------------------------------
# Staff intake


@login_required
def intake(request: HttpRequest) -> HttpResponse:
    user = _actor(request)
    require(user, "case.create")
    form = IntakeForm(request.POST or None, user=user)

    def build(data: dict[str, Any], uploads: list[CheckedUpload]) -> Case:
        return services.create_case(
            user,
            channel=data["channel"],
            category=data["category"],
            org_unit=data["org_unit"],
            title=data["title"],
            description=data["description"],
            priority=data["priority"],
            confidential=data["confidential"],
            extra=data.get("extra") or {},
            address=data["address"],
            longitude=data["longitude"],
            latitude=data["latitude"],
            requester_name=data["requester_name"],
            requester_phone=data["requester_phone"],
            anonymous=data["anonymous"],
            petition_type=data["petition_type"],
            accused_unit=data["accused_unit"],
            accused_department=data["accused_department"],
            same_facts_as=data["same_facts_number"],
            leader_in_charge=data["leader_in_charge"],
            uploads=uploads,
            idempotency_key=f"intake:{user.pk}:{data['idempotency_key']}",
            submit_ip=client_ip(request),
            accept=bool(data.get("accept")),
        )

    denied = (None, _("您不能在所选地点登记工单，或不能在该地点直接受理。"))
    case, upload_errors, files_lost = _create_from_form(request, form, build, denied)
    if case is not None:
        data = form.cleaned_data
        if case.status == Status.NOT_ACCEPTED:
            messages.warning(request, case.reply)
        else:
            messages.success(request, _("已登记工单 %(n)s。") % {"n": case.number})
        _after_intake(request, user, case, data.get("similar_case"), data.get("similar_action", ""))
        return redirect(_case_url(case))
    category = form.chosen_category()
    return render(
        request,
        "cases/intake.html",
        {
            "form": form,
            "extra_inputs": extra_inputs(category, request.POST if request.method == "POST" else None),
            "upload_errors": upload_errors,
            "files_lost": files_lost,
            "selected_similar": form.data.get("similar_case", "") if form.is_bound else "",
        },
    )


def _after_intake(request: HttpRequest, user: User, case: Case, target: Case | None, action: str) -> None:
    """合并/关联 chosen on the intake form, in the same request. A refusal keeps the new case and says why."""
    if target is None or not action or target.pk == case.pk:
        return
    if case.steps.filter(action__in=["merge", "link"]).exists():  # a double submit: already done
        return
    case.refresh_from_db()
    try:
        if action == "merge":
            reason = rules.refusal(user, case, "merge")
            if reason is not None:
                raise PermissionDenied(reason)
            services.merge(user, case, version=case.version, into=target)
            messages.info(request, _("已并入工单 %(n)s。") % {"n": target.number})
        else:
            services.link(user, case, target)
            messages.info(request, _("已与工单 %(n)s 关联。") % {"n": target.number})
    except (PermissionDenied, ValidationError) as exc:
        messages.warning(
            request,
            _("工单 %(new)s 已登记，但未能与 %(other)s 合并或关联：%(reason)s")
            % {"new": case.number, "other": target.number, "reason": _refusal_text(exc)},
        )


@login_required
@require_GET
def intake_fields(request: HttpRequest) -> HttpResponse:
    """The chosen category's extra fields (htmx partial)."""
    require(request.user, "case.create")
    code = request.GET.get("category", "")
    category = next((c for c in leaf_categories() if c.code == code), None)
    return render(request, "cases/intake_fields.html", {"extra_inputs": extra_inputs(category)})


# ---------------------------------------------------------------------------------------------------------
# Likely duplicates


def _similar_groups(
    user: User,
    category: Category,
    unit: OrgUnit,
    text: str,
    address: str,
    exclude_pk: int | None = None,
) -> dict[str, Any]:
    visible = Case.objects.visible_to(user)
    return {
        "similar": duplicates.find_similar(category, unit, text, exclude_pk=exclude_pk, queryset=visible),
        "recurrent": duplicates.recurrence(category, unit, address, exclude_pk=exclude_pk, queryset=visible),
    }


@login_required
@require_GET
def similar(request: HttpRequest) -> HttpResponse:
    """Similar open cases and earlier closed ones at the place, while the intake form is typed (htmx)."""
    user = _actor(request)
    require(user, "case.create")
    params = request.GET
    category = next((c for c in leaf_categories() if c.code == params.get("category", "")), None)
    unit_id = params.get("org_unit") or params.get("grid") or ""
    unit = None
    if unit_id:
        units = creatable_units(user)
        unit = units.filter(pk=unit_id).first() if unit_id.isdigit() else units.filter(code=unit_id).first()
    context: dict[str, Any] = {"mode": "intake", "selected": params.get("similar_case", ""), "ready": False}
    if category is not None and unit is not None:
        text = f"{params.get('title', '')} {params.get('description', '')}"
        context.update(_similar_groups(user, category, unit, text, params.get("address", "")))
        context["ready"] = True
    return render(request, "cases/_similar.html", context)


@login_required
@require_GET
def case_similar(request: HttpRequest, number: str) -> HttpResponse:
    """The same two groups for an existing case, with one-click 合并 and 关联 (htmx)."""
    user = _actor(request)
    case = get_object_or_404(
        Case.objects.visible_to(user).select_related("category", "org_unit"), number=number
    )
    context = _similar_groups(
        user, case.category, case.org_unit, f"{case.title} {case.description}", case.address, case.pk
    )
    context.update(
        {
            "mode": "case",
            "case": case,
            "ready": True,
            "can_merge": rules.refusal(user, case, "merge") is None,
            "can_link": can(user, "case.comment", case),
        }
    )
    return render(request, "cases/_similar.html", context)


@login_required
@require_POST
def case_link(request: HttpRequest, number: str) -> HttpResponse:
    user = _actor(request)
    case = get_object_or_404(Case.objects.visible_to(user), number=number)
    other = Case.objects.visible_to(user).filter(number=request.POST.get("other", "").strip()).first()
    if other is None:
        messages.error(request, _("找不到要关联的工单。"))
        return redirect(_case_url(case))
    try:
        services.link(user, case, other, note=request.POST.get("note", "").strip()[:500])
    except ValidationError as exc:
        messages.error(request, _refusal_text(exc))
    else:
        messages.success(request, _("已与工单 %(n)s 关联。") % {"n": other.number})
    return redirect(_case_url(case))


# ---------------------------------------------------------------------------------------------------------
# Grid worker's report


@login_required
def report(request: HttpRequest) -> HttpResponse:
    user = _actor(request)
    require(user, "case.create")
    form = ReportForm(request.POST or None, user=user)

    def build(data: dict[str, Any], uploads: list[CheckedUpload]) -> Case:
        return services.create_case(
            user,
            channel=Channel.GRID,
            category=data["category"],
            org_unit=data["grid"],
            description=data["description"],
            priority=data["priority"],
            extra=data.get("extra") or {},
            address=data["address"],
            longitude=data["longitude"],
            latitude=data["latitude"],
            uploads=uploads,
            idempotency_key=f"report:{user.pk}:{data['idempotency_key']}",
            submit_ip=client_ip(request),
        )

    denied = ("grid", _("只能上报您自己负责的网格内的问题。"))
    case, upload_errors, files_lost = _create_from_form(request, form, build, denied)
    if case is not None:
        messages.success(request, _("已上报，工单编号 %(n)s。") % {"n": case.number})
        return redirect(f"{request.path}?done={case.number}")
    done = None
    if request.method == "GET" and request.GET.get("done"):
        done = Case.objects.visible_to(user).filter(number=request.GET["done"]).first()
    return render(
        request,
        "cases/report.html",
        {
            "form": form,
            "extra_inputs": extra_inputs(
                form.chosen_category(), request.POST if request.method == "POST" else None
            ),
            "upload_errors": upload_errors,
            "files_lost": files_lost,
            "done": done,
            "has_grid": bool(form.grids),
        },
    )


# ---------------------------------------------------------------------------------------------------------
# Import of 12345 transfer orders


def _import_dir() -> Path:
    folder = Path(settings.MEDIA_ROOT) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _pending_path(request: HttpRequest) -> tuple[Path, dict[str, Any]] | None:
    pending = request.session.get(IMPORT_SESSION_KEY)
    if not isinstance(pending, dict) or not re.fullmatch(r"[0-9a-f]{32}", str(pending.get("token", ""))):
        return None
    file = _import_dir() / f"{pending['token']}.xlsx"
    return (file, pending) if file.exists() else None


def _drop_old_imports() -> None:
    cutoff = time.time() - IMPORT_MAX_AGE_SECONDS
    for old in _import_dir().glob("*.xlsx"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            continue


def _preview(
    request: HttpRequest, checked: importer.Checked, name: str, token: str, error: str = ""
) -> HttpResponse:
    return render(
        request,
        "cases/import_preview.html",
        {
            "checked": checked,
            "name": name,
            "token": token,
            "error": error,
            "total": len(checked.rows),
            "ok_count": len(checked.rows) - len(checked.error_rows),
            "error_count": len(checked.error_rows),
            "shown_rows": checked.rows[:200],
            "headers": checked.sheet.headers,
        },
    )


@login_required
def import_cases(request: HttpRequest) -> HttpResponse:
    user = _actor(request)
    require(user, "case.import")
    if request.method == "POST" and request.POST.get("action") == "commit":
        return _import_commit(request, user)
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        _drop_old_imports()
        token = secrets.token_hex(16)
        target = _import_dir() / f"{token}.xlsx"
        with target.open("wb") as out:
            for chunk in form.cleaned_data["file"].chunks():
                out.write(chunk)
        name = str(form.cleaned_data["file"].name)[:200]
        try:
            sheet = importer.parse_workbook(target)
        except importer.ImportFileError as exc:
            target.unlink(missing_ok=True)
            form.add_error("file", str(exc))
        else:
            old = _pending_path(request)
            if old is not None:
                old[0].unlink(missing_ok=True)
            request.session[IMPORT_SESSION_KEY] = {"token": token, "name": name}
            return _preview(request, importer.validate(sheet, user), name, token)
    done = request.session.pop(IMPORT_DONE_KEY, None) if request.method == "GET" else None
    done_cases = (
        list(Case.objects.visible_to(user).filter(number__in=done).order_by("number")) if done else []
    )
    return render(request, "cases/import.html", {"form": form, "done_cases": done_cases})


def _import_commit(request: HttpRequest, user: User) -> HttpResponse:
    found = _pending_path(request)
    if found is None or request.POST.get("token") != found[1]["token"]:
        messages.warning(request, _("这次导入已经完成或已过期，请重新上传文件。"))
        return redirect("cases:import")
    file, pending = found
    try:
        checked = importer.validate(importer.parse_workbook(file), user)
    except importer.ImportFileError as exc:
        messages.error(request, str(exc))
        return redirect("cases:import")
    if not checked.ok:
        return _preview(
            request, checked, pending["name"], pending["token"], _("文件中还有错误，未导入任何数据。")
        )
    try:
        with transaction.atomic():
            created = importer.commit(checked, user)
            record_event(
                "case.import",
                actor=user,
                org_path=importer.common_path([c.org_path for c in created]),
                data={
                    "file": pending["name"],
                    "rows": len(checked.rows),
                    "created": len(created),
                    "numbers": [c.number for c in created[:100]],
                },
                request=request,
            )
    except ValidationError as exc:
        return _preview(request, checked, pending["name"], pending["token"], _refusal_text(exc))
    file.unlink(missing_ok=True)
    request.session.pop(IMPORT_SESSION_KEY, None)
    request.session[IMPORT_DONE_KEY] = [c.number for c in created[:500]]
    messages.success(request, _("已导入 %(n)s 件转办工单。") % {"n": len(created)})
    return redirect("cases:import")


@login_required
@require_GET
def import_template(request: HttpRequest) -> HttpResponse:
    require(request.user, "case.import")
    response = HttpResponse(importer.template_bytes(), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="case-import-template.xlsx"'
    return response


@login_required
@require_GET
def import_errors(request: HttpRequest) -> HttpResponse:
    """The rows of the uploaded file that have errors, with an 错误 column."""
    user = _actor(request)
    require(user, "case.import")
    found = _pending_path(request)
    if found is None:
        raise Http404
    try:
        checked = importer.validate(importer.parse_workbook(found[0]), user)
    except importer.ImportFileError:
        raise Http404 from None
    response = HttpResponse(importer.errors_bytes(checked), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="case-import-errors.xlsx"'
    return response


urlpatterns = [
    path("new/", intake, name="intake"),
    path("new/fields/", intake_fields, name="intake_fields"),
    path("new/similar/", similar, name="similar"),
    path("report/", report, name="report"),
    path("import/", import_cases, name="import"),
    path("import/template.xlsx", import_template, name="import_template"),
    path("import/errors.xlsx", import_errors, name="import_errors"),
    path("<str:number>/similar/", case_similar, name="case_similar"),
    path("<str:number>/link/", case_link, name="case_link"),
]
