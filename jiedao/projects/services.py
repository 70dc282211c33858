"""Every change to a key project or a meeting goes through these functions: the acting user's permission on
the record's unit, a transaction holding the project (or meeting) row, the version the user saw where two
people may edit the same form, history (django-simple-history, with the acting user), an audit event, and
notifications after commit.

Progress (an investment entry with money completed, a milestone reached, a progress note) moves the
project's stall clock (`KeyProject.mark_progress`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.audit.services import record_event
from jiedao.cases.uploads import check_file
from jiedao.core.concurrency import DOUBLE_SUBMIT_SECONDS, ConflictError
from jiedao.core.deadlines import schedule_reminder
from jiedao.core.models import Department, OrgUnit, Reminder, User
from jiedao.core.models.deadlines import DueState
from jiedao.core.permissions import can, require
from jiedao.notifications.services import notify
from jiedao.projects.models import (
    Attachment,
    Decision,
    InvestmentEntry,
    KeyProject,
    Meeting,
    Milestone,
    Problem,
    ProblemStatus,
    ProgressNote,
    first_of_month,
)
from jiedao.supervision.models import SupervisedMatter

#: When on its due date a problem's reminder goes to its owner (local time).
REMINDER_TIME = time(9, 0)
#: The same create by the same person within this many seconds is a double submit: the first record is kept.

PROJECT_FIELDS = (
    "name",
    "code",
    "kind",
    "owner_company",
    "org_unit",
    "address",
    "longitude",
    "latitude",
    "stage",
    "leader",
    "total_investment",
    "start_date",
    "planned_completion",
    "description",
    "is_active",
)
MEETING_FIELDS = ("title", "kind", "date", "location", "org_unit", "project", "chair", "minutes")


def _value(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, date | datetime | Decimal):
        return str(value)
    return value


def _snapshot(obj: models.Model, names: Iterable[str]) -> dict[str, Any]:
    return {name: _value(getattr(obj, name)) for name in names}


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def _ids(values: Iterable[models.Model] | None) -> list[int]:
    return sorted(int(v.pk) for v in values or [])


def _check_conflict(current: Any, version: int | None) -> None:
    if version is not None and version != current.version:
        raise ConflictError(
            _("“%(name)s”已被他人修改（您看的是第 %(mine)s 版，现为第 %(now)s 版），请刷新后重试。")
            % {"name": current, "mine": version, "now": current.version}
        )


def _locked(project: KeyProject) -> KeyProject:
    return KeyProject.objects.select_for_update().get(pk=project.pk)


# ---------------------------------------------------------------------------------------------------------
# Projects


def _check_project(project: KeyProject) -> None:
    if not (project.name or "").strip():
        raise ValidationError(_("请填写项目名称。"))
    if (project.longitude is None) != (project.latitude is None):
        raise ValidationError(_("经度和纬度要么都填，要么都不填。"))
    if project.start_date and project.planned_completion and project.planned_completion < project.start_date:
        raise ValidationError(_("计划竣工日期不能早于开工日期。"))
    if project.total_investment is not None and project.total_investment < 0:
        raise ValidationError(_("计划总投资不能为负数。"))
    clash = KeyProject.objects.filter(org_unit=project.org_unit, name=project.name.strip())
    if project.pk:
        clash = clash.exclude(pk=project.pk)
    if clash.exists():
        raise ValidationError(_("本单位已有名为“%(name)s”的重点项目。") % {"name": project.name})


def create_project(actor: User, data: dict[str, Any]) -> KeyProject:
    data = dict(data)
    departments = data.pop("departments", None)
    units = data.pop("units", None)
    org_unit = data.get("org_unit")
    if not isinstance(org_unit, OrgUnit):
        raise ValidationError(_("请选择项目所在的街道或社区。"))
    require(actor, "project.change", org_unit)
    with transaction.atomic():
        recent = KeyProject.objects.filter(
            org_unit=org_unit,
            name=(data.get("name") or "").strip(),
            created_at__gte=timezone.now() - timedelta(seconds=DOUBLE_SUBMIT_SECONDS),
        ).first()
        if recent is not None and recent.history.filter(history_user=actor, history_type="+").exists():
            return recent  # the same form sent twice
        project = KeyProject()
        for name in PROJECT_FIELDS:
            if name in data:
                setattr(project, name, data[name])
        project.name = project.name.strip()
        _check_project(project)
        project.mark_progress()
        project._history_user = actor  # type: ignore[attr-defined]
        try:
            with transaction.atomic():
                project.save()
        except IntegrityError:
            raise ValidationError(
                _("本单位已有名为“%(name)s”的重点项目。") % {"name": project.name}
            ) from None
        if departments is not None:
            project.departments.set(departments)
        if units is not None:
            project.units.set(units)
        record_event(
            "projects.create",
            actor=actor,
            obj=project,
            data={
                "values": _snapshot(project, PROJECT_FIELDS),
                "departments": _ids(departments),
                "units": _ids(units),
            },
        )
        _notify_leader(actor, project, None)
    return project


def update_project(actor: User, project: KeyProject, data: dict[str, Any], version: int | None) -> KeyProject:
    """`version`: what the user's form showed."""
    data = dict(data)
    departments = data.pop("departments", None)
    units = data.pop("units", None)
    with transaction.atomic():
        current = _locked(project)
        require(actor, "project.change", current)
        _check_conflict(current, version)
        before = _snapshot(current, PROJECT_FIELDS)
        before_links = {"departments": _ids(current.departments.all()), "units": _ids(current.units.all())}
        old_leader = current.leader_id
        old_kind = current.kind
        for name in PROJECT_FIELDS:
            if name in data:
                setattr(current, name, data[name])
        current.name = current.name.strip()
        current.org_path = current.org_unit.path
        require(actor, "project.change", current)  # a move must land inside the actor's scope too
        _check_project(current)
        if current.kind != old_kind and current.last_progress_at:
            current.mark_progress(current.last_progress_at)
        current.version += 1
        current._history_user = actor  # type: ignore[attr-defined]
        current.save()
        if departments is not None:
            current.departments.set(departments)
        if units is not None:
            current.units.set(units)
        after_links = {"departments": _ids(current.departments.all()), "units": _ids(current.units.all())}
        changes = _changes(before, _snapshot(current, PROJECT_FIELDS))
        changes.update(_changes(before_links, after_links))
        record_event("projects.change", actor=actor, obj=current, data={"changes": changes})
        if current.leader_id != old_leader:
            _notify_leader(actor, current, old_leader)
    project.refresh_from_db()
    return project


