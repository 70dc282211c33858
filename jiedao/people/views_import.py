"""The people import's pages (/people/imports/…): the list of one's imports, the upload, the column mapping
screen, the progress of the dry run and of the commit (polled by htmx), the results with every row's errors
and their workbook, 确认导入, and the templates.

Who: uploading, checking and committing need "people_import.create" on the target unit; an import is seen by
the person who uploaded it (within their scope), nobody else: its file holds the ledger's personal data. The
work itself runs in the task worker (`jiedao.people.tasks`)."""

from __future__ import annotations

import secrets
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jiedao.core.models import User
from jiedao.core.permissions import can, require
from jiedao.core.sheets import SheetFileError
from jiedao.people import importer, tasks
from jiedao.people.forms_import import MappingForm, UploadForm
from jiedao.people.models import (
    Building,
    Compound,
    Dwelling,
    Entrance,
    Household,
    ImportKind,
    ImportStatus,
    PeopleImport,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ERRORS_PER_PAGE = 100
SAMPLE_SHOWN = 5
PLACE_MODELS = (Compound, Building, Entrance, Dwelling, Household)


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _import_of(request: HttpRequest, token: str) -> PeopleImport:
    """The user's own import (within their scope); 404 for anyone else's."""
    user = _actor(request)
    found = (
        PeopleImport.objects.visible_to(user, "view")
        .select_related("org_unit", "created_by")
        .filter(token=token)
        .first()
    )
    if found is None or (found.created_by_id != user.pk and not user.is_superuser):
        raise Http404
    return found


@login_required
@require_GET
def import_list(request: HttpRequest) -> HttpResponse:
    user = _actor(request)
    require(user, "people_import.view")
    imports = (
        PeopleImport.objects.visible_to(user, "view")
        .filter(created_by=user)
        .select_related("org_unit")
        .order_by("-created_at")
    )
    page = Paginator(imports, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "people/import_list.html",
        {"page": page, "can_create": can(user, "people_import.create"), "kinds": ImportKind.choices},
    )


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    user = _actor(request)
    require(user, "people_import.create")
    form = UploadForm(request.POST or None, request.FILES or None, user=user)
    if request.method == "POST" and form.is_valid():
        unit = form.cleaned_data["unit"]
        require(user, "people_import.create", unit)
        upload = form.cleaned_data["file"]
        imp = PeopleImport(
            token=secrets.token_hex(16),
            kind=form.cleaned_data["kind"],
            org_unit=unit,
            filename=Path(str(upload.name)).name[:200],
            created_by=user,
        )
        imp.file.save(_stored_name(imp.filename), upload, save=False)
        try:
            analysis = importer.analyse(imp.file.path, imp.kind, count=False, name=imp.filename)
        except SheetFileError as exc:
            imp.file.delete(save=False)
            form.add_error("file", str(exc))
        else:
            imp.header_row = analysis.header_row
            imp.headers = analysis.headers
            imp.mapping = {str(col): name for col, name in analysis.mapping.items()}
            imp.total = analysis.total
            imp.save()
            return redirect("people:import_detail", token=imp.token)
    return render(request, "people/import_upload.html", {"form": form})


def _stored_name(filename: str) -> str:
    """The upload's name on disk: its suffix kept, the rest neutral (no personal data in paths)."""
    return f"upload{Path(filename).suffix.lower()}"


@login_required
@require_GET
def import_detail(request: HttpRequest, token: str) -> HttpResponse:
    imp = _import_of(request, token)
    if imp.status == ImportStatus.UPLOADED or (
        request.GET.get("mapping") and imp.status in (ImportStatus.CHECKED, ImportStatus.FAILED)
    ):
        return _mapping_page(request, imp, None)
    errors = Paginator(imp.errors, ERRORS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "people/import_detail.html",
        {
            "imp": imp,
            "errors": errors,
            "counts": imp.counts or {},
            "has_error_file": imp.error_count > 0 and default_storage.exists(tasks.errors_file_name(imp)),
            "can_commit": imp.status == ImportStatus.CHECKED and imp.error_count == 0 and imp.total > 0,
            "mapped": _mapped_labels(imp),
            "places": _places(imp.counts or {}),
        },
    )


def _places(counts: dict[str, object]) -> list[tuple[str, object]]:
    """(what, how many) of the places and households the import makes (or made)."""
    made = counts.get("places") or {}
    assert isinstance(made, dict)
    return [
        (str(m._meta.verbose_name), made[m._meta.model_name])
        for m in PLACE_MODELS
        if made.get(m._meta.model_name)
    ]


def _mapped_labels(imp: PeopleImport) -> list[tuple[str, str]]:
    """(header in the file, field) of the columns the import reads."""
    labels = {f.name: str(f.label) for f in importer.fields_for(imp.kind)}
    headers = list(imp.headers or [])
    return [
        (headers[int(col)] if int(col) < len(headers) else "", labels.get(str(name), str(name)))
        for col, name in sorted(imp.mapping.items(), key=lambda item: int(item[0]))
    ]


def _mapping_page(request: HttpRequest, imp: PeopleImport, form: MappingForm | None) -> HttpResponse:
    try:
        analysis = importer.analyse(imp.file.path, imp.kind, count=False, name=imp.filename)
    except (SheetFileError, FileNotFoundError):
        messages.error(request, _("上传的文件已无法读取，请重新上传。"))
        return redirect("people:import_list")
    current = {int(col): str(name) for col, name in imp.mapping.items()}
    if form is None:
        form = MappingForm(kind=imp.kind, headers=analysis.headers, mapping=current)
    return render(
        request,
        "people/import_mapping.html",
        {
            "imp": imp,
            "form": form,
            "analysis": analysis,
            "columns": [
                (field, [row[col] if col < len(row) else "" for row in analysis.sample[:SAMPLE_SHOWN]])
                for col, field in form.columns()
            ],
            "sample_count": min(len(analysis.sample), SAMPLE_SHOWN),
        },
    )


@login_required
@require_POST
def import_check(request: HttpRequest, token: str) -> HttpResponse:
    """检查: save the column mapping and start the dry run."""
    imp = _import_of(request, token)
    require(_actor(request), "people_import.create", imp)
    headers = list(imp.headers or [])
    form = MappingForm(
        request.POST,
        kind=imp.kind,
        headers=headers,
        mapping={int(col): str(name) for col, name in imp.mapping.items()},
    )
    if not form.is_valid():
        return _mapping_page(request, imp, form)
    if not tasks.start_check(imp, form.cleaned_mapping):
        messages.info(request, _("这次导入正在处理或已经完成。"))
    return redirect("people:import_detail", token=imp.token)


@login_required
@require_POST
def import_commit(request: HttpRequest, token: str) -> HttpResponse:
    """确认导入: start the commit once; a second click (or a click after it finished) does nothing."""
    imp = _import_of(request, token)
    require(_actor(request), "people_import.create", imp)
    if not tasks.start_commit(imp):
        messages.info(request, _("这次导入已经开始或已经完成，没有再次导入。"))
    return redirect("people:import_detail", token=imp.token)


@login_required
@require_GET
def import_progress(request: HttpRequest, token: str) -> HttpResponse:
    """The progress bar, polled every second while a step runs; once it is over, htmx reloads the page."""
    imp = _import_of(request, token)
    if not getattr(request, "htmx", False):
        return redirect("people:import_detail", token=imp.token)
    response = render(request, "people/import_progress.html", {"imp": imp})
    if not imp.running:
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_GET
def import_errors(request: HttpRequest, token: str) -> FileResponse:
    """The dry run's error workbook: the file's columns, 原表行号 and 错误, for every row with an error."""
    imp = _import_of(request, token)
    name = tasks.errors_file_name(imp)
    if imp.error_count == 0 or not default_storage.exists(name):
        raise Http404
    stem = Path(imp.filename).stem
    return FileResponse(
        default_storage.open(name, "rb"),
        as_attachment=True,
        filename=_("%(name)s-错误行.xlsx") % {"name": stem},
        content_type=XLSX,
    )


@login_required
@require_GET
def import_template(request: HttpRequest, kind: str) -> HttpResponse:
    user = _actor(request)
    if not can(user, "people_import.create"):
        raise PermissionDenied("people_import.create")
    if kind not in ImportKind.values:
        raise Http404
    response = HttpResponse(importer.template_bytes(kind), content_type=XLSX)
    filename = "residents-template.xlsx" if kind == ImportKind.RESIDENTS else "organisations-template.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def detail_url(imp: PeopleImport) -> str:
    return reverse("people:import_detail", kwargs={"token": imp.token})
