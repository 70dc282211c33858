"""Every change to a supervised matter goes through these functions. Each takes the acting user, checks the
step against the workflow table and the rules (`rules.check`), locks the matter row and compares the version
the user saw (two people at once: one succeeds, the other is told "该督办事项已被他人修改"; the same person's
double click is answered with the first result), writes a timeline step and an audit event, and sends
notifications (the inbox row in the transaction, SMS and e-mail after commit).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.audit.services import record_event
from jiedao.cases.uploads import CheckedUpload
from jiedao.core.concurrency import ConflictError, lock_versioned
from jiedao.core.models import Department, OrgUnit, Role, User
from jiedao.core.models.deadlines import DueState
from jiedao.core.services import people
from jiedao.supervision import lights, rules, workflow
from jiedao.supervision.models import (
    OPEN_STATUSES,
    ExtensionRequest,
    MatterAttachment,
    MatterClock,
    MatterCounter,
    MatterHelper,
    MatterStep,
    ProgressReport,
    Rating,
    Source,
    Status,
    SupervisedMatter,
)

logger = logging.getLogger(__name__)

#: An extension may move the deadline by at most this many days at a time.
EXTENSION_MAX_DAYS = 180
HANDLER_ROLES = [Role.COMMUNITY_STAFF, Role.GRID_WORKER, Role.DEPARTMENT_STAFF]


# ---------------------------------------------------------------------------------------------------------
# Helpers


def next_number(when: datetime) -> str:
    """DB + year + a five-digit yearly sequence (DB202600015), advanced by a conditional update inside the
    caller's transaction (the row stays locked until commit: two processes never get the same number)."""
    year = timezone.localtime(when).year
    last = _advance_counter(year)
    if last is None:
        try:
            with transaction.atomic():
                MatterCounter.objects.create(year=year, last=1)
                last = 1
        except IntegrityError:  # another process made the year's row first
            last = _advance_counter(year)
    assert last is not None
    return f"DB{year}{last:05d}"