def _notify_leader(actor: User, project: KeyProject, old_leader: int | None) -> None:
    if project.leader_id is None or project.leader_id == actor.pk:
        return
    leader = project.leader
    assert leader is not None
    url = reverse("projects:project_detail", args=[project.pk])
    transaction.on_commit(
        lambda: notify(
            [leader],
            title=_("您已被确定为“%(name)s”的分包领导") % {"name": project.name},
            url=url,
            kind="projects.leader",
            actor=actor,
        )
    )


def _touch(project: KeyProject, actor: User, when: datetime | None = None) -> None:
    """Record progress on the (locked) project: the stall clock moves; the version stays (open forms stay
    valid)."""
    project.mark_progress(when)
    KeyProject.objects.filter(pk=project.pk).update(
        last_progress_at=project.last_progress_at, stalled_after=project.stalled_after
    )


# ---------------------------------------------------------------------------------------------------------
# Investment


def set_investment(
    actor: User,
    project: KeyProject,
    month: date,
    planned: Decimal,
    completed: Decimal,
    note: str = "",
) -> InvestmentEntry:
    """Enter (or correct) one month's planned and completed investment. Money completed counts as progress."""
    month = first_of_month(month)
    if planned < 0 or completed < 0:
        raise ValidationError(_("投资额不能为负数。"))
    if month > first_of_month(timezone.localdate()) and completed > 0:
        raise ValidationError(_("不能填报未来月份的完成投资。"))
    with transaction.atomic():
        current = _locked(project)
        require(actor, "project.change", current)
        entry = InvestmentEntry.objects.filter(project=current, month=month).first()
        before = {"planned": str(entry.planned), "completed": str(entry.completed)} if entry else {}
        if entry is None:
            entry = InvestmentEntry(project=current, month=month)
        progressed = completed > (entry.completed or Decimal("0"))
        entry.planned = planned
        entry.completed = completed
        entry.note = note.strip()[:200]
        entry.recorded_by = actor
        entry._history_user = actor  # type: ignore[attr-defined]
        entry.save()
        if progressed:
            _touch(current, actor)
        record_event(
            "projects.investment",
            actor=actor,
            obj=current,
            data={
                "month": f"{month:%Y-%m}",
                "before": before,
                "after": {"planned": str(planned), "completed": str(completed)},
            },
        )
    return entry


