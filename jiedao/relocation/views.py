"""The expropriation pages (/relocation/): projects, the household list with its filters and export, the
household page (stage pipeline, visit log, reminders, document folder), the progress board and the import.
Every read goes through `visible_to`; every write through `services`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jiedao.audit.services import record_event
from jiedao.core import xlsx
from jiedao.core.models import User
from jiedao.core.permissions import can, require
from jiedao.relocation import board as board_module
from jiedao.relocation import export, importer, rules, services
from jiedao.relocation.filters import HouseholdFilterSet, ProjectFilterSet, reminder_due_q
from jiedao.relocation.forms import (
    AdvanceForm,
    BackForm,
    DocumentKindForm,
    HouseholdForm,
    ImportForm,
    ProjectForm,
    ReminderForm,
    TeamForm,
    UploadForm,
    VisitForm,
    project_people,
)
from jiedao.relocation.models import (
    STAGE_ORDER,
    DocumentKind,
    ExpropriationHousehold,
    ExpropriationProject,
    HouseholdDocument,
    ReminderStatus,
    Stage,
    Team,
    VisitReminder,
    stage_index,
)

PER_PAGE = 50
STAGE_COLORS: dict[str, str] = {
    Stage.SURVEY: "secondary",
    Stage.VALUATION: "azure",
    Stage.NEGOTIATION: "orange",
    Stage.SIGNED: "green",
    Stage.VACATED: "teal",
    Stage.DEMOLISHED: "dark",
}
ATTITUDE_COLORS = {"support": "green", "waiting": "yellow", "resisting": "red"}


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _project_or_404(request: HttpRequest, pk: int) -> ExpropriationProject:
    return get_object_or_404(
        ExpropriationProject.objects.visible_to(request.user).select_related("org_unit", "leader"), pk=pk
    )


def _household_or_404(request: HttpRequest, pk: int) -> ExpropriationHousehold:
    return get_object_or_404(
        ExpropriationHousehold.objects.visible_to(request.user).select_related(
            "project__leader", "project__org_unit", "team__leader", "staff"
        ),
        pk=pk,
    )


def _error_text(exc: ValidationError) -> str:
    return "；".join(exc.messages)


def _to_form(form: forms.BaseForm, exc: ValidationError) -> None:
    """Put a service's refusal on the form: field messages on their fields (when the form has them)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


# ---------------------------------------------------------------------------------------------------------
# Projects


@login_required
def project_list(request: HttpRequest) -> HttpResponse:
    require(request.user, "relocation.view")
    filterset = ProjectFilterSet(
        request.GET or None,
        queryset=ExpropriationProject.objects.visible_to(request.user).select_related("org_unit", "leader"),
    )
    projects = list(
        filterset.qs.annotate(
            household_count=Count("households"),
            signed_count=Count("households", filter=Q(households__signed_on__isnull=False)),
            vacated_count=Count("households", filter=Q(households__vacated_on__isnull=False)),
        )
    )
    for project in projects:
        target = project.target_signed or project.household_count
        project.signed_rate = round(100 * project.signed_count / target) if target else 0
    return render(
        request,
        "relocation/project_list.html",
        {
            "projects": projects,
            "form": filterset.form,
            "can_create": can(request.user, "relocation.manage"),
        },
    )


@login_required
def project_create(request: HttpRequest) -> HttpResponse:
    require(request.user, "relocation.manage")
    actor = _actor(request)
    form = ProjectForm(request.POST or None, actor=actor)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            project = services.create_project(
                actor,
                org_unit=data["org_unit"],
                name=data["name"],
                leader=data["leader"],
                start_date=data["start_date"],
                target_date=data["target_date"],
                target_signed=data["target_signed"],
                target_vacated=data["target_vacated"],
                description=data["description"],
            )
        except ValidationError as exc:
            _to_form(form, exc)
        else:
            messages.success(request, _("已新建征收项目“%(name)s”。") % {"name": project.name})
            return redirect("relocation:project_detail", pk=project.pk)
    return render(
        request,
        "relocation/form.html",
        {"form": form, "title": _("新建征收项目"), "back": reverse("relocation:project_list")},
    )


