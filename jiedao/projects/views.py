"""The projects module's pages (/projects/): the portfolio (项目总览) and 我分包的项目, its .xlsx export, the
project page (map, investment chart and running totals, milestones, problems, progress notes, attachments,
meetings, supervised matters, history) with the small forms that change it, and the meetings with their
decisions. Reads go through `visible_to`; writes through `services`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
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
from jiedao.projects import portfolio, services
from jiedao.projects.filters import MeetingFilterSet, ProjectFilterSet
from jiedao.projects.forms import (
    AttachmentForm,
    DecisionForm,
    InvestmentForm,
    MeetingForm,
    MilestoneForm,
    NoteForm,
    ProblemForm,
    ProjectForm,
    SolveForm,
    leaders_for,
)
from jiedao.projects.history import project_history
from jiedao.projects.models import (
    Attachment,
    Decision,
    KeyProject,
    Meeting,
    Milestone,
    Problem,
    ProblemStatus,
)
from jiedao.supervision.models import SupervisedMatter
from jiedao.supervision.rules import may_supervise

PER_PAGE = 50
ITERATOR_CHUNK = 500
FILTER_FIELDS = ["q", "kind", "stage", "flag", "unit", "leader"]


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _flash(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def _unit_choices(user: Any) -> list[tuple[str, str]]:
    units = (
        OrgUnit.objects.visible_to(user)
        .filter(
            is_active=True,
            kind__in=[OrgUnit.Kind.SUBDISTRICT, OrgUnit.Kind.COMMUNITY, OrgUnit.Kind.VILLAGE],
        )
        .values_list("code", "name", "kind")[:300]
    )
    return [("", _("全部"))] + [
        (code, name if kind == OrgUnit.Kind.SUBDISTRICT else f"　{name}") for code, name, kind in units
    ]


def _leader_choices(user: Any) -> list[tuple[str, str]]:
    """The leaders attached in the user's scope (a project's 分包领导 is one of them)."""
    leaders = leaders_for(user).values_list("username", "full_name")
    return [("", _("全部"))] + [(username, name or username) for username, name in leaders]


def _style_filters(form: Any, user: Any) -> None:
    for name, field in form.fields.items():
        if name == "unit":
            field.widget = QuickSelect(choices=_unit_choices(user))
        elif name == "leader":
            field.widget = QuickSelect(choices=_leader_choices(user))
        elif hasattr(field, "choices"):
            choices = [(v, label) for v, label in field.choices if v != ""]
            field.widget = QuickSelect(choices=[("", _("全部")), *choices])
        if isinstance(field.widget, QuickSelect):
            field.widget.attrs["class"] = "form-select"
        else:
            field.widget.attrs.setdefault("class", "form-control")


def _project_filterset(request: HttpRequest, mine: bool = False) -> ProjectFilterSet:
    data = request.GET.copy()
    if mine:
        data["mine"] = "true"
    base = KeyProject.objects.visible_to(request.user)
    return ProjectFilterSet(data or None, queryset=base, request=request)


def _project_or_404(request: HttpRequest, pk: int, action: str = "project.view") -> KeyProject:
    project = get_object_or_404(
        KeyProject.objects.visible_to(request.user).select_related("org_unit", "leader"), pk=pk
    )
    require(request.user, action, project)
    return project


# ---------------------------------------------------------------------------------------------------------
# Portfolio


@login_required
def project_list(request: HttpRequest, mine: bool = False) -> HttpResponse:
    require(request.user, "project.view")
    filterset = _project_filterset(request, mine)
    form = filterset.form
    _style_filters(form, request.user)
    queryset = KeyProject.objects.none() if filterset.is_bound and not filterset.is_valid() else filterset.qs
    now = timezone.now()
    figures = portfolio.summary(queryset, now)
    # The page's ids in order first (one cheap indexed query), then the figures for those 50 only.
    order = queryset.annotate(is_stalled=portfolio.stalled_flag(now)).order_by(
        "-is_stalled", "org_path", "name"
    )
    paginator = Paginator(order.values_list("pk", flat=True), PER_PAGE)
    paginator.count = figures.total  # known from the tiles' query
    page = paginator.get_page(request.GET.get("page"))
    ids = list(page.object_list)
    found = {
        p.pk: p
        for p in portfolio.annotate(KeyProject.objects.filter(pk__in=ids), now).select_related(
            "org_unit", "leader"
        )
    }
    projects = [found[pk] for pk in ids if pk in found]
    for project in projects:
        project.rate = portfolio.rate(project.completed_to_date, project.planned_to_date)
    page.object_list = projects
    query = request.GET.copy()
    query.pop("page", None)
    flag_query = request.GET.copy()
    flag_query.pop("page", None)
    flag_query.pop("flag", None)
    return render(
        request,
        "projects/project_list.html",
        {
            "page": page,
            "form": form,
            "filter_fields": [form[name] for name in FILTER_FIELDS],
            "filtered": any(request.GET.get(name) for name in FILTER_FIELDS),
            "query": query.urlencode(),
            "flag_query": flag_query.urlencode(),
            "figures": figures,
            "mine": mine,
            "detail_prefix": reverse("projects:project_list"),
            "can_create": can(request.user, "project.change"),
            "can_export": can(request.user, "project.export"),
        },
    )


@login_required
def my_projects(request: HttpRequest) -> HttpResponse:
    return project_list(request, mine=True)


def _export_columns() -> list[tuple[str, Callable[[Any], Any]]]:
    return [
        (_("项目名称"), lambda p: p.name),
        (_("项目编号"), lambda p: p.code),
        (_("项目类型"), lambda p: p.get_kind_display()),
        (_("阶段"), lambda p: p.get_stage_display()),
        (_("所在单位"), lambda p: p.org_unit.name),
        (_("项目地址"), lambda p: p.address),
        (_("业主单位"), lambda p: p.owner_company),
        (_("分包领导"), lambda p: (p.leader.full_name or p.leader.username) if p.leader else ""),
        (_("计划总投资 (万元)"), lambda p: p.total_investment),
        (_("截至本月计划 (万元)"), lambda p: p.planned_to_date),
        (_("累计完成 (万元)"), lambda p: p.completed_to_date),
        (_("完成率 (%)"), lambda p: portfolio.rate(p.completed_to_date, p.planned_to_date)),
        (_("滞后节点"), lambda p: p.late_count),
        (_("未解决问题"), lambda p: p.open_problems),
        (_("超期问题"), lambda p: p.overdue_problems),
        (_("在办督办事项"), lambda p: p.open_matters),
        (_("超期督办事项"), lambda p: p.overdue_matters),
        (_("停滞"), lambda p: _("是") if p.is_stalled else ""),
        (
            _("最近进展时间"),
            lambda p: (
                timezone.localtime(p.last_progress_at).replace(tzinfo=None) if p.last_progress_at else None
            ),
        ),
    ]


@login_required
def project_export(request: HttpRequest) -> HttpResponseBase:
    require(request.user, "project.export")
    filterset = _project_filterset(request)
    if filterset.is_bound and not filterset.is_valid():
        messages.error(request, _("筛选条件有误，请修改后再导出。"))
        return redirect(f"{reverse('projects:project_list')}?{request.GET.urlencode()}")
    user = _actor(request)
    columns = _export_columns()
    queryset = (
        portfolio.annotate(filterset.qs).select_related("org_unit", "leader").order_by("org_path", "name")
    )
    rows = ([value(p) for _label, value in columns] for p in queryset.iterator(chunk_size=ITERATOR_CHUNK))
    out, count = xlsx.build(_("重点项目台账"), [label for label, _value in columns], rows)
    record_event(
        "projects.export",
        actor=user,
        data={"filters": dict(request.GET.lists()), "count": count},
        request=request,
    )
    return xlsx.response(out, f"projects-{timezone.localtime():%Y%m%d-%H%M}.xlsx")


# ---------------------------------------------------------------------------------------------------------
# One project


def _map_data(project: KeyProject) -> dict[str, Any] | None:
    point = [float(project.latitude), float(project.longitude)] if project.has_point else None  # type: ignore[arg-type]
    boundary = project.org_unit.boundary or None
    if point is None and boundary is None:
        return None
    return {"point": point, "boundary": boundary, "label": project.address or project.name}


def _chart(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def num(v: Decimal) -> float:
        return float(v)

    return {
        "categories": [f"{r['month']:%Y-%m}" for r in rows],
        "unit": "",
        "series": [
            {"name": _("月度计划"), "type": "bar", "data": [num(r["planned"]) for r in rows]},
            {"name": _("月度完成"), "type": "bar", "data": [num(r["completed"]) for r in rows]},
            {"name": _("累计计划"), "type": "line", "data": [num(r["planned_total"]) for r in rows]},
            {"name": _("累计完成"), "type": "line", "data": [num(r["completed_total"]) for r in rows]},
        ],
    }


def _matters(project: KeyProject, user: Any) -> list[SupervisedMatter]:
    return list(SupervisedMatter.objects.visible_to(user).filter(project=project).order_by("deadline")[:50])


@login_required
def project_detail(request: HttpRequest, pk: int) -> HttpResponse:
    project = _project_or_404(request, pk)
    user = _actor(request)
    today = timezone.localdate()
    investments = services.running_totals(project.investments.all())
    milestones = list(project.milestones.all())
    for m in milestones:
        m.late = m.is_late(today)  # type: ignore[attr-defined]
    problems = list(project.problems.select_related("owner", "owner_department"))
    for p in problems:
        p.overdue = p.is_overdue(today)  # type: ignore[attr-defined]
        p.may_solve = p.status == ProblemStatus.OPEN and (  # type: ignore[attr-defined]
            can(user, "project.change", project) or p.owner_id == user.pk
        )
    annotated: Any = portfolio.annotate(KeyProject.objects.filter(pk=project.pk)).get()
    total = investments[-1] if investments else None
    return render(
        request,
        "projects/project_detail.html",
        {
            "project": project,
            "figures": annotated,
            "rate": portfolio.rate(annotated.completed_to_date, annotated.planned_to_date),
            "total_rate": portfolio.rate(annotated.completed_to_date, project.total_investment),
            "investments": investments,
            "investment_total": total,
            "chart": _chart(investments),
            "milestones": milestones,
            "problems": problems,
            "notes": list(project.notes.select_related("author")[:20]),
            "attachments": list(project.attachments.filter(is_removed=False).select_related("uploaded_by")),
            "meetings": list(project.meetings.visible_to(user).order_by("-date")[:10]),
            "matters": _matters(project, user),
            "departments": list(project.departments.all()),
            "units": list(project.units.all()),
            "history": project_history(project, limit=30),
            "map_data": _map_data(project),
            "can_change": can(user, "project.change", project),
            "can_progress": can(user, "project.progress", project),
            "can_history": can(user, "history.view", project),
            "can_meeting": can(user, "meeting.change"),
            "note_form": NoteForm(),
            "investment_form": InvestmentForm(),
        },
    )


@login_required
def project_create(request: HttpRequest) -> HttpResponse:
    require(request.user, "project.change")
    user = _actor(request)
    form = ProjectForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            project = services.create_project(user, form.service_data())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("已新建重点项目“%(name)s”。") % {"name": project.name})
            return redirect("projects:project_detail", pk=project.pk)
    return render(request, "projects/project_form.html", {"form": form, "project": None})


@login_required
def project_edit(request: HttpRequest, pk: int) -> HttpResponse:
    project = _project_or_404(request, pk, "project.change")
    user = _actor(request)
    form = ProjectForm(request.POST or None, instance=project, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_project(user, project, form.service_data(), form.cleaned_data.get("version"))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("已保存。"))
            return redirect("projects:project_detail", pk=project.pk)
    return render(request, "projects/project_form.html", {"form": form, "project": project})


def _child_page(
    request: HttpRequest,
    project: KeyProject,
    form: Any,
    title: str,
    save: Callable[[], Any],
    anchor: str,
    done: str,
) -> HttpResponse:
    """A small form of the project page on a page of its own: shown again with what was typed on an error."""
    if request.method == "POST" and form.is_valid():
        try:
            save()
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, done)
            return redirect(reverse("projects:project_detail", args=[project.pk]) + f"#{anchor}")
    return render(
        request,
        "projects/child_form.html",
        {
            "form": form,
            "project": project,
            "title": title,
            "anchor": anchor,
            "multipart": "file" in form.fields,
        },
    )


@login_required
def investment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    project = _project_or_404(request, pk, "project.change")
    initial: dict[str, Any] = {}
    month = request.GET.get("month")
    wanted = _month(month) if month else None
    if wanted is not None:
        entry = project.investments.filter(month=wanted).first()
        if entry:
            initial = {
                "month": entry.month,
                "planned": entry.planned,
                "completed": entry.completed,
                "note": entry.note,
            }
    form = InvestmentForm(request.POST or None, initial=initial)

    def save() -> Any:
        d = form.cleaned_data
        return services.set_investment(
            _actor(request), project, d["month"], d["planned"], d["completed"], d["note"]
        )

    return _child_page(request, project, form, _("填报月度投资"), save, "investment", _("已保存月度投资。"))


def _month(value: str) -> date | None:
    try:
        return date.fromisoformat(value[:7] + "-01")
    except ValueError:
        return None


@login_required
def milestone_edit(request: HttpRequest, pk: int, milestone_pk: int | None = None) -> HttpResponse:
    project = _project_or_404(request, pk, "project.change")
    milestone = get_object_or_404(Milestone, pk=milestone_pk, project=project) if milestone_pk else None
    form = MilestoneForm(request.POST or None, instance=milestone)

    def save() -> Any:
        return services.save_milestone(_actor(request), project, form.cleaned_data, milestone)

    title = _("修改节点") if milestone else _("新增节点")
    return _child_page(request, project, form, title, save, "milestones", _("已保存节点。"))


@login_required
def problem_create(request: HttpRequest, pk: int) -> HttpResponse:
    project = _project_or_404(request, pk, "project.change")
    user = _actor(request)
    form = ProblemForm(request.POST or None, user=user)

    def save() -> Any:
        d = form.cleaned_data
        return services.add_problem(
            user,
            project,
            description=d["description"],
            owner=d["owner"],
            due_date=d["due_date"],
            owner_department=d.get("owner_department"),
        )

    return _child_page(
        request, project, form, _("新增问题"), save, "problems", _("已新增问题，并提醒责任人。")
    )


@login_required
def problem_edit(request: HttpRequest, pk: int, problem_pk: int) -> HttpResponse:
    project = _project_or_404(request, pk)
    problem = get_object_or_404(Problem, pk=problem_pk, project=project)
    user = _actor(request)
    keeper = can(user, "project.change", project)
    if not keeper and problem.owner_id != user.pk:
        raise PermissionDenied("project.change")
    form: Any
    if keeper:
        form = ProblemForm(request.POST or None, instance=problem, user=user)
        form.fields["status"] = SolveForm.base_fields["status"]
        form.fields["solution"] = SolveForm.base_fields["solution"]
        if not form.is_bound:
            form.initial.update(
                {"version": problem.version, "status": problem.status, "solution": problem.solution}
            )
    else:
        form = SolveForm(
            request.POST or None,
            initial={"version": problem.version, "status": problem.status, "solution": problem.solution},
        )

    def save() -> Any:
        data = dict(form.cleaned_data)
        version = data.pop("version", None)
        return services.update_problem(user, problem, data, version)

    return _child_page(request, project, form, _("处理问题"), save, "problems", _("已保存问题。"))


@login_required
def note_create(request: HttpRequest, pk: int) -> HttpResponse:
    project = _project_or_404(request, pk, "project.progress")
    form = NoteForm(request.POST or None)

    def save() -> Any:
        return services.add_note(_actor(request), project, form.cleaned_data["text"])

    return _child_page(request, project, form, _("填报进展"), save, "notes", _("已填报进展。"))


@login_required
def attachment_create(request: HttpRequest, pk: int) -> HttpResponse:
    project = _project_or_404(request, pk, "project.change")
    form = AttachmentForm(request.POST or None, request.FILES or None)

    def save() -> Any:
        return services.add_attachment(
            _actor(request), project, form.cleaned_data["file"], form.cleaned_data["description"]
        )

    return _child_page(request, project, form, _("上传附件"), save, "attachments", _("已上传附件。"))


@login_required
def attachment_download(request: HttpRequest, pk: int, attachment_pk: int) -> FileResponse:
    project = _project_or_404(request, pk)
    item = get_object_or_404(Attachment, pk=attachment_pk, project=project, is_removed=False)
    try:
        handle = item.file.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404() from None
    return FileResponse(
        handle, as_attachment=True, filename=item.name, content_type=item.content_type or None
    )


@login_required
@require_POST
def attachment_remove(request: HttpRequest, pk: int, attachment_pk: int) -> HttpResponse:
    project = _project_or_404(request, pk, "project.change")
    item = get_object_or_404(Attachment, pk=attachment_pk, project=project)
    services.remove_attachment(_actor(request), item)
    messages.success(request, _("已删除附件“%(name)s”。") % {"name": item.name})
    return redirect(reverse("projects:project_detail", args=[project.pk]) + "#attachments")


# ---------------------------------------------------------------------------------------------------------
# Meetings


def _meeting_or_404(request: HttpRequest, pk: int, action: str = "meeting.view") -> Meeting:
    meeting = get_object_or_404(
        Meeting.objects.visible_to(request.user).select_related("org_unit", "project", "chair"), pk=pk
    )
    require(request.user, action, meeting)
    return meeting


@login_required
def meeting_list(request: HttpRequest) -> HttpResponse:
    require(request.user, "meeting.view")
    base = Meeting.objects.visible_to(request.user)
    filterset = MeetingFilterSet(request.GET or None, queryset=base, request=request)
    form = filterset.form
    _style_filters(form, request.user)
    for name in ("date_from", "date_to"):
        form.fields[name].widget.input_type = "date"
    queryset = filterset.qs if not filterset.is_bound or filterset.is_valid() else base.none()
    queryset = queryset.select_related("project", "org_unit").prefetch_related(
        Prefetch("decisions", queryset=Decision.objects.only("id", "meeting_id"))
    )
    page = Paginator(queryset.order_by("-date", "-id"), PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    fields = ["q", "kind", "date_from", "date_to"]
    return render(
        request,
        "projects/meeting_list.html",
        {
            "page": page,
            "filter_fields": [form[name] for name in fields],
            "filtered": any(request.GET.get(name) for name in fields),
            "query": query.urlencode(),
            "can_create": can(request.user, "meeting.change"),
        },
    )


@login_required
def meeting_detail(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = _meeting_or_404(request, pk)
    user = _actor(request)
    decisions = list(meeting.decisions.select_related("owner_unit", "matter"))
    expected = list(meeting.expected.all())
    present = list(meeting.present.all())
    present_ids = {u.pk for u in present}
    return render(
        request,
        "projects/meeting_detail.html",
        {
            "meeting": meeting,
            "decisions": decisions,
            "expected": expected,
            "present": present,
            "absent": [u for u in expected if u.pk not in present_ids],
            "can_change": can(user, "meeting.change", meeting),
            "can_supervise": may_supervise(user, meeting),  # type: ignore[arg-type]
            "can_history": can(user, "history.view", meeting),
        },
    )


@login_required
def meeting_create(request: HttpRequest) -> HttpResponse:
    require(request.user, "meeting.change")
    user = _actor(request)
    initial: dict[str, Any] = {"date": timezone.localdate()}
    project_pk = request.GET.get("project")
    if project_pk and project_pk.isdigit():
        project = KeyProject.objects.visible_to(user).filter(pk=int(project_pk)).first()
        if project is not None:
            initial.update({"project": project, "title": _("%(name)s推进例会") % {"name": project.name}})
    form = MeetingForm(request.POST or None, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            meeting = services.create_meeting(user, form.service_data())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("已新建例会，请录入议定事项。"))
            return redirect("projects:meeting_detail", pk=meeting.pk)
    return render(request, "projects/meeting_form.html", {"form": form, "meeting": None})


@login_required
def meeting_edit(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = _meeting_or_404(request, pk, "meeting.change")
    user = _actor(request)
    form = MeetingForm(request.POST or None, instance=meeting, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_meeting(user, meeting, form.service_data(), form.cleaned_data.get("version"))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("已保存。"))
            return redirect("projects:meeting_detail", pk=meeting.pk)
    return render(request, "projects/meeting_form.html", {"form": form, "meeting": meeting})


@login_required
def decision_edit(request: HttpRequest, pk: int, decision_pk: int | None = None) -> HttpResponse:
    meeting = _meeting_or_404(request, pk, "meeting.change")
    user = _actor(request)
    decision = get_object_or_404(Decision, pk=decision_pk, meeting=meeting) if decision_pk else None
    form = DecisionForm(request.POST or None, instance=decision, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_decision(user, meeting, form.cleaned_data, decision)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("已保存议定事项。"))
            return redirect(reverse("projects:meeting_detail", args=[meeting.pk]) + "#decisions")
    return render(
        request,
        "projects/decision_form.html",
        {"form": form, "meeting": meeting, "decision": decision},
    )


@login_required
@require_POST
def decision_delete(request: HttpRequest, pk: int, decision_pk: int) -> HttpResponse:
    meeting = _meeting_or_404(request, pk, "meeting.change")
    decision = get_object_or_404(Decision, pk=decision_pk, meeting=meeting)
    try:
        services.delete_decision(_actor(request), decision)
    except ValidationError as exc:
        _flash(request, exc)
    else:
        messages.success(request, _("已删除议定事项。"))
    return redirect(reverse("projects:meeting_detail", args=[meeting.pk]) + "#decisions")