def running_totals(entries: Iterable[InvestmentEntry]) -> list[dict[str, Any]]:
    """Month by month: planned, completed, their running totals and completed as a share of planned so far."""
    rows: list[dict[str, Any]] = []
    planned_sum = Decimal("0")
    completed_sum = Decimal("0")
    for entry in sorted(entries, key=lambda e: e.month):
        planned_sum += entry.planned
        completed_sum += entry.completed
        rate = (completed_sum / planned_sum * 100).quantize(Decimal("0.1")) if planned_sum else None
        rows.append(
            {
                "entry": entry,
                "month": entry.month,
                "planned": entry.planned,
                "completed": entry.completed,
                "planned_total": planned_sum,
                "completed_total": completed_sum,
                "rate": rate,
            }
        )
    return rows


# ---------------------------------------------------------------------------------------------------------
# Milestones


def save_milestone(
    actor: User, project: KeyProject, data: dict[str, Any], milestone: Milestone | None = None
) -> Milestone:
    """Add a milestone or change one; setting its actual date (reached) counts as progress."""
    with transaction.atomic():
        current = _locked(project)
        require(actor, "project.change", current)
        if milestone is not None and milestone.project_id != current.pk:
            raise PermissionDenied("project.change")
        item = milestone or Milestone(project=current)
        before = _snapshot(item, ("name", "planned_date", "actual_date")) if milestone else {}
        was_done = milestone is not None and milestone.actual_date is not None
        for name in ("name", "planned_date", "actual_date", "note", "sort_order"):
            if name in data:
                setattr(item, name, data[name])
        if not (item.name or "").strip():
            raise ValidationError(_("请填写节点名称。"))
        if item.planned_date is None:
            raise ValidationError(_("请填写计划日期。"))
        if item.actual_date and item.actual_date > timezone.localdate():
            raise ValidationError(_("实际完成日期不能晚于今天。"))
        item._history_user = actor  # type: ignore[attr-defined]
        item.save()
        if item.actual_date and not was_done:
            _touch(current, actor)
        record_event(
            "projects.milestone",
            actor=actor,
            obj=current,
            data={
                "milestone": item.pk,
                "changes": _changes(before, _snapshot(item, ("name", "planned_date", "actual_date"))),
            },
        )
    return item


# ---------------------------------------------------------------------------------------------------------
# Progress notes


def add_note(actor: User, project: KeyProject, text: str) -> ProgressNote:
    text = (text or "").strip()
    if not text:
        raise ValidationError(_("请填写进展情况。"))
    with transaction.atomic():
        current = _locked(project)
        require(actor, "project.progress", current)
        recent = ProgressNote.objects.filter(
            project=current,
            author=actor,
            text=text,
            created_at__gte=timezone.now() - timedelta(seconds=DOUBLE_SUBMIT_SECONDS),
        ).first()
        if recent is not None:
            return recent
        note = ProgressNote(project=current, author=actor, text=text)
        note._history_user = actor  # type: ignore[attr-defined]
        note.save()
        _touch(current, actor, note.created_at)
        record_event("projects.note", actor=actor, obj=current, data={"note": note.pk, "text": text[:200]})
    return note