@login_required
def project_edit(request: HttpRequest, pk: int) -> HttpResponse:
    project = _project_or_404(request, pk)
    actor = _actor(request)
    if not rules.may_manage(actor, project):
        raise PermissionDenied("relocation.manage")
    form = ProjectForm(
        request.POST or None, instance=ExpropriationProject.objects.get(pk=project.pk), actor=actor
    )
    if request.method == "POST" and form.is_valid():
        data = {k: form.cleaned_data[k] for k in services.PROJECT_FIELDS}
        try:
            services.update_project(actor, project, version=form.cleaned_data["version"], **data)
        except ValidationError as exc:
            _to_form(form, exc)
        else:
            messages.success(request, _("已保存。"))
            return redirect("relocation:project_detail", pk=project.pk)
    back = reverse("relocation:project_detail", kwargs={"pk": project.pk})
    return render(
        request,
        "relocation/form.html",
        {"form": form, "title": project.name, "back": back, "project": project},
    )


@login_required
def project_detail(request: HttpRequest, pk: int) -> HttpResponse:
    project = _project_or_404(request, pk)
    teams = list(
        Team.objects.filter(project=project)
        .select_related("leader")
        .prefetch_related("members")
        .annotate(household_count=Count("households"))
    )
    kinds = list(DocumentKind.objects.filter(project=project))
    stages = dict(
        ExpropriationHousehold.objects.filter(project=project)
        .values_list("stage")
        .annotate(n=Count("id"))
        .order_by()
    )
    user = request.user
    return render(
        request,
        "relocation/project_detail.html",
        {
            "project": project,
            "teams": teams,
            "kinds": kinds,
            "stages": [(s, stages.get(s.value, 0), STAGE_COLORS[s]) for s in Stage],
            "household_count": sum(stages.values()),
            "can_manage": rules.may_manage(user, project),
            "can_history": can(user, "history.view", project),
        },
    )