def _advance_counter(year: int) -> int | None:
    table = connection.ops.quote_name(MatterCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET last = last + 1 WHERE year = %s RETURNING last", [year])
        row = cursor.fetchone()
    return int(row[0]) if row else None


def subdistrict_of(unit: OrgUnit) -> OrgUnit | None:
    return (
        OrgUnit.objects.filter(path__in=OrgUnit.path_lineage(unit.path), kind=OrgUnit.Kind.SUBDISTRICT)
        .order_by("-depth")
        .first()
    )


def supervising_unit(user: Any, *hints: OrgUnit | None) -> OrgUnit | None:
    """The sub-district that supervises a new matter: the one above the first hint (the project's or the lead
    unit's place) where the user supervises, else the first unit where the user does."""
    for hint in hints:
        if hint is None:
            continue
        unit = subdistrict_of(hint) or hint
        if rules.may_supervise(user, _PathProbe(unit.path)):  # type: ignore[arg-type]
            return unit
    paths = rules.supervisor_paths(user)
    if paths is None:
        return OrgUnit.objects.filter(kind=OrgUnit.Kind.SUBDISTRICT, is_active=True).order_by("path").first()
    return OrgUnit.objects.filter(path__in=paths).order_by("path").first()


class _PathProbe:
    """Something with an org path, to ask `rules.may_supervise` about a unit."""

    def __init__(self, path: str) -> None:
        self.org_path = path


def _label(actor: Any) -> str:
    return _("系统") if actor is None else str(actor)[:80]


def _user(actor: Any) -> User | None:
    return actor if isinstance(actor, User) else None


def add_step(
    matter: SupervisedMatter,
    action: str,
    actor: Any,
    *,
    from_status: str = "",
    note: str = "",
    data: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> MatterStep:
    return MatterStep.objects.create(
        matter=matter,
        action=action,
        from_status=from_status,
        to_status=matter.status,
        actor=_user(actor),
        actor_label=_label(actor),
        note=note,
        data=data or {},
        created_at=now or timezone.now(),
    )


def save_attachments(
    matter: SupervisedMatter, step: MatterStep | None, uploads: Sequence[CheckedUpload], actor: Any
) -> list[MatterAttachment]:
    saved = []
    for upload in uploads:
        item = MatterAttachment(
            matter=matter,
            step=step,
            kind=upload.kind,
            name=upload.name,
            size=upload.size,
            content_type=upload.content_type,
            uploaded_by=_user(actor),
        )
        item.file.save(upload.name, upload.file, save=False)
        item.save()
        saved.append(item)
    return saved


def lead_people(matter: SupervisedMatter) -> list[User]:
    if matter.lead_department_id is not None:
        return people(department=matter.lead_department_id)
    if matter.lead_unit_id is not None:
        return people(unit=matter.lead_unit_id, roles=HANDLER_ROLES)
    return []


def helper_people(matter: SupervisedMatter) -> list[User]:
    found: list[User] = []
    for helper in matter.helpers.all():
        if helper.department_id is not None:
            found += people(department=helper.department_id)
        elif helper.unit_id is not None:
            found += people(unit=helper.unit_id, roles=HANDLER_ROLES)
    return found


def office_people(matter: SupervisedMatter) -> list[User]:
    offices = Department.objects.filter(
        code__in=rules.OFFICE_CODES, is_active=True, org_path=matter.org_path
    ).values_list("pk", flat=True)
    found: list[User] = []
    for dept in offices:
        found += people(department=dept)
    return found


def responsible(matter: SupervisedMatter) -> list[User]:
    """The responsible leader, else the leaders of the supervising sub-district."""
    leader = matter.leader if matter.leader_id is not None else None
    if leader is not None and leader.is_active:
        return [leader]
    return people(unit=matter.org_unit_id, roles=[Role.LEADER])


def supervisors(matter: SupervisedMatter) -> list[User]:
    return responsible(matter) + office_people(matter)


def _notify(
    users: Iterable[User | None], matter: SupervisedMatter, title: str, body: str = "", sms: bool = False
) -> None:
    from jiedao.notifications.services import EMAIL, INBOX, SMS, notify

    recipients = list({u.pk: u for u in users if u is not None}.values())
    if not recipients:
        return
    channels = [INBOX, SMS, EMAIL] if sms else [INBOX]
    notify(
        recipients,
        title=title[:200],
        body=body,
        url=f"/supervision/{matter.number}/",
        kind="supervision",
        channels=channels,
    )


def _event(kind: str, actor: Any, matter: SupervisedMatter, data: dict[str, Any] | None = None) -> None:
    record_event(kind, actor=_user(actor), obj=matter, data={"number": matter.number, **(data or {})})


RELATED = ("org_unit", "lead_unit", "lead_department", "leader")


def _lock(
    matter: SupervisedMatter, version: int | None, actor: Any, action: str
) -> tuple[SupervisedMatter, bool]:
    """Lock the row and compare versions (`core.concurrency`): returns (current, already_done)."""
    return lock_versioned(
        SupervisedMatter.objects.select_related(*RELATED),
        matter.pk,
        version,
        _user(actor),
        action,
        last_step=lambda m: m.steps.exclude(actor=None).order_by("-created_at", "-id").first(),
        conflict=lambda m: (
            _(
                "该督办事项已被他人修改（%(number)s：您看到的是第 %(mine)s 版，当前是第 %(now)s 版）。"
                "请刷新页面查看最新情况后再操作。"
            )
            % {"number": m.number, "mine": version, "now": m.version}
        ),
    )


def _save(matter: SupervisedMatter, actor: Any) -> None:
    matter.version += 1
    matter._history_user = _user(actor)  # type: ignore[attr-defined]
    matter.save()


class _Repeated(Exception):
    """Rolls back the body of a step submitted twice (never raised to callers)."""


class Transition:
    """`with Transition(actor, matter, version, "approve") as t: t.matter.xxx = …` — checks, locks, and on
    exit sets the target status, saves, writes the step and the audit event."""

    def __init__(self, actor: User, matter: SupervisedMatter, version: int | None, name: str) -> None:
        self.actor, self.name, self.version = actor, name, version
        self.spec = workflow.get(name)
        self.matter = matter
        self.note = ""
        self.data: dict[str, Any] = {}
        self.target: str | None = self.spec.target
        self.done_already = False
        self.step: MatterStep | None = None
        #: Work that needs the timeline step (reports, files): run in the transaction once it is written.
        self.after: list[Callable[[MatterStep], None]] = []
        self.from_status = matter.status
        self._atomic = transaction.atomic()

    def __enter__(self) -> Transition:
        self._atomic.__enter__()
        try:
            self.matter, self.done_already = _lock(self.matter, self.version, self.actor, self.name)
            if not self.done_already:
                rules.check(self.actor, self.matter, self.name)
            self.from_status = self.matter.status
        except BaseException as exc:
            self._atomic.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool | None:
        if self.done_already and (exc_type is None or issubclass(exc_type, Exception)):
            self._atomic.__exit__(_Repeated, _Repeated(), None)
            self.matter = SupervisedMatter.objects.select_related(*RELATED).get(pk=self.matter.pk)
            return True
        try:
            if exc_type is None:
                if self.target is not None:
                    self.matter.status = self.target
                _save(self.matter, self.actor)
                self.step = add_step(
                    self.matter,
                    self.name,
                    self.actor,
                    from_status=self.from_status,
                    note=self.note,
                    data=self.data,
                )
                for work in self.after:
                    work(self.step)
                _event(
                    f"supervision.{self.name}",
                    self.actor,
                    self.matter,
                    {"from": self.from_status, "to": self.matter.status, **self.data},
                )
        except BaseException as inner:
            self._atomic.__exit__(type(inner), inner, inner.__traceback__)
            raise
        self._atomic.__exit__(exc_type, exc, tb)
        return None


def _required(text: str, message: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError(message)
    return text


def _aware(value: datetime) -> datetime:
    if timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


def _set_lead(
    matter: SupervisedMatter,
    lead_unit: OrgUnit | None,
    lead_department: Department | None,
) -> None:
    if lead_unit is not None and lead_department is not None:
        raise ValidationError(_("牵头单位和牵头科室只能选一个。"))
    matter.lead_unit = lead_department.org_unit if lead_department is not None else lead_unit
    matter.lead_department = lead_department


def _set_helpers(
    matter: SupervisedMatter, units: Sequence[OrgUnit], departments: Sequence[Department]
) -> list[str]:
    matter.helpers.all().delete()
    names = []
    for unit in units:
        if unit.pk == matter.lead_unit_id and matter.lead_department_id is None:
            continue
        MatterHelper.objects.create(matter=matter, unit=unit)
        names.append(unit.short_name or unit.name)
    for dept in departments:
        if dept.pk == matter.lead_department_id:
            continue
        MatterHelper.objects.create(matter=matter, department=dept)
        names.append(dept.short_name or dept.name)
    return names


def _check_places(
    matter: SupervisedMatter, units: Iterable[OrgUnit | None], departments: Iterable[Department | None]
) -> None:
    """Lead and helper units and departments lie in the supervising sub-district."""
    root = matter.org_path
    for unit in units:
        if unit is not None and not unit.path.startswith(root):
            raise ValidationError(_("“%(name)s”不在本街道范围内。") % {"name": unit.name})
    for dept in departments:
        if dept is not None and not dept.org_path.startswith(root):
            raise ValidationError(_("“%(name)s”不在本街道范围内。") % {"name": dept.name})


def _check_deadline(deadline: datetime, now: datetime) -> datetime:
    deadline = _aware(deadline)
    if deadline <= now:
        raise ValidationError(_("办理时限须晚于现在。"))
    return deadline


# ---------------------------------------------------------------------------------------------------------
# Timed actions on the shared deadline engine


def cancel_clocks(matter: SupervisedMatter) -> int:
    return MatterClock.objects.filter(matter=matter, due_state=DueState.PENDING).update(
        due_state=DueState.CANCELLED, claim_token=None
    )


def schedule_clocks(matter: SupervisedMatter, now: datetime | None = None) -> list[MatterClock]:
    """Replace the matter's pending timed actions: the automatic 催办 when it turns blue (if that is still
    ahead) and the overdue notice just after the deadline, for a matter that has been assigned."""
    now = now or timezone.now()
    cancel_clocks(matter)
    if matter.status not in OPEN_STATUSES or matter.status == Status.OPENED:
        return []
    clocks = [
        MatterClock(
            matter=matter,
            kind=MatterClock.Kind.OVERDUE,
            deadline=matter.deadline,
            due_at=matter.deadline + timedelta(seconds=1),
        )
    ]
    if matter.blue_at > now and matter.status in workflow.UNDER_WAY:
        clocks.append(
            MatterClock(
                matter=matter, kind=MatterClock.Kind.REMIND, deadline=matter.deadline, due_at=matter.blue_at
            )
        )
    MatterClock.objects.bulk_create(clocks)
    return clocks


def fire_clock(item: MatterClock) -> None:
    """The engine's handler (runs in the engine's transaction with the row's claim): 自动催办 to the lead
    unit,
    or the overdue notice to the responsible leader, the supervising office and the lead unit. A clock whose
    matter moved on (closed, deadline changed) does nothing."""
    matter = SupervisedMatter.objects.select_related("org_unit").get(pk=item.matter_id)
    item.matter = matter  # the engine's "deadline.fired" event reads the clock's scope through it
    if matter.status not in OPEN_STATUSES or matter.deadline != item.deadline:
        return
    deadline = timezone.localtime(matter.deadline)
    if item.kind == MatterClock.Kind.REMIND:
        if matter.status not in workflow.UNDER_WAY:
            return
        recipients = lead_people(matter)
        title = _("催办：督办事项 %(n)s 将于 %(at)s 到期，请抓紧办理并反馈") % {
            "n": matter.number,
            "at": f"{deadline:%m-%d %H:%M}",
        }
        action, sms = "auto_remind", False
    else:
        recipients = responsible(matter) + office_people(matter) + lead_people(matter)
        title = _("超期：督办事项 %(n)s 已超过办理时限（%(at)s），尚未办结") % {
            "n": matter.number,
            "at": f"{deadline:%Y-%m-%d %H:%M}",
        }
        action, sms = "overdue", True
    add_step(matter, action, None, from_status=matter.status, note=title, data={"clock": item.pk})
    _event(f"supervision.{action}", None, matter, {"recipients": sorted({u.pk for u in recipients})})
    _notify(recipients, matter, title, matter.title, sms=sms)


# ---------------------------------------------------------------------------------------------------------
# 立项 (create) and edit


class DecisionTaken(ValidationError):
    """The meeting decision already became a matter."""

    def __init__(self, matter: SupervisedMatter) -> None:
        super().__init__(_("该决定事项已转为督办事项 %(n)s。") % {"n": matter.number})
        self.matter = matter


def create_matter(
    actor: User,
    *,
    title: str,
    content: str,
    source: str,
    deadline: datetime,
    org_unit: OrgUnit | None = None,
    source_note: str = "",
    lead_unit: OrgUnit | None = None,
    lead_department: Department | None = None,
    helper_units: Sequence[OrgUnit] = (),
    helper_departments: Sequence[Department] = (),
    leader: User | None = None,
    project: Any = None,
    decision: Any = None,
    case: Any = None,
    assign: bool = True,
    note: str = "",
) -> SupervisedMatter:
    """立项 (and, with `assign`, 交办 at once). `org_unit`: the supervising sub-district (by default the one
    above the project, the lead unit or the department where the actor supervises)."""
    if not rules.may_supervise_somewhere(actor):
        raise PermissionDenied(_("只有督查部门或街道领导才能立项。"))
    now = timezone.now()
    errors = []
    title = (title or "").strip()
    content = (content or "").strip()
    if not title:
        errors.append(_("请填写事项名称。"))
    if not content:
        errors.append(_("请填写督办内容。"))
    if source not in Source.values:
        errors.append(_("请选择事项来源。"))
    if source == Source.MEETING and decision is None:
        errors.append(_("会议决定事项请从例会的决定事项转入。"))
    if source == Source.CASE and case is None:
        errors.append(_("工单转办的事项请填写来源工单编号。"))
    if lead_unit is not None and lead_department is not None:
        errors.append(_("牵头单位和牵头科室只能选一个。"))
    if assign and lead_unit is None and lead_department is None:
        errors.append(_("交办前请选择牵头单位或牵头科室。"))
    if deadline is None:
        errors.append(_("请填写办理时限。"))
    elif _aware(deadline) <= now:
        errors.append(_("办理时限须晚于现在。"))
    if errors:
        raise ValidationError(errors)
    project_unit = getattr(project, "org_unit", None)
    unit = org_unit or supervising_unit(
        actor, project_unit, lead_department.org_unit if lead_department else None, lead_unit
    )
    if unit is None or not rules.may_supervise(actor, _PathProbe(unit.path)):  # type: ignore[arg-type]
        raise PermissionDenied(_("只有督查部门或街道领导才能立项。"))
    if leader is not None and not rules.may_supervise(leader, _PathProbe(unit.path)):  # type: ignore[arg-type]
        raise ValidationError(_("责任领导须是本街道的领导。"))
    with transaction.atomic():
        if decision is not None:
            existing = SupervisedMatter.objects.filter(decision=decision).first()
            if existing is not None:
                raise DecisionTaken(existing)
        matter = SupervisedMatter(
            number=next_number(now),
            org_unit=unit,
            title=title[:120],
            content=content,
            source=source,
            source_note=(source_note or "")[:200],
            project=project,
            decision=decision,
            case=case,
            leader=leader,
            deadline=_aware(deadline),
            period_start=now,
            created_at=now,
            created_by=actor,
        )
        _check_places(matter, [lead_unit, *helper_units], [lead_department, *helper_departments])
        _set_lead(matter, lead_unit, lead_department)
        lights.apply_times(matter)
        matter._history_user = actor  # type: ignore[attr-defined]
        try:
            with transaction.atomic():
                matter.save()
        except IntegrityError:
            existing = SupervisedMatter.objects.filter(decision=decision).first() if decision else None
            if existing is not None:
                raise DecisionTaken(existing) from None
            raise
        helpers = _set_helpers(matter, helper_units, helper_departments)
        data: dict[str, Any] = {"source": source, "deadline": matter.deadline.isoformat(), "helpers": helpers}
        if decision is not None:
            data["decision"] = decision.pk
        if case is not None:
            data["case"] = case.number
        add_step(matter, "open", actor, note=note or matter.source_note, data=data, now=now)
        _event("supervision.open", actor, matter, data)
        if assign:
            matter = assign_matter(actor, matter, version=matter.version, note=note)
    return matter


def open_from_decision(user: User, decision: Any, **fields: Any) -> SupervisedMatter:
    """A meeting decision becomes a matter (source 会议决定), prefilled from the decision: its content, owner
    unit (as the lead unit), due date and the meeting's project. One decision makes one matter only: when it
    already has one, that matter is returned unchanged."""
    existing = SupervisedMatter.objects.filter(decision=decision).first()
    if existing is not None:
        return existing
    values = decision_defaults(decision)
    values.update(fields)
    values["source"] = Source.MEETING
    values["decision"] = decision
    try:
        return create_matter(user, **values)
    except DecisionTaken as taken:  # made by someone else a moment ago
        return taken.matter


def decision_defaults(decision: Any) -> dict[str, Any]:
    """The new-matter values a decision suggests."""
    meeting = decision.meeting
    content = (decision.content or "").strip()
    first_line = content.splitlines()[0] if content else ""
    due = getattr(decision, "due_date", None)
    deadline = None
    if due is not None:
        # a day's deadline ends at 24:00 of that day
        deadline = timezone.make_aware(datetime.combine(due + timedelta(days=1), datetime.min.time()))
    owner = getattr(decision, "owner_unit", None)
    values: dict[str, Any] = {
        "title": first_line[:60],
        "content": content,
        "deadline": deadline,
        "project": getattr(meeting, "project", None),
        "source_note": str(meeting)[:200],
    }
    if isinstance(owner, Department):
        values["lead_department"] = owner
    elif isinstance(owner, OrgUnit):
        values["lead_unit"] = owner
    return values


EDITABLE = ("title", "content", "source_note", "deadline", "leader", "project")


def update_matter(
    actor: User,
    matter: SupervisedMatter,
    *,
    version: int | None,
    lead_unit: OrgUnit | None = None,
    lead_department: Department | None = None,
    helper_units: Sequence[OrgUnit] | None = None,
    helper_departments: Sequence[Department] | None = None,
    **changes: Any,
) -> SupervisedMatter:
    """修改: the supervisor corrects a matter that is not yet reported for review. A new deadline here is a
    correction (recorded on the timeline); the lead unit's way to more time is 延期申请."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    with transaction.atomic():
        current, repeat = _lock(matter, version, actor, "edit")
        if not rules.may_edit(actor, current):
            if not rules.may_supervise(actor, current):
                raise PermissionDenied(_("只有督查部门或街道领导才能修改督办事项。"))
            raise ValidationError(
                _("督办事项当前状态为“%(status)s”，不能修改。") % {"status": current.get_status_display()}
            )
        now = timezone.now()
        changed: dict[str, Any] = {}
        for name, value in changes.items():
            if name == "deadline" and value is not None:
                value = _aware(value)
                if value != current.deadline:
                    _check_deadline(value, now)
            if name in ("title", "content") and not (value or "").strip():
                raise ValidationError(_("事项名称和督办内容不能为空。"))
            if name == "leader" and value is not None and not rules.may_supervise(value, current):
                raise ValidationError(_("责任领导须是本街道的领导。"))
            if getattr(current, name) != value:
                changed[name] = [_shown(getattr(current, name)), _shown(value)]
                setattr(current, name, value)
        lead_changed = (lead_unit, lead_department) != (
            current.lead_unit if current.lead_department_id is None else None,
            current.lead_department,
        )
        if lead_unit is not None or lead_department is not None:
            _check_places(current, [lead_unit], [lead_department])
            if lead_changed:
                changed["lead"] = [current.lead_name, str(lead_department or lead_unit)]
                _set_lead(current, lead_unit, lead_department)
        elif current.status != Status.OPENED:
            raise ValidationError(_("已交办的事项须有牵头单位或牵头科室。"))
        elif current.lead_unit_id is not None:
            changed["lead"] = [current.lead_name, ""]
            _set_lead(current, None, None)
        if helper_units is not None or helper_departments is not None:
            units, depts = list(helper_units or []), list(helper_departments or [])
            _check_places(current, units, depts)
            before = sorted(h.name for h in current.helpers.all())
            after = _set_helpers(current, units, depts)
            if sorted(after) != before:
                changed["helpers"] = [before, sorted(after)]
        if not changed:
            return current
        if repeat:  # the same person's earlier edit is saved; this one differs from it
            raise ConflictError(
                _(
                    "该督办事项已被他人修改（%(number)s：您看到的是第 %(mine)s 版，当前是第 %(now)s 版）。"
                    "请刷新页面后再修改。"
                )
                % {"number": current.number, "mine": version, "now": current.version}
            )
        lights.apply_times(current)
        _save(current, actor)
        add_step(current, "edit", actor, from_status=current.status, data={"changed": changed})
        _event("supervision.edit", actor, current, {"changed": changed})
        if "deadline" in changed:
            schedule_clocks(current, now)
        if "lead" in changed and current.status != Status.OPENED:
            _notify(
                lead_people(current),
                current,
                _("督办事项 %(n)s 交由你单位牵头办理：%(t)s") % {"n": current.number, "t": current.title},
            )
    return current


def _shown(value: Any) -> str:
    """A value as the timeline shows a change."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M}"
    return str(value)


# ---------------------------------------------------------------------------------------------------------
# The steps


def assign_matter(
    actor: User,
    matter: SupervisedMatter,
    *,
    version: int | None,
    lead_unit: OrgUnit | None = None,
    lead_department: Department | None = None,
    helper_units: Sequence[OrgUnit] | None = None,
    helper_departments: Sequence[Department] | None = None,
    deadline: datetime | None = None,
    note: str = "",
) -> SupervisedMatter:
    """交办: to the lead unit (or department) and helpers; the period starts now."""
    with Transition(actor, matter, version, "assign") as t:
        m = t.matter
        now = timezone.now()
        if lead_unit is not None or lead_department is not None:
            _check_places(m, [lead_unit], [lead_department])
            _set_lead(m, lead_unit, lead_department)
        if m.lead_unit_id is None and m.lead_department_id is None:
            raise ValidationError(_("交办前请选择牵头单位或牵头科室。"))
        if helper_units is not None or helper_departments is not None:
            units, depts = list(helper_units or []), list(helper_departments or [])
            _check_places(m, units, depts)
            _set_helpers(m, units, depts)
        if deadline is not None:
            m.deadline = _check_deadline(deadline, now)
        elif m.deadline <= now:
            raise ValidationError(_("办理时限已过，请先修改办理时限。"))
        m.period_start = now
        m.assigned_at = now
        lights.apply_times(m)
        t.note = note
        t.data = {
            "lead": m.lead_name,
            "helpers": [h.name for h in m.helpers.all()],
            "deadline": m.deadline.isoformat(),
        }
    if not t.done_already:
        m = t.matter
        schedule_clocks(m)
        due = timezone.localtime(m.deadline)
        title = _("督办交办 %(n)s：%(t)s（%(at)s 前办结）") % {
            "n": m.number,
            "t": m.title,
            "at": f"{due:%Y-%m-%d}",
        }
        _notify(lead_people(m), m, title, note or m.content[:200])
        _notify(helper_people(m), m, _("督办协办 %(n)s：%(t)s") % {"n": m.number, "t": m.title}, note)
    return t.matter


def decline(actor: User, matter: SupervisedMatter, *, version: int | None, reason: str) -> SupervisedMatter:
    """退回交办: the lead unit says the matter is not theirs (with reasons); it goes back to the office."""
    reason = _required(reason, _("退回交办须写明理由。"))
    with Transition(actor, matter, version, "decline") as t:
        t.note = reason
        t.matter.assigned_at = None
        cancel_clocks(t.matter)
    if not t.done_already:
        _notify(
            supervisors(t.matter),
            t.matter,
            _("督办事项 %(n)s 被退回交办，请重新交办") % {"n": t.matter.number},
            reason,
        )
    return t.matter


def undertake(
    actor: User, matter: SupervisedMatter, *, version: int | None, note: str = ""
) -> SupervisedMatter:
    """承办: the lead unit accepts the matter and starts work."""
    with Transition(actor, matter, version, "undertake") as t:
        t.note = note
        t.matter.undertaken_at = timezone.now()
    return t.matter


def report(
    actor: User,
    matter: SupervisedMatter,
    *,
    version: int | None,
    text: str,
    percent: int,
    uploads: Sequence[CheckedUpload] = (),
) -> SupervisedMatter:
    """反馈: a progress report with the share done (the lead unit's figure is the matter's progress)."""
    text = _required(text, _("请填写进展情况。"))
    if not isinstance(percent, int) or not 0 <= percent <= 100:
        raise ValidationError(_("完成进度须在 0 到 100 之间。"))
    with Transition(actor, matter, version, "report") as t:
        m = t.matter
        now = timezone.now()
        by_lead = rules.is_lead(actor, m)
        if by_lead:
            m.progress = percent
            lights.apply_times(m)
        m.last_report_at = now
        t.note = text
        t.data = {"percent": percent, "by_lead": by_lead}
        label = _unit_label(actor, m, by_lead)

        def write(step: MatterStep) -> None:
            ProgressReport.objects.create(
                matter=m,
                step=step,
                text=text,
                percent=percent,
                by_lead=by_lead,
                unit_label=label,
                author=actor,
                created_at=step.created_at,
            )
            save_attachments(m, step, uploads, actor)

        t.after.append(write)
    return t.matter


def _unit_label(actor: User, matter: SupervisedMatter, by_lead: bool) -> str:
    if by_lead:
        return matter.lead_name
    depts = rules.handler_departments(actor)
    units = rules.handler_units(actor)
    for helper in matter.helpers.all():
        if helper.department_id in depts or (
            helper.department_id is None and any(helper.unit_path.startswith(p) for p in units)
        ):
            return helper.name
    return ""


def submit(
    actor: User,
    matter: SupervisedMatter,
    *,
    version: int | None,
    text: str,
    uploads: Sequence[CheckedUpload] = (),
) -> SupervisedMatter:
    """报请审核: the lead unit's final report (100%), for the supervising office to review."""
    text = _required(text, _("请填写办理结果。"))
    with Transition(actor, matter, version, "submit") as t:
        m = t.matter
        now = timezone.now()
        m.progress = 100
        m.submitted_at = now
        m.last_report_at = now
        lights.apply_times(m)
        t.note = text
        t.data = {"percent": 100}

        def write(step: MatterStep) -> None:
            ProgressReport.objects.create(
                matter=m,
                step=step,
                text=text,
                percent=100,
                final=True,
                by_lead=True,
                unit_label=m.lead_name,
                author=actor,
                created_at=step.created_at,
            )
            save_attachments(m, step, uploads, actor)

        t.after.append(write)
    if not t.done_already:
        _notify(
            supervisors(t.matter),
            t.matter,
            _("督办事项 %(n)s 已报请审核") % {"n": t.matter.number},
            text[:200],
        )
    return t.matter


def approve(
    actor: User, matter: SupervisedMatter, *, version: int | None, note: str = ""
) -> SupervisedMatter:
    """审核通过: the office accepts the result; the matter waits for 办结."""
    with Transition(actor, matter, version, "approve") as t:
        t.note = note
    if not t.done_already:
        _notify(lead_people(t.matter), t.matter, _("督办事项 %(n)s 审核通过") % {"n": t.matter.number}, note)
    return t.matter


def send_back(actor: User, matter: SupervisedMatter, *, version: int | None, reason: str) -> SupervisedMatter:
    """退回: the result is not good enough; back to the lead unit with the reason (progress falls back to the
    last figure before the final report)."""
    reason = _required(reason, _("退回须写明原因。"))
    with Transition(actor, matter, version, "send_back") as t:
        m = t.matter
        before = (
            m.reports.filter(by_lead=True, final=False)
            .order_by("-created_at", "-id")
            .values_list("percent", flat=True)
            .first()
        )
        m.progress = int(before or 0)
        m.submitted_at = None
        m.return_count += 1
        lights.apply_times(m)
        t.note = reason
        t.data = {"progress": m.progress}
    if not t.done_already:
        schedule_clocks(t.matter)
        _notify(
            lead_people(t.matter),
            t.matter,
            _("督办事项 %(n)s 审核未通过，已退回") % {"n": t.matter.number},
            reason,
            sms=True,
        )
    return t.matter


def complete(
    actor: User, matter: SupervisedMatter, *, version: int | None, summary: str = ""
) -> SupervisedMatter:
    """办结 (销号)."""
    with Transition(actor, matter, version, "complete") as t:
        m = t.matter
        m.completed_at = timezone.now()
        m.summary = (summary or "").strip()
        t.note = m.summary
        t.data = {"late": m.completed_at > m.deadline}
        cancel_clocks(m)
    if not t.done_already:
        _notify(lead_people(t.matter), t.matter, _("督办事项 %(n)s 已办结") % {"n": t.matter.number}, summary)
    return t.matter


def rate(
    actor: User,
    matter: SupervisedMatter,
    *,
    version: int | None,
    rating: str,
    score: int | None = None,
    comment: str = "",
) -> SupervisedMatter:
    """评价: 好/较好/一般/差, with an optional score out of 100."""
    errors = []
    if rating not in Rating.values:
        errors.append(_("请选择评价等次。"))
    if score is not None and not 0 <= score <= 100:
        errors.append(_("评分须在 0 到 100 之间。"))
    if errors:
        raise ValidationError(errors)
    with Transition(actor, matter, version, "rate") as t:
        m = t.matter
        m.rating, m.score, m.rating_comment = rating, score, (comment or "")[:500]
        m.rated_at = timezone.now()
        t.note = m.rating_comment
        t.data = {"rating": rating, "score": score}
    if not t.done_already:
        label = Rating(rating).label
        _notify(
            lead_people(t.matter),
            t.matter,
            _("督办事项 %(n)s 评价：%(r)s") % {"n": t.matter.number, "r": label},
            comment,
        )
    return t.matter


def request_extension(
    actor: User, matter: SupervisedMatter, *, version: int | None, new_deadline: datetime, reason: str
) -> SupervisedMatter:
    """延期申请: before the deadline only, with the new date and the reasons."""
    reason = _required(reason, _("申请延期须写明理由。"))
    with Transition(actor, matter, version, "request_extension") as t:
        m = t.matter
        new_deadline = _aware(new_deadline)
        if new_deadline <= m.deadline:
            raise ValidationError(_("申请的时限须晚于现在的办理时限。"))
        if new_deadline > m.deadline + timedelta(days=EXTENSION_MAX_DAYS):
            raise ValidationError(_("一次最多延期 %(n)s 天。") % {"n": EXTENSION_MAX_DAYS})
        ExtensionRequest.objects.create(
            matter=m,
            new_deadline=new_deadline,
            old_deadline=m.deadline,
            reason=reason,
            requested_by=actor,
            requested_at=timezone.now(),
        )
        t.note = reason
        t.data = {"new_deadline": new_deadline.isoformat()}
    if not t.done_already:
        _notify(
            supervisors(t.matter),
            t.matter,
            _("督办事项 %(n)s 申请延期，请审批") % {"n": t.matter.number},
            reason,
        )
    return t.matter


def decide_extension(
    actor: User, matter: SupervisedMatter, *, version: int | None, approve: bool, note: str = ""
) -> SupervisedMatter:
    """审批延期: approved (the deadline moves, the warnings and reminders follow) or refused with a reason."""
    with Transition(actor, matter, version, "decide_extension") as t:
        m = t.matter
        request = rules.pending_extension(m)
        assert request is not None  # rules.check makes sure
        if not approve and not (note or "").strip():
            raise ValidationError(_("不同意延期须写明理由。"))
        now = timezone.now()
        request.decision = (
            ExtensionRequest.Decision.APPROVED if approve else ExtensionRequest.Decision.REFUSED
        )
        request.decided_by, request.decided_at, request.decision_note = actor, now, (note or "").strip()
        request.save()
        if approve:
            if m.original_deadline is None:
                m.original_deadline = m.deadline
            m.deadline = request.new_deadline
            m.extension_count += 1
            lights.apply_times(m)
        t.note = note
        t.data = {"approved": approve, "new_deadline": request.new_deadline.isoformat()}
    if not t.done_already:
        if approve:
            schedule_clocks(t.matter)
        verdict = _("督办事项 %(n)s 延期已批准") if approve else _("督办事项 %(n)s 延期未获批准")
        requester: list[User | None] = [request.requested_by] if request.requested_by_id else []
        _notify([*requester, *lead_people(t.matter)], t.matter, verdict % {"n": t.matter.number}, note)
    return t.matter


def remind(
    actor: User, matter: SupervisedMatter, *, version: int | None = None, note: str = ""
) -> SupervisedMatter:
    """催办 by hand: the lead unit is reminded (by SMS too)."""
    with Transition(actor, matter, version, "remind") as t:
        t.note = (note or "").strip()
    if not t.done_already:
        m = t.matter
        title = _("催办：督办事项 %(n)s（%(t)s）请抓紧办理并反馈") % {"n": m.number, "t": m.title}
        _notify(lead_people(m), m, title, t.note, sms=True)
    return t.matter


def cancel(actor: User, matter: SupervisedMatter, *, version: int | None, reason: str) -> SupervisedMatter:
    """撤销: a matter opened by mistake or overtaken by events."""
    reason = _required(reason, _("撤销须写明原因。"))
    with Transition(actor, matter, version, "cancel") as t:
        t.note = reason
        cancel_clocks(t.matter)
    if not t.done_already:
        _notify(lead_people(t.matter), t.matter, _("督办事项 %(n)s 已撤销") % {"n": t.matter.number}, reason)
    return t.matter


#: The service of each workflow step (the forms and the API call through this table).
STEP_SERVICES: dict[str, Callable[..., SupervisedMatter]] = {
    "assign": assign_matter,
    "decline": decline,
    "undertake": undertake,
    "report": report,
    "submit": submit,
    "approve": approve,
    "send_back": send_back,
    "complete": complete,
    "rate": rate,
    "request_extension": request_extension,
    "decide_extension": decide_extension,
    "remind": remind,
    "cancel": cancel,
}
assert set(STEP_SERVICES) == set(workflow.STEPS), "every workflow step needs its service"