# ---------------------------------------------------------------------------------------------------------
# Problems


def _due_at(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, REMINDER_TIME))


def _schedule(actor: User, problem: Problem, project: KeyProject) -> None:
    """The owner's reminder on the due date (9:00), through the shared deadline engine; replaces a pending
    one. A due date already passed reminds at once (the next tick)."""
    if problem.reminder_id:
        # Withdraw the old reminder (the service holds the problem row; the conditional update leaves a
        # reminder that is firing right now alone).
        Reminder.objects.filter(pk=problem.reminder_id, due_state=DueState.PENDING).update(
            due_state=DueState.CANCELLED, claim_token=None
        )
    problem.reminder = None
    if problem.status != ProblemStatus.OPEN:
        return
    due = max(_due_at(problem.due_date), timezone.now())
    problem.reminder = schedule_reminder(
        actor,
        recipient=problem.owner,
        due_at=due,
        title=_("项目问题到期：%(project)s") % {"project": project.name},
        body=problem.description[:500],
        url=reverse("projects:project_detail", args=[project.pk]) + "#problems",
        subject=problem,
        org_unit=project.org_unit,
        kind="projects.problem",
    )


def _check_owner(owner: Any, project: KeyProject) -> None:
    if not isinstance(owner, User) or not owner.is_active:
        raise ValidationError(_("请选择责任人。"))
    if not can(owner, "project.view", project):
        raise ValidationError(
            _("%(user)s 看不到该项目，不能作为问题责任人。") % {"user": owner.full_name or owner.username}
        )


def add_problem(
    actor: User,
    project: KeyProject,
    *,
    description: str,
    owner: User,
    due_date: date,
    owner_department: Department | None = None,
) -> Problem:
    description = (description or "").strip()
    if not description:
        raise ValidationError(_("请填写问题描述。"))
    if due_date is None:
        raise ValidationError(_("请填写解决时限。"))
    with transaction.atomic():
        current = _locked(project)
        require(actor, "project.change", current)
        _check_owner(owner, current)
        recent = Problem.objects.filter(
            project=current,
            description=description,
            created_by=actor,
            created_at__gte=timezone.now() - timedelta(seconds=DOUBLE_SUBMIT_SECONDS),
        ).first()
        if recent is not None:
            return recent
        problem = Problem(
            project=current,
            description=description,
            owner=owner,
            owner_department=owner_department,
            due_date=due_date,
            created_by=actor,
        )
        problem._history_user = actor  # type: ignore[attr-defined]
        problem.save()
        _schedule(actor, problem, current)
        problem.save(update_fields=["reminder"])
        record_event(
            "projects.problem",
            actor=actor,
            obj=current,
            data={"problem": problem.pk, "created": True, "owner": owner.pk, "due_date": str(due_date)},
        )
        url = reverse("projects:project_detail", args=[current.pk]) + "#problems"
        if owner.pk != actor.pk:
            transaction.on_commit(
                lambda: notify(
                    [owner],
                    title=_("“%(project)s”有一个问题交由您解决") % {"project": current.name},
                    body=description[:500],
                    url=url,
                    kind="projects.problem",
                    actor=actor,
                )
            )
    return problem