def _team_form_view(request: HttpRequest, project: ExpropriationProject, team: Team | None) -> HttpResponse:
    actor = _actor(request)
    if not rules.may_manage(actor, project):
        raise PermissionDenied("relocation.manage")
    initial = {}
    if team is not None:
        initial = {
            "name": team.name,
            "leader": team.leader_id,
            "members": list(team.members.values_list("pk", flat=True)),
            "sort_order": team.sort_order,
        }
    form = TeamForm(request.POST or None, actor=actor, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.save_team(
                actor,
                project,
                team=team,
                name=data["name"],
                leader=data["leader"],
                members=data["members"],
                sort_order=data["sort_order"],
            )
        except ValidationError as exc:
            _to_form(form, exc)
        else:
            messages.success(request, _("已保存工作组。"))
            return redirect("relocation:project_detail", pk=project.pk)
    title = team.name if team else _("新建工作组")
    back = reverse("relocation:project_detail", kwargs={"pk": project.pk})
    return render(
        request, "relocation/form.html", {"form": form, "title": title, "back": back, "project": project}
    )


@login_required
def team_create(request: HttpRequest, pk: int) -> HttpResponse:
    return _team_form_view(request, _project_or_404(request, pk), None)


@login_required
def team_edit(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(
        Team.objects.filter(project__in=ExpropriationProject.objects.visible_to(request.user)), pk=pk
    )
    return _team_form_view(request, _project_or_404(request, team.project_id), team)


def _kind_form_view(
    request: HttpRequest, project: ExpropriationProject, kind: DocumentKind | None
) -> HttpResponse:
    actor = _actor(request)
    if not rules.may_manage(actor, project):
        raise PermissionDenied("relocation.manage")
    initial = (
        {"name": kind.name, "required_stage": kind.required_stage, "sort_order": kind.sort_order}
        if kind
        else {}
    )
    form = DocumentKindForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_document_kind(actor, project, kind=kind, **form.cleaned_data)
        except ValidationError as exc:
            _to_form(form, exc)
        else:
            messages.success(request, _("已保存材料清单。"))
            return redirect("relocation:project_detail", pk=project.pk)
    title = kind.name if kind else _("新增材料项")
    back = reverse("relocation:project_detail", kwargs={"pk": project.pk})
    return render(
        request, "relocation/form.html", {"form": form, "title": title, "back": back, "project": project}
    )


@login_required
def kind_create(request: HttpRequest, pk: int) -> HttpResponse:
    return _kind_form_view(request, _project_or_404(request, pk), None)


@login_required
def kind_edit(request: HttpRequest, pk: int) -> HttpResponse:
    kind = get_object_or_404(
        DocumentKind.objects.filter(project__in=ExpropriationProject.objects.visible_to(request.user)), pk=pk
    )
    return _kind_form_view(request, _project_or_404(request, kind.project_id), kind)


# ---------------------------------------------------------------------------------------------------------
# Household list, export, import


def _filterset(request: HttpRequest, project: ExpropriationProject) -> HouseholdFilterSet:
    base = ExpropriationHousehold.objects.visible_to(request.user).filter(project=project)
    return HouseholdFilterSet(request.GET or None, queryset=base, request=request)


FILTER_FIELDS = ["q", "stage", "team", "staff", "attitude", "missing", "reminder_due", "reached"]


class OneOfSelect(forms.Select):
    """A single select for a multiple-choice filter (the API and the links may still send several)."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        getter = getattr(data, "getlist", None)
        return [v for v in getter(name) if v] if getter else data.get(name)


def _style_filters(form: forms.Form, project: ExpropriationProject) -> None:
    teams = [("", _("全部")), ("0", _("未分组"))] + [
        (str(t.pk), t.name) for t in Team.objects.filter(project=project)
    ]
    people = [("", _("全部")), ("0", _("未指定"))] + [(str(u.pk), str(u)) for u in project_people(project)]
    form.fields["team"].widget = forms.Select(choices=teams)
    form.fields["staff"].widget = forms.Select(choices=people)
    form.fields["leader"].widget = forms.HiddenInput()
    form.fields["stage"].widget = OneOfSelect(choices=[("", _("全部")), *Stage.choices])
    form.fields["team"].label = _("工作组")
    form.fields["staff"].label = _("包户人")
    for name in ("attitude", "missing", "reminder_due", "reached"):
        form.fields[name].empty_label = _("全部")  # type: ignore[attr-defined]
        field = form.fields[name]
        field.widget = forms.Select(choices=[("", _("全部")), *field.choices[1:]])  # type: ignore[attr-defined]
    for field in form.fields.values():
        widget = field.widget
        widget.attrs["class"] = "form-select" if isinstance(widget, forms.Select) else "form-control"
    form.fields["q"].widget.attrs["placeholder"] = _("户号、产权人或坐落")


LIST_COLUMNS = (
    *("id", "number", "owner_name", "phone_mask", "address", "area", "valuation", "stage", "attitude"),
    *("last_visit_on", "missing_documents", "signed_on", "vacated_on", "org_path", "project_id"),
    *("team__name", "staff__full_name", "staff__username", "staff__first_name", "staff__last_name"),
)


@login_required
def household_list(request: HttpRequest, pk: int) -> HttpResponse:
    project = _project_or_404(request, pk)
    filterset = _filterset(request, project)
    form = filterset.form
    _style_filters(form, project)
    queryset = (
        filterset.qs.select_related("team", "staff")
        .only(*LIST_COLUMNS)
        .annotate(due_now=reminder_due_q())
        .order_by("number")
    )
    page = Paginator(queryset, PER_PAGE).get_page(request.GET.get("page"))
    for household in page.object_list:
        household.stage_color = STAGE_COLORS.get(household.stage, "secondary")
        household.attitude_color = ATTITUDE_COLORS.get(household.attitude, "secondary")
    query = request.GET.copy()
    query.pop("page", None)
    extra = {k: v for k, v in request.GET.items() if k not in FILTER_FIELDS and k != "page" and v}
    return render(
        request,
        "relocation/household_list.html",
        {
            "project": project,
            "page": page,
            "form": form,
            "filter_fields": [form[name] for name in FILTER_FIELDS if name != "q"],
            "extra_filters": extra,
            "filtered": any(request.GET.get(name) for name in request.GET if name != "page"),
            "query": query.urlencode(),
            "can_export": can(request.user, "relocation.export", project),
            "can_manage": rules.may_manage(request.user, project),
        },
    )


@login_required
def household_export(request: HttpRequest, pk: int) -> HttpResponse | StreamingHttpResponse:
    project = _project_or_404(request, pk)
    require(request.user, "relocation.export", project)
    filterset = _filterset(request, project)
    if filterset.form.is_bound and not filterset.is_valid():
        messages.error(request, _("筛选条件有误，请修改后再导出。"))
        return redirect(
            f"{reverse('relocation:household_list', kwargs={'pk': pk})}?{request.GET.urlencode()}"
        )
    out, count = export.build(filterset.qs)
    record_event(
        "relocation.export",
        actor=request.user,
        obj=project,
        data={"filters": dict(request.GET.lists()), "count": count},
        request=request,
    )
    return xlsx.response(out, f"relocation-{project.pk}-{timezone.localtime():%Y%m%d-%H%M}.xlsx")


@login_required
def household_create(request: HttpRequest, pk: int) -> HttpResponse:
    project = _project_or_404(request, pk)
    actor = _actor(request)
    if not rules.may_manage(actor, project):
        raise PermissionDenied("relocation.manage")
    form = HouseholdForm(request.POST or None, project=project)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("version", None)
        try:
            household = services.create_household(actor, project, **data)
        except ValidationError as exc:
            _to_form(form, exc)
        else:
            messages.success(request, _("已登记 %(household)s。") % {"household": household})
            return redirect("relocation:household_detail", pk=household.pk)
    back = reverse("relocation:household_list", kwargs={"pk": project.pk})
    return render(
        request,
        "relocation/form.html",
        {"form": form, "title": _("登记被征收户"), "back": back, "project": project},
    )


@login_required
def import_households(request: HttpRequest, pk: int) -> HttpResponse:
    project = _project_or_404(request, pk)
    actor = _actor(request)
    if not rules.may_manage(actor, project):
        raise PermissionDenied("relocation.manage")
    form = ImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        result = importer.run(actor, project, upload, upload.name, commit=not form.cleaned_data["check_only"])
        if result.committed:
            messages.success(request, _("已导入 %(n)s 户。") % {"n": result.created})
            return redirect("relocation:household_list", pk=project.pk)
    return render(request, "relocation/import.html", {"project": project, "form": form, "result": result})


@login_required
def import_template(request: HttpRequest, pk: int) -> HttpResponse:
    project = _project_or_404(request, pk)
    if not rules.may_manage(request.user, project):
        raise PermissionDenied("relocation.manage")
    response = HttpResponse(importer.template(project), content_type=xlsx.XLSX_TYPE)
    response["Content-Disposition"] = 'attachment; filename="relocation-households-template.xlsx"'
    return response


# ---------------------------------------------------------------------------------------------------------
# The board


@login_required
def project_board(request: HttpRequest, pk: int) -> HttpResponse:
    project = _project_or_404(request, pk)
    day = timezone.localdate()
    data = board_module.build(project, day)
    return render(request, "relocation/board.html", {"project": project, "board": data})


# ---------------------------------------------------------------------------------------------------------
# The household page


def _detail(
    request: HttpRequest, household: ExpropriationHousehold, status: int = 200, **forms_: Any
) -> HttpResponse:
    user = request.user
    project = household.project
    kinds = list(DocumentKind.objects.filter(project=project))
    documents = list(household.documents.select_related("uploaded_by").order_by("uploaded_at", "id"))
    by_kind: dict[int, list[HouseholdDocument]] = {}
    for document in documents:
        by_kind.setdefault(document.kind_id, []).append(document)
    missing = {k.pk for k in services.missing_kinds(household, kinds)}
    checklist = [
        {
            "kind": kind,
            "documents": by_kind.get(kind.pk, []),
            "missing": kind.pk in missing,
            "required_label": Stage(kind.required_stage).label if kind.required_stage else "",
            "passed": bool(kind.required_stage)
            and stage_index(household.stage) >= stage_index(kind.required_stage),
        }
        for kind in kinds
    ]
    may_work = rules.may_work(user, household)
    may_back = rules.may_step_back(user, household) and household.stage != Stage.SURVEY
    target = services.next_stage(household.stage)
    refusal = services.refusal(user, household, kinds=kinds) if target else ""
    pipeline = []
    current_index = stage_index(household.stage)
    for index, stage in enumerate(STAGE_ORDER):
        pipeline.append(
            {
                "label": Stage(stage).label,
                "date": household.stage_date(stage),
                "state": "done" if index < current_index else "current" if index == current_index else "todo",
            }
        )
    reminders = list(
        household.reminders.select_related("assignee").filter(status=ReminderStatus.OPEN).order_by("due_at")
    )
    now = timezone.now()
    for reminder in reminders:
        reminder.is_due = reminder.due_at <= now  # type: ignore[attr-defined]
    context = {
        "household": household,
        "project": project,
        "stage_color": STAGE_COLORS.get(household.stage, "secondary"),
        "attitude_color": ATTITUDE_COLORS.get(household.attitude, "secondary"),
        "pipeline": pipeline,
        "next_stage": Stage(target).label if target else "",
        "refusal": refusal,
        "may_work": may_work,
        "may_back": may_back,
        "may_manage": rules.may_manage(user, project),
        "checklist": checklist,
        "missing_count": len(missing),
        "visits": household.visits.select_related("visitor").order_by("-visited_on", "-id")[:100],
        "reminders": reminders,
        "changes": household.stage_changes.select_related("actor")[:50],
        "can_history": can(user, "history.view", household),
        "advance_form": forms_.get("advance_form") or AdvanceForm(initial={"version": household.version}),
        "back_form": forms_.get("back_form")
        or BackForm(initial={"version": household.version}, stage=household.stage),
        "visit_form": forms_.get("visit_form") or VisitForm(),
        "reminder_form": forms_.get("reminder_form") or ReminderForm(project=project),
        "upload_form": forms_.get("upload_form") or UploadForm(project=project),
        "open_panel": forms_.get("open_panel", ""),
    }
    return render(request, "relocation/household_detail.html", context, status=status)


@login_required
def household_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _household_or_404(request, pk))


@login_required
def household_edit(request: HttpRequest, pk: int) -> HttpResponse:
    household = _household_or_404(request, pk)
    actor = _actor(request)
    project = household.project
    manager = rules.may_manage(actor, project)
    if not manager and not rules.may_work(actor, household):
        raise PermissionDenied("relocation.work")
    initial = {
        "number": household.number,
        "owner_name": household.owner_name,
        "address": household.address,
        "area": household.area,
        "valuation": household.valuation,
        "team": household.team_id,
        "staff": household.staff_id,
        "note": household.note,
        "version": household.version,
    }
    form = HouseholdForm(
        request.POST or None, project=project, household=household, manager=manager, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        data = {k: form.cleaned_data[k] for k in services.HOUSEHOLD_FIELDS}
        if not manager:
            data.pop("team")
            data.pop("staff")
        phone = form.cleaned_data["phone"] or None
        try:
            services.update_household(
                actor, household, version=form.cleaned_data["version"], phone=phone, **data
            )
        except ValidationError as exc:
            _to_form(form, exc)
        else:
            messages.success(request, _("已保存。"))
            return redirect("relocation:household_detail", pk=household.pk)
    back = reverse("relocation:household_detail", kwargs={"pk": household.pk})
    return render(
        request,
        "relocation/form.html",
        {"form": form, "title": str(household), "back": back, "project": project},
    )


def _post_action(
    request: HttpRequest,
    pk: int,
    make_form: Callable[[ExpropriationHousehold], forms.Form],
    act: Callable[[ExpropriationHousehold, forms.Form], str],
    form_key: str,
    allowed: Callable[[Any, ExpropriationHousehold], bool] = rules.may_work,
) -> HttpResponse:
    """A form posted from the household page: success redirects back with a message; an error shows the page
    again with the form as typed and its messages (status 400)."""
    household = _household_or_404(request, pk)
    if not allowed(request.user, household):
        raise PermissionDenied("relocation.work")
    form = make_form(household)
    if form.is_valid():
        try:
            message = act(household, form)
        except ValidationError as exc:
            _to_form(form, exc)
        else:
            messages.success(request, message)
            return redirect("relocation:household_detail", pk=household.pk)
    household = _household_or_404(request, pk)
    return _detail(request, household, status=400, **{form_key: form, "open_panel": form_key})


@login_required
@require_POST
def household_advance(request: HttpRequest, pk: int) -> HttpResponse:
    def act(household: ExpropriationHousehold, form: forms.Form) -> str:
        data = form.cleaned_data
        done = services.advance(_actor(request), household, version=data["version"], on=data["on"])
        return _("已进入“%(stage)s”。") % {"stage": done.get_stage_display()}

    return _post_action(request, pk, lambda h: AdvanceForm(request.POST), act, "advance_form")


@login_required
@require_POST
def household_back(request: HttpRequest, pk: int) -> HttpResponse:
    def act(household: ExpropriationHousehold, form: forms.Form) -> str:
        data = form.cleaned_data
        done = services.step_back(
            _actor(request),
            household,
            version=data["version"],
            to_stage=data["to_stage"],
            reason=data["reason"],
        )
        return _("已退回到“%(stage)s”。") % {"stage": done.get_stage_display()}

    return _post_action(
        request, pk, lambda h: BackForm(request.POST, stage=h.stage), act, "back_form", rules.may_step_back
    )


@login_required
@require_POST
def household_visit(request: HttpRequest, pk: int) -> HttpResponse:
    def act(household: ExpropriationHousehold, form: forms.Form) -> str:
        data = form.cleaned_data
        services.record_visit(
            _actor(request),
            household,
            visited_on=data["visited_on"],
            talk=data["talk"],
            attitude=data["attitude"],
            demands=data["demands"],
            next_step=data["next_step"],
            remind_on=data["remind_on"],
        )
        if data["remind_on"]:
            return _("已记录走访，并设好 %(date)s 的回访提醒。") % {"date": data["remind_on"].isoformat()}
        return _("已记录走访。")

    return _post_action(request, pk, lambda h: VisitForm(request.POST), act, "visit_form")


@login_required
@require_POST
def household_reminder(request: HttpRequest, pk: int) -> HttpResponse:
    def act(household: ExpropriationHousehold, form: forms.Form) -> str:
        data = form.cleaned_data
        services.set_reminder(
            _actor(request), household, due_on=data["due_on"], note=data["note"], assignee=data["assignee"]
        )
        return _("已设好 %(date)s 的回访提醒。") % {"date": data["due_on"].isoformat()}

    return _post_action(
        request, pk, lambda h: ReminderForm(request.POST, project=h.project), act, "reminder_form"
    )


@login_required
@require_POST
def household_upload(request: HttpRequest, pk: int) -> HttpResponse:
    def act(household: ExpropriationHousehold, form: forms.Form) -> str:
        assert isinstance(form, UploadForm)
        saved = services.upload_documents(_actor(request), household, form.cleaned_data["kind"], form.uploads)
        return _("已上传 %(n)s 个文件。") % {"n": len(saved)}

    return _post_action(
        request, pk, lambda h: UploadForm(request.POST, request.FILES, project=h.project), act, "upload_form"
    )


@login_required
@require_POST
def household_phone(request: HttpRequest, pk: int) -> HttpResponse:
    household = _household_or_404(request, pk)
    value = services.reveal_phone(_actor(request), household, request=request)
    return render(request, "relocation/_phone.html", {"value": value})


@login_required
@require_POST
def reminder_close(request: HttpRequest, pk: int) -> HttpResponse:
    reminder = get_object_or_404(VisitReminder.objects.visible_to(request.user), pk=pk)
    done = request.POST.get("done") == "1"
    try:
        services.close_reminder(_actor(request), reminder, done=done)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("已关闭提醒。"))
    return redirect("relocation:household_detail", pk=reminder.household_id)


def _document_or_404(request: HttpRequest, pk: int) -> HouseholdDocument:
    visible = ExpropriationHousehold.objects.visible_to(request.user)
    return get_object_or_404(
        HouseholdDocument.objects.filter(household__in=visible).select_related("household__project", "kind"),
        pk=pk,
    )


@login_required
def document_download(request: HttpRequest, pk: int) -> FileResponse:
    document = _document_or_404(request, pk)
    inline = document.content_type.startswith("image/") or document.content_type == "application/pdf"
    try:
        handle = document.file.open("rb")
    except FileNotFoundError:
        raise Http404() from None
    response = FileResponse(
        handle, as_attachment=not inline, filename=document.name, content_type=document.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
@require_POST
def document_delete(request: HttpRequest, pk: int) -> HttpResponse:
    document = _document_or_404(request, pk)
    household_id = document.household_id
    try:
        services.delete_document(_actor(request), document)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("已删除文件。"))
    return redirect("relocation:household_detail", pk=household_id)