def update_problem(actor: User, problem: Problem, data: dict[str, Any], version: int | None) -> Problem:
    """Change a problem (owner, due date, description) or solve / reopen it (status, solution). Keepers of
    the project may change anything; the owner may solve their own problem."""
    with transaction.atomic():
        project = _locked(problem.project)
        current = (
            Problem.objects.select_for_update(of=("self",)).select_related("reminder").get(pk=problem.pk)
        )
        is_keeper = can(actor, "project.change", project)
        only_status = set(data) <= {"status", "solution"}
        if not is_keeper and not (
            only_status and current.owner_id == actor.pk and can(actor, "project.view", project)
        ):
            raise PermissionDenied("project.change")
        _check_conflict(current, version)
        before = _snapshot(current, ("description", "owner", "due_date", "status", "owner_department"))
        for name in ("description", "owner", "owner_department", "due_date", "status", "solution"):
            if name in data:
                setattr(current, name, data[name])
        if "owner" in data:
            _check_owner(current.owner, project)
        if not (current.description or "").strip():
            raise ValidationError(_("请填写问题描述。"))
        if current.status == ProblemStatus.SOLVED:
            if not (current.solution or "").strip():
                raise ValidationError(_("请填写解决情况。"))
            current.solved_at = current.solved_at or timezone.now()
        else:
            current.solved_at = None
        after = _snapshot(current, ("description", "owner", "due_date", "status", "owner_department"))
        changes = _changes(before, after)
        if {"owner", "due_date", "status"} & set(changes):
            _schedule(actor, current, project)
        current.version += 1
        current._history_user = actor  # type: ignore[attr-defined]
        current.save()
        if changes.get("status") and current.status == ProblemStatus.SOLVED:
            _touch(project, actor)
        record_event(
            "projects.problem", actor=actor, obj=project, data={"problem": current.pk, "changes": changes}
        )
    return current


# ---------------------------------------------------------------------------------------------------------
# Attachments


def add_attachment(actor: User, project: KeyProject, upload: Any, description: str = "") -> Attachment:
    checked = check_file(upload)
    with transaction.atomic():
        current = _locked(project)
        require(actor, "project.change", current)
        item = Attachment(
            project=current,
            name=checked.name,
            size=checked.size,
            content_type=checked.content_type,
            description=(description or "").strip()[:200],
            uploaded_by=actor,
        )
        item.file.save(checked.name, checked.file, save=False)
        item._history_user = actor  # type: ignore[attr-defined]
        item.save()
        record_event(
            "projects.attachment",
            actor=actor,
            obj=current,
            data={"attachment": item.pk, "name": item.name, "size": item.size, "added": True},
        )
    return item


def remove_attachment(actor: User, attachment: Attachment) -> Attachment:
    """Hide an attachment from the page (the file stays, and the history shows who removed it)."""
    with transaction.atomic():
        project = _locked(attachment.project)
        require(actor, "project.change", project)
        current = Attachment.objects.select_for_update().get(pk=attachment.pk)
        if current.is_removed:
            return current
        current.is_removed = True
        current._history_user = actor  # type: ignore[attr-defined]
        current.save()
        record_event(
            "projects.attachment",
            actor=actor,
            obj=project,
            data={"attachment": current.pk, "name": current.name, "removed": True},
        )
    return current


# ---------------------------------------------------------------------------------------------------------
# Meetings and decisions


def _check_meeting(actor: User, meeting: Meeting) -> None:
    if not (meeting.title or "").strip():
        raise ValidationError(_("请填写会议名称。"))
    if meeting.date is None:
        raise ValidationError(_("请填写会议日期。"))
    if meeting.project_id and not KeyProject.objects.visible_to(actor).filter(pk=meeting.project_id).exists():
        raise ValidationError(_("所选项目不在您的范围内。"))


def create_meeting(actor: User, data: dict[str, Any]) -> Meeting:
    data = dict(data)
    expected = data.pop("expected", None)
    present = data.pop("present", None)
    org_unit = data.get("org_unit")
    if not isinstance(org_unit, OrgUnit):
        raise ValidationError(_("请选择召开会议的单位。"))
    day = data.get("date")
    if not isinstance(day, date):
        raise ValidationError(_("请填写会议日期。"))
    require(actor, "meeting.change", org_unit)
    with transaction.atomic():
        recent = Meeting.objects.filter(
            org_unit=org_unit,
            title=(data.get("title") or "").strip(),
            date=day,
            created_by=actor,
            created_at__gte=timezone.now() - timedelta(seconds=DOUBLE_SUBMIT_SECONDS),
        ).first()
        if recent is not None:
            return recent
        meeting = Meeting(created_by=actor)
        for name in MEETING_FIELDS:
            if name in data:
                setattr(meeting, name, data[name])
        meeting.title = meeting.title.strip()
        _check_meeting(actor, meeting)
        meeting._history_user = actor  # type: ignore[attr-defined]
        meeting.save()
        if expected is not None:
            meeting.expected.set(expected)
        if present is not None:
            meeting.present.set(present)
        record_event(
            "meetings.create",
            actor=actor,
            obj=meeting,
            data={
                "values": _snapshot(meeting, MEETING_FIELDS),
                "expected": _ids(expected),
                "present": _ids(present),
            },
        )
    return meeting


def update_meeting(actor: User, meeting: Meeting, data: dict[str, Any], version: int | None) -> Meeting:
    data = dict(data)
    expected = data.pop("expected", None)
    present = data.pop("present", None)
    with transaction.atomic():
        current = Meeting.objects.select_for_update().get(pk=meeting.pk)
        require(actor, "meeting.change", current)
        _check_conflict(current, version)
        before = _snapshot(current, MEETING_FIELDS)
        before_links = {"expected": _ids(current.expected.all()), "present": _ids(current.present.all())}
        for name in MEETING_FIELDS:
            if name in data:
                setattr(current, name, data[name])
        current.title = current.title.strip()
        current.org_path = current.org_unit.path
        require(actor, "meeting.change", current)  # a move must land inside the actor's scope too
        _check_meeting(actor, current)
        current.version += 1
        current._history_user = actor  # type: ignore[attr-defined]
        current.save()
        if expected is not None:
            current.expected.set(expected)
        if present is not None:
            current.present.set(present)
        after_links = {"expected": _ids(current.expected.all()), "present": _ids(current.present.all())}
        changes = _changes(before, _snapshot(current, MEETING_FIELDS))
        changes.update(_changes(before_links, after_links))
        record_event("meetings.change", actor=actor, obj=current, data={"changes": changes})
    meeting.refresh_from_db()
    return meeting


def _has_matter(decision: Decision) -> bool:
    return SupervisedMatter.objects.filter(decision=decision).exists()


def save_decision(
    actor: User, meeting: Meeting, data: dict[str, Any], decision: Decision | None = None
) -> Decision:
    """Add a decision to a meeting or change one. A decision that has become a supervised matter is fixed:
    the matter carries it on."""
    content = (data.get("content", decision.content if decision else "") or "").strip()
    if not content:
        raise ValidationError(_("请填写议定事项。"))
    with transaction.atomic():
        current = Meeting.objects.select_for_update().get(pk=meeting.pk)
        require(actor, "meeting.change", current)
        if decision is not None:
            if decision.meeting_id != current.pk:
                raise PermissionDenied("meeting.change")
            if _has_matter(decision):
                raise ValidationError(_("该议定事项已转为督办事项，请在督办事项中办理。"))
        else:
            recent = Decision.objects.filter(meeting=current, content=content).first()
            if recent is not None:
                return recent
        item = decision or Decision(meeting=current)
        before = _snapshot(item, ("content", "owner_unit", "due_date")) if decision else {}
        item.content = content
        for name in ("owner_unit", "due_date", "sort_order"):
            if name in data:
                setattr(item, name, data[name])
        if decision is None and "sort_order" not in data:
            item.sort_order = current.decisions.count() + 1
        item._history_user = actor  # type: ignore[attr-defined]
        item.save()
        record_event(
            "meetings.decision",
            actor=actor,
            obj=current,
            data={
                "decision": item.pk,
                "changes": _changes(before, _snapshot(item, ("content", "owner_unit", "due_date"))),
            },
        )
    return item


def delete_decision(actor: User, decision: Decision) -> None:
    with transaction.atomic():
        meeting = Meeting.objects.select_for_update().get(pk=decision.meeting_id)
        require(actor, "meeting.change", meeting)
        if _has_matter(decision):
            raise ValidationError(_("该议定事项已转为督办事项，不能删除。"))
        record_event(
            "meetings.decision",
            actor=actor,
            obj=meeting,
            data={"decision": decision.pk, "deleted": True, "content": decision.content[:200]},
        )
        decision._history_user = actor  # type: ignore[attr-defined]
        decision.delete()
