"""Every change to a case goes through these functions. Each takes the acting user (None for the public portal
and Open311, which say so with `public=True`), checks the step against the workflow table and the
authorization rules, locks the case row and compares the version the user saw (two people acting at once: one
succeeds, the other is told the case changed), writes a timeline step and an audit event, and sends
notifications after commit."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.audit.services import record_event
from jiedao.cases import clock, routing, rules, workflow
from jiedao.cases.models import (
    OPEN_STATUSES,
    Assignment,
    Attachment,
    Case,
    Category,
    CategoryField,
    Channel,
    Clock,
    FieldType,
    NumberCounter,
    Outcome,
    PetitionType,
    Priority,
    Rating,
    Request,
    Status,
    Step,
)
from jiedao.cases.uploads import CheckedUpload
from jiedao.core.concurrency import ConflictError as ConflictError  # views catch services.ConflictError
from jiedao.core.concurrency import lock_versioned
from jiedao.core.models import ContactCommunity, Department, OrgUnit, Role, User
from jiedao.core.permissions import require
from jiedao.core.services import people

logger = logging.getLogger(__name__)

SYSTEM = "system"
PUBLIC = "public"


# ---------------------------------------------------------------------------------------------------------
# Helpers


def next_number(when: datetime) -> str:
    """GC + yyyymmdd + a five-digit daily sequence, advanced by one `UPDATE … RETURNING` of the day's counter
    row: inside the caller's transaction the row stays locked until its commit (two processes never get the
    same number), outside one the update commits at once (see `create_case`)."""
    day = timezone.localtime(when).date()
    last = _advance_counter(day)
    if last is None:
        try:
            with transaction.atomic():
                NumberCounter.objects.create(day=day, last=1)
                last = 1
        except IntegrityError:  # another process made the day's row first
            last = _advance_counter(day)
    assert last is not None
    return f"GC{day:%Y%m%d}{last:05d}"


def _advance_counter(day: date) -> int | None:
    """UPDATE … RETURNING (PostgreSQL; SQLite 3.35+): the new value in one round trip, None without a row.

    On PostgreSQL outside a transaction the update is its own transaction, committed without waiting for the
    WAL to reach the disk (`synchronous_commit = off` for it alone): a case that takes the number commits
    later, and that commit's flush writes the counter's earlier WAL with it, so a crash can lose an increment
    only together with every case that used it — never hand out a number twice. It saves the worker one disk
    flush per portal submission."""
    table = connection.ops.quote_name(NumberCounter._meta.db_table)
    sql = f"UPDATE {table} SET last = last + 1 WHERE day = %s RETURNING last"
    param = connection.ops.adapt_datefield_value(day)
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        return _advance_counter_async(sql, param)
    with connection.cursor() as cursor:
        cursor.execute(sql, [param])
        row = cursor.fetchone()
    return int(row[0]) if row else None


def _advance_counter_async(sql: str, param: Any) -> int | None:
    """`sql` as a transaction of its own with an asynchronous commit, in one round trip: four statements in
    one query string, which only the simple query protocol takes (a client-side cursor on the connection)."""
    import psycopg

    connection.ensure_connection()
    raw = connection.connection
    with connection.wrap_database_errors, psycopg.ClientCursor(raw) as cursor:
        update = cursor.mogrify(sql, [param])
        try:
            cursor.execute(f"BEGIN; SET LOCAL synchronous_commit = off; {update}; COMMIT")
        except psycopg.Error:
            if raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                raw.rollback()  # the failed statement left the BEGIN open
            raise
        while cursor.description is None and cursor.nextset():
            pass
        row = cursor.fetchone() if cursor.description is not None else None
    return int(row[0]) if row else None


def _actor_label(actor: Any) -> str:
    if actor is None:
        return _("系统")
    if actor == PUBLIC:
        return _("诉求人")
    return str(actor)[:80]


def _user(actor: Any) -> User | None:
    return actor if isinstance(actor, User) else None


def add_step(
    case: Case,
    action: str,
    actor: Any,
    *,
    from_status: str = "",
    note: str = "",
    data: dict[str, Any] | None = None,
    public: bool = True,
    now: datetime | None = None,
) -> Step:
    return Step.objects.create(
        case=case,
        action=action,
        from_status=from_status,
        to_status=case.status,
        actor=_user(actor),
        actor_label=_actor_label(actor),
        note=note,
        data=data or {},
        public=public,
        created_at=now or timezone.now(),
    )


def save_attachments(
    case: Case, step: Step | None, uploads: Sequence[CheckedUpload], actor: Any
) -> list[Attachment]:
    saved = []
    for upload in uploads:
        attachment = Attachment(
            case=case,
            step=step,
            kind=upload.kind,
            name=upload.name,
            size=upload.size,
            content_type=upload.content_type,
            uploaded_by=_user(actor),
            public=False,
        )
        attachment.file.save(upload.name, upload.file, save=False)
        attachment.save()
        saved.append(attachment)
    return saved


def lead_people(case: Case) -> list[User]:
    handlers = {Role.DEPARTMENT_STAFF, Role.COMMUNITY_STAFF, Role.GRID_WORKER}
    if case.lead_department_id is not None:
        return people(department=case.lead_department_id)
    if case.lead_unit_id is not None:
        return people(unit=case.lead_unit_id, roles=handlers)
    return []


def leaders_over(case: Case) -> list[User]:
    """The leader in charge, else the sub-district's leaders above the case's place."""
    leader = case.leader_in_charge if case.leader_in_charge_id is not None else None  # no query when unset
    if leader is not None and leader.is_active:
        return [leader]
    return people(at_or_above=case.org_path, roles=[Role.LEADER])


def _notify(users: Iterable[User], case: Case, title: str, body: str = "", sms: bool = False) -> None:
    from jiedao.notifications.services import EMAIL, INBOX, SMS, notify

    users = [u for u in users if u is not None]
    if not users:
        return
    channels = [INBOX, SMS, EMAIL] if sms else [INBOX]
    notify(users, title=title[:200], body=body, url=f"/cases/{case.number}/", kind="case", channels=channels)


def tell_requester(case: Case, text: str) -> None:
    """Send the requester an SMS after commit (anonymous requesters and cases without a phone get none)."""
    if case.anonymous or not case.requester_phone:
        return
    phone = case.requester_phone
    message = _("【街道】您的诉求 %(number)s：%(text)s 可凭编号和手机号后四位查询进度。") % {
        "number": case.number,
        "text": text,
    }

    def send() -> None:
        from jiedao.notifications.sms import get_sms_backend

        try:
            get_sms_backend().send(phone, message)
        except Exception:  # a failing gateway never breaks the case
            logger.exception("SMS to requester of %s failed", case.number)

    transaction.on_commit(send)


def _lock(case: Case, version: int | None, actor: Any, action: str) -> tuple[Case, bool]:
    """Lock the case row and compare versions (`core.concurrency`): returns (current, already_done)."""
    return lock_versioned(
        Case.objects.select_related("category", "org_unit", "lead_unit", "lead_department"),
        case.pk,
        version,
        _user(actor),
        action,
        # The step the person took, not the system's follow-up to it (不满意 writes 重办 right after 评价).
        last_step=lambda c: (
            c.steps.exclude(action="reopen", actor=None).order_by("-created_at", "-id").first()
        ),
        conflict=lambda c: (
            _(
                "工单 %(number)s 已被他人更新（您看到的是第 %(mine)s 版，当前是第 %(now)s 版）。"
                "请刷新页面查看最新情况后再操作。"
            )
            % {"number": c.number, "mine": version, "now": c.version}
        ),
    )


def _save(case: Case, actor: Any) -> None:
    case.version += 1
    case._history_user = _user(actor)  # type: ignore[attr-defined]
    case.save()


def _event(kind: str, actor: Any, case: Case, data: dict[str, Any] | None = None) -> None:
    record_event(kind, actor=_user(actor), obj=case, data={"number": case.number, **(data or {})})


class _Repeated(Exception):
    """Rolls back the body of a step submitted twice (never raised to callers)."""


class Transition:
    """`with Transition(actor, case, version, "verify") as t: t.case.xxx = …` — checks, locks, and on exit
    sets the target status, saves, writes the step and the audit event."""

    def __init__(
        self, actor: Any, case: Case, version: int | None, name: str, *, public: bool = True
    ) -> None:
        self.actor, self.name, self.version = actor, name, version
        self.spec = workflow.get(name)
        self.case = case
        self.note = ""
        self.data: dict[str, Any] = {}
        self.public = public
        self.target: str | None = self.spec.target
        self.done_already = False
        self.step: Step | None = None
        self._atomic = transaction.atomic()

    def __enter__(self) -> Transition:
        self._atomic.__enter__()
        try:
            self.case, self.done_already = _lock(self.case, self.version, self.actor, self.name)
            if not self.done_already and self.actor not in (None, PUBLIC):
                rules.check(self.actor, self.case, self.name)
            elif not self.done_already and self.case.status not in self.spec.sources:
                # The portal and the system have no role to check, but the state holds for them too.
                raise ValidationError(rules.refusal(None, self.case, self.name) or self.name)
            self.from_status = self.case.status
        except BaseException as exc:
            self._atomic.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool | None:
        if self.done_already and (exc_type is None or issubclass(exc_type, Exception)):
            # A double submit: the step's body ran again (a second request, assignment …). Undo all of it,
            # swallow what it raised, and hand back the case as the first submit left it.
            self._atomic.__exit__(_Repeated, _Repeated(), None)
            self.case = Case.objects.select_related(
                "category", "org_unit", "lead_unit", "lead_department"
            ).get(pk=self.case.pk)
            return True
        try:
            if exc_type is None and not self.done_already:
                if self.target is not None:
                    self.case.status = self.target
                _save(self.case, self.actor)
                self.step = add_step(
                    self.case,
                    self.name,
                    self.actor,
                    from_status=self.from_status,
                    note=self.note,
                    data=self.data,
                    public=self.public,
                )
                _event(
                    f"case.{self.name}",
                    self.actor,
                    self.case,
                    {"from": self.from_status, "to": self.case.status, **self.data},
                )
        except BaseException as inner:
            self._atomic.__exit__(type(inner), inner, inner.__traceback__)
            raise
        self._atomic.__exit__(exc_type, exc, tb)
        return None


# ---------------------------------------------------------------------------------------------------------
# Intake


def validate_extra(
    category: Category, values: dict[str, Any], fields: Sequence[CategoryField] | None = None
) -> dict[str, Any]:
    """Check the category's extra fields (`fields`, when the caller has them); returns cleaned values keyed by
    field code."""
    cleaned: dict[str, Any] = {}
    errors: list[str] = []
    specs: Iterable[CategoryField] = (
        fields
        if fields is not None
        else CategoryField.objects.filter(category__in=category.lineage()).order_by("sort_order")
    )
    for field in specs:
        raw = values.get(field.code)
        empty = raw in (None, "", [], ())
        if empty:
            if field.required:
                errors.append(_("请填写“%(label)s”。") % {"label": field.label})
            continue
        keys = {str(c.get("key")) for c in field.choices or []}
        if field.datatype == FieldType.NUMBER:
            try:
                cleaned[field.code] = float(str(raw))
            except ValueError:
                errors.append(_("“%(label)s”须为数字。") % {"label": field.label})
        elif field.datatype == FieldType.DATETIME:
            from django.utils.dateparse import parse_date, parse_datetime

            text = str(raw)
            try:
                parsed = parse_datetime(text) or parse_date(text)
            except ValueError:
                parsed = None
            if parsed is None:
                errors.append(_("“%(label)s”须为日期，如 2026-11-22。") % {"label": field.label})
            else:
                cleaned[field.code] = text
        elif field.datatype == FieldType.SINGLE:
            if str(raw) not in keys:
                errors.append(_("“%(label)s”的选项无效。") % {"label": field.label})
            else:
                cleaned[field.code] = str(raw)
        elif field.datatype == FieldType.MULTI:
            items = [str(v) for v in (raw if isinstance(raw, list | tuple) else [raw])]
            if not set(items) <= keys:
                errors.append(_("“%(label)s”的选项无效。") % {"label": field.label})
            else:
                cleaned[field.code] = items
        else:
            cleaned[field.code] = str(raw)[:1000]
    if errors:
        raise ValidationError(errors)
    return cleaned


def _petition_leader(unit: OrgUnit) -> User | None:
    """包案领导 by default: the leader whose 联系点 contains the place."""
    contact = (
        ContactCommunity.objects.filter(org_path__in=OrgUnit.path_lineage(unit.path), leader__is_active=True)
        .select_related("leader")
        .order_by("-org_path")
        .first()
    )
    return contact.leader if contact else None


def create_case(
    actor: Any,
    *,
    channel: str,
    category: Category,
    org_unit: OrgUnit,
    description: str,
    title: str = "",
    priority: str = Priority.NORMAL,
    confidential: bool = False,
    extra: dict[str, Any] | None = None,
    address: str = "",
    longitude: float | None = None,
    latitude: float | None = None,
    requester_name: str = "",
    requester_phone: str = "",
    anonymous: bool = False,
    petition_type: str = "",
    accused_unit: OrgUnit | None = None,
    accused_department: Department | None = None,
    same_facts_as: Case | None = None,
    leader_in_charge: User | None = None,
    uploads: Sequence[CheckedUpload] = (),
    idempotency_key: str | None = None,
    submit_ip: str | None = None,
    accept: bool = False,
    now: datetime | None = None,
    leaf_fields: Sequence[CategoryField] | None = None,
) -> Case:
    """Register a case. Staff (`actor` a user) need "case.create" on the place; the public portal and Open311
    pass actor=PUBLIC. With `accept`, a staff member who may accept takes it in at once. A repeated
    `idempotency_key` returns the case already made by the first submit. `leaf_fields`: the category's extra
    fields from a caller that knows the category is a leaf (the portal's cached catalogue), saving the
    look-ups."""
    now = now or timezone.now()
    if isinstance(actor, User):
        require(actor, "case.create", org_unit)
        if accept:
            require(actor, "case.accept", org_unit)
    elif actor != PUBLIC:
        raise PermissionDenied("case.create")
    if idempotency_key:  # a repeat is caught by the key's unique index (see the end)
        idempotency_key = hashlib.sha256(idempotency_key.encode()).hexdigest()
    description = (description or "").strip()
    errors: list[str] = []
    if not category.is_active or (leaf_fields is None and category.children.filter(is_active=True).exists()):
        errors.append(_("请选择具体的诉求类别。"))
    if len(description) < 5:
        errors.append(_("请把诉求内容写清楚（至少 5 个字）。"))
    if org_unit.kind == OrgUnit.Kind.DISTRICT:
        errors.append(_("请选择诉求所在的街道、社区或网格。"))
    if (
        not anonymous
        and not requester_phone
        and channel not in (Channel.GRID, Channel.PATROL, Channel.HOTLINE)
    ):
        errors.append(_("请留下联系电话，或选择匿名。"))
    if petition_type == PetitionType.ACCUSATION and accused_unit is None and accused_department is None:
        errors.append(_("检举控告类信访件须注明被检举控告的单位或科室。"))
    if petition_type and petition_type not in PetitionType.values:
        errors.append(_("信访类型无效。"))
    if priority not in Priority.values:
        errors.append(_("紧急程度无效。"))
    if channel not in Channel.values:
        errors.append(_("渠道无效。"))
    if errors:
        raise ValidationError(errors)
    cleaned_extra = validate_extra(category, extra or {}, leaf_fields)
    title = (title or description).strip().replace("\n", " ")[:60]

    # Everything that does not need the write lock is done before the transaction takes it.
    case = Case(
        channel=channel,
        category=category,
        priority=priority,
        confidential=confidential or petition_type == PetitionType.ACCUSATION,
        title=title,
        description=description,
        extra=cleaned_extra,
        org_unit=org_unit,
        address=address[:200],
        longitude=longitude,
        latitude=latitude,
        anonymous=anonymous,
        requester_name="" if anonymous else requester_name[:60],
        requester_phone="" if anonymous else requester_phone[:20],
        petition_type=petition_type,
        accused_unit=accused_unit,
        accused_department=accused_department,
        same_facts_as=same_facts_as,
        leader_in_charge=leader_in_charge or (_petition_leader(org_unit) if petition_type else None),
        status=Status.REGISTERED,
        received_at=now,
        idempotency_key=idempotency_key or None,
        submit_ip=submit_ip,
        created_by=_user(actor),
    )
    refused_reason = ""
    if petition_type and same_facts_as is not None and same_facts_as.review_level >= 2:
        refused_reason = _(
            "该事项已于 %(number)s 办理并经复核，信访人以同一事实和理由再次提出，"
            "不再受理（信访工作条例第三十五条）。"
        ) % {"number": same_facts_as.number}
        case.status = Status.NOT_ACCEPTED
        case.reply = refused_reason
        case.closed_at = now  # answered at once, like any 不予受理 (see refuse)
    elif accept:
        case.status = Status.ACCEPTED
        case.accepted_at = now
        clock.handling_deadline(case, now).apply(case)
    elif petition_type:
        clock.petition_accept_deadline(now).apply(case)
    case._history_user = _user(actor)  # type: ignore[attr-defined]
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # The number is taken in its own short transaction: inside the registration's, the day's counter row
        # would stay locked until that commits, and every other registration (two portal workers) would
        # wait for all of it. A registration that then fails leaves its number unused: numbers are unique and
        # rising within a day, not gapless. (SQLite lets one writer at a time in anyway: there the number is
        # taken inside, saving a commit.)
        case.number = next_number(now)
    try:
        with transaction.atomic():
            if not case.number:
                case.number = next_number(now)
            case.save()
            step = add_step(case, "create", actor, note=refused_reason, data={"channel": channel}, now=now)
            if accept:
                add_step(case, "accept", actor, from_status=Status.REGISTERED, now=now)
            save_attachments(case, step, uploads, actor)
            if case.status == Status.NOT_ACCEPTED:
                tell_requester(case, refused_reason)
            else:
                clock.schedule_clocks(case, now, new_case=True)
            # Last: the audit event locks the chain head until the commit, which serialises every writer.
            _event("case.create", actor, case, {"channel": channel, "status": case.status})
    except IntegrityError:
        # The same submit again (a double tap, a client's retry): the key's unique index refused the row, the
        # whole registration (its number included) is rolled back, and the case the first submit made is it.
        found = Case.objects.filter(idempotency_key=idempotency_key).first() if idempotency_key else None
        if found is None:
            raise
        return found
    return case


def import_case_row(actor: User, *, hotline_number: str = "", **fields: Any) -> Case:
    """One row of a 12345 transfer import (channel 上级交办), accepted at once; used inside the import's
    transaction (all rows or none). The 转办编号 is kept in `extra["hotline_number"]` (create_case keeps only
    the category's declared extra fields there)."""
    case = create_case(actor, channel=Channel.HOTLINE, accept=True, **fields)
    if hotline_number and case.extra.get("hotline_number") != hotline_number:
        case.extra = {**case.extra, "hotline_number": hotline_number}
        case._history_user = _user(actor)  # type: ignore[attr-defined]
        case.save(update_fields=["extra", "updated_at"])
    return case


# ---------------------------------------------------------------------------------------------------------
# The main line


def accept(actor: User, case: Case, *, version: int | None, note: str = "") -> Case:
    with Transition(actor, case, version, "accept") as t:
        now = timezone.now()
        t.note = note
        c = t.case
        c.accepted_at = now
        clock.handling_deadline(c, now).apply(c)
    if not t.done_already:
        clock.schedule_clocks(t.case)
        tell_requester(t.case, _("已受理"))
    return t.case


def refuse(actor: User, case: Case, *, version: int | None, reason: str) -> Case:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("不予受理须写明理由，理由会告知诉求人。"))
    with Transition(actor, case, version, "refuse") as t:
        t.note = reason
        t.case.reply = reason
        t.case.closed_at = timezone.now()
        clock.cancel_clocks(t.case)
    if not t.done_already:
        tell_requester(t.case, _("不予受理。理由：%(reason)s") % {"reason": reason})
    return t.case


def dispatch(
    actor: User,
    case: Case,
    *,
    version: int | None,
    lead_unit: OrgUnit | None = None,
    lead_department: Department | None = None,
    co_units: Sequence[OrgUnit] = (),
    co_departments: Sequence[Department] = (),
    note: str = "",
) -> Case:
    """派遣: one lead (unit or department) and any co-handlers; without a lead, the routing suggestion."""
    with Transition(actor, case, version, "dispatch") as t:
        c = t.case
        route = None
        if lead_unit is None and lead_department is None:
            route = routing.route(c)
            lead_unit, lead_department = route.unit, route.department
        routing.check_target(c, lead_unit, lead_department)
        for dept in co_departments:
            if routing.accuses(c, None, dept):
                raise ValidationError(_("检举控告类信访件不得交被检举控告的科室协办。"))
        for unit in co_units:
            if routing.accuses(c, unit, None):
                raise ValidationError(_("检举控告类信访件不得交被检举控告的单位协办。"))
        now = timezone.now()
        inside = lead_unit is not None and lead_unit.path.startswith(c.org_unit.path)
        if inside and lead_department is None and lead_unit is not None and lead_unit.pk != c.org_unit_id:
            t.data["moved_from"] = c.org_unit.code
            c.org_unit = lead_unit  # dispatched to a grid inside the place: the place is that grid
        c.assignments.filter(state=Assignment.State.ACTIVE).exclude(role=Assignment.Role.WHISTLE).update(
            state=Assignment.State.ENDED
        )
        # A contest left pending by an escalation is answered by this new dispatch.
        c.requests.filter(kind=Request.Kind.CONTEST, decision=Request.Decision.PENDING).update(
            decision=Request.Decision.APPROVED,
            decided_by=actor,
            decided_at=now,
            decision_note=_("已重新派遣。"),
        )
        Assignment.objects.create(
            case=c,
            role=Assignment.Role.LEAD,
            unit=None if lead_department else lead_unit,
            department=lead_department,
        )
        for unit in co_units:
            Assignment.objects.create(case=c, role=Assignment.Role.CO, unit=unit)
        for dept in co_departments:
            Assignment.objects.create(case=c, role=Assignment.Role.CO, department=dept)
        c.lead_unit = lead_unit if lead_department is None else lead_department.org_unit
        c.lead_department = lead_department
        c.handler = None
        c.dispatched_at = now
        c.responded_at = None
        c.dispatch_rule = route.rule if route else None
        policy = clock.policy_for(c.category, c.priority)
        c.response_due_at = now + timedelta(hours=policy.response_hours)
        if c.due_at is None or c.accepted_at is None:
            c.accepted_at = c.accepted_at or now
            clock.handling_deadline(c, c.accepted_at).apply(c)
        target = str(lead_department or lead_unit)
        t.note = note
        t.data.update(
            {
                "lead": target,
                "co": [str(x) for x in [*co_units, *co_departments]],
                "route": route.reason if route else "",
            }
        )
    if not t.done_already:
        c = t.case
        clock.schedule_clocks(c)
        _notify(
            lead_people(c), c, _("新派工单 %(n)s：%(t)s") % {"n": c.number, "t": c.title}, c.deadline_rule
        )
    return t.case


def sign(actor: User, case: Case, *, version: int | None, note: str = "") -> Case:
    """签收: the lead unit takes the case in hand (this is its response)."""
    with Transition(actor, case, version, "sign") as t:
        t.note = note
        c = t.case
        c.handler = actor
        if c.responded_at is None:
            c.responded_at = timezone.now()
    if not t.done_already:
        clock.schedule_clocks(t.case)
    return t.case


def contest(actor: User, case: Case, *, version: int | None, reason_code: str, reason: str) -> Case:
    """退单: the lead unit contests the assignment with its reasons; a dispatcher reviews."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("退单须写明理由。"))
    with Transition(actor, case, version, "contest", public=False) as t:
        refusal = clock.contest_window_refusal(t.case)
        if refusal:
            raise ValidationError(refusal)
        Request.objects.create(
            case=t.case,
            kind=Request.Kind.CONTEST,
            reason_code=reason_code[:32],
            reason=reason,
            requested_by=actor,
            requested_at=timezone.now(),
        )
        t.note = reason
        t.data = {"reason_code": reason_code}
    if not t.done_already:
        dispatcher = (
            t.case.steps.filter(action="dispatch")
            .order_by("-created_at")
            .values_list("actor", flat=True)
            .first()
        )
        reviewers = list(User.objects.filter(pk=dispatcher)) if dispatcher else leaders_over(t.case)
        _notify(reviewers, t.case, _("工单 %(n)s 被退单，请审核") % {"n": t.case.number}, reason)
    return t.case


def decide_contest(actor: User, case: Case, *, version: int | None, approve: bool, note: str = "") -> Case:
    """Approve (the case goes back to be dispatched again) or refuse (back to the lead unit)."""
    with Transition(actor, case, version, "decide_contest", public=False) as t:
        request = t.case.requests.filter(kind=Request.Kind.CONTEST, decision=Request.Decision.PENDING).first()
        if request is None:
            raise ValidationError(_("没有待审核的退单申请。"))
        if approve:
            t.target = Status.ACCEPTED
            t.case.assignments.filter(
                state=Assignment.State.ACTIVE, role__in=[Assignment.Role.LEAD, Assignment.Role.CO]
            ).update(state=Assignment.State.ENDED)
            t.case.lead_unit = None
            t.case.lead_department = None
            # A dispatch to a grid inside the place narrowed the place to that grid; the contest says the
            # grid was wrong, so the place is what it was before that dispatch.
            last = t.case.steps.filter(action="dispatch").order_by("-created_at", "-id").first()
            moved_from = (last.data or {}).get("moved_from") if last is not None else None
            original = OrgUnit.objects.filter(code=moved_from).first() if moved_from else None
            if original is not None:
                t.case.org_unit = original
        else:
            t.target = Status.DISPATCHED
            if not (note or "").strip():
                raise ValidationError(_("驳回退单须写明理由。"))
        request.decision = Request.Decision.APPROVED if approve else Request.Decision.REFUSED
        request.decided_by, request.decided_at, request.decision_note = actor, timezone.now(), note
        request.save()
        t.note = note
        t.data = {"approved": approve}
    if not t.done_already:
        requester = User.objects.filter(pk__in=[request.requested_by_id] if request.requested_by_id else [])
        verdict = _("退单已同意，工单将重新派遣。") if approve else _("退单被驳回，请继续办理。")
        _notify(requester, t.case, f"{t.case.number} {verdict}", note)
        clock.schedule_clocks(t.case)
    return t.case


def report(
    actor: User, case: Case, *, version: int | None, note: str, uploads: Sequence[CheckedUpload] = ()
) -> Case:
    """反馈: the handler reports what was done, with photos or files."""
    note = (note or "").strip()
    if not note:
        raise ValidationError(_("请填写办理情况。"))
    with Transition(actor, case, version, "report") as t:
        t.note = note
        t.case.handler = actor
        t.case.reported_at = timezone.now()
    if not t.done_already:
        save_attachments(t.case, t.step, uploads, actor)
    return t.case


def verify(actor: User, case: Case, *, version: int | None, note: str = "") -> Case:
    with Transition(actor, case, version, "verify") as t:
        t.note = note
    return t.case


def send_back(actor: User, case: Case, *, version: int | None, note: str) -> Case:
    note = (note or "").strip()
    if not note:
        raise ValidationError(_("退回须写明原因。"))
    with Transition(actor, case, version, "send_back") as t:
        t.note = note
    if not t.done_already:
        _notify(lead_people(t.case), t.case, _("工单 %(n)s 核查未通过，已退回") % {"n": t.case.number}, note)
    return t.case


def close(actor: User, case: Case, *, version: int | None, outcome: str, reply: str) -> Case:
    """结案 with an honest outcome and the reply the requester reads."""
    reply = (reply or "").strip()
    errors = []
    if outcome not in Outcome.values:
        errors.append(_("请选择办理结果。"))
    if not reply:
        errors.append(_("请填写给诉求人的答复意见。"))
    if errors:
        raise ValidationError(errors)
    with Transition(actor, case, version, "close") as t:
        t.case.outcome, t.case.reply, t.case.closed_at = outcome, reply, timezone.now()
        t.note = reply
        t.data = {"outcome": outcome}
        clock.cancel_clocks(t.case)
    if not t.done_already:
        tell_requester(t.case, _("已办结（%(outcome)s），欢迎评价。") % {"outcome": Outcome(outcome).label})
    return t.case


def rate(actor: Any, case: Case, *, version: int | None, rating: str, comment: str = "") -> Case:
    """回访评价 (staff calling back, or the requester on the public page with actor=PUBLIC). 不满意 reopens
    the
    case to its lead unit (重办) with a fresh deadline."""
    if rating not in Rating.values:
        raise ValidationError(_("请选择评价。"))
    with Transition(actor, case, version, "rate") as t:
        c = t.case
        now = timezone.now()
        c.rating, c.rating_comment, c.rated_at = rating, (comment or "")[:500], now
        t.note = c.rating_comment
        t.data = {"rating": rating}
        if rating == Rating.UNSATISFIED:
            t.target = Status.HANDLING if c.lead_unit_id or c.lead_department_id else Status.ACCEPTED
            c.reopen_count += 1
            c.outcome = ""
            c.closed_at = None
            clock.handling_deadline(c, now).apply(c)
        else:
            t.target = Status.RATED
    if not t.done_already and rating == Rating.UNSATISFIED:
        add_step(t.case, "reopen", None, from_status=Status.CLOSED, note=_("诉求人不满意，重办。"))
        _event("case.reopen", None, t.case, {"reopen_count": t.case.reopen_count})
        clock.schedule_clocks(t.case)
        _notify(lead_people(t.case), t.case, _("工单 %(n)s 评价不满意，重办") % {"n": t.case.number}, comment)
    return t.case


# ---------------------------------------------------------------------------------------------------------
# Beside the main line


def request_extension(actor: User, case: Case, *, version: int | None, days: int, reason: str) -> Case:
    reason = (reason or "").strip()
    limit = clock.PETITION_EXTENSION_MAX_DAYS if case.is_petition else clock.EXTENSION_MAX_DAYS
    errors = []
    if not reason:
        errors.append(_("申请延期须写明理由，理由会告知诉求人。"))
    if not isinstance(days, int) or days < 1 or days > limit:
        errors.append(_("延期天数须在 1 到 %(max)s 天之间。") % {"max": limit})
    if case.is_petition and case.extension_days > 0:
        errors.append(_("信访事项只能延期一次（信访工作条例第三十二条），本件已延期。"))
    if errors:
        raise ValidationError(errors)
    with Transition(actor, case, version, "request_extension", public=False) as t:
        Request.objects.create(
            case=t.case,
            kind=Request.Kind.EXTENSION,
            reason=reason,
            days=days,
            requested_by=actor,
            requested_at=timezone.now(),
        )
        t.note = reason
        t.data = {"days": days}
    if not t.done_already:
        _notify(leaders_over(t.case), t.case, _("工单 %(n)s 申请延期，请审批") % {"n": t.case.number}, reason)
    return t.case


def decide_extension(actor: User, case: Case, *, version: int | None, approve: bool, note: str = "") -> Case:
    """Approve (the deadline moves; the requester is told why) or refuse (with the reason)."""
    with Transition(actor, case, version, "decide_extension") as t:
        c = t.case
        request = c.requests.filter(kind=Request.Kind.EXTENSION, decision=Request.Decision.PENDING).first()
        assert request is not None  # rules.check makes sure
        if not approve and not (note or "").strip():
            raise ValidationError(_("不同意延期须写明理由。"))
        request.decision = Request.Decision.APPROVED if approve else Request.Decision.REFUSED
        request.decided_by, request.decided_at, request.decision_note = actor, timezone.now(), note
        request.save()
        days = int(request.days or 0)
        if approve:
            clock.extended(c, days).apply(c)
            c.extension_days += days
        t.note = note
        t.data = {"approved": approve, "days": days, "reason": request.reason}
    if not t.done_already:
        if approve:
            clock.schedule_clocks(t.case)
            tell_requester(
                t.case,
                _("办理期限延长 %(days)s 日，原因：%(reason)s") % {"days": days, "reason": request.reason},
            )
        _notify(
            User.objects.filter(pk__in=[request.requested_by_id] if request.requested_by_id else []),
            t.case,
            (_("工单 %(n)s 延期已批准") if approve else _("工单 %(n)s 延期未获批准")) % {"n": t.case.number},
            note,
        )
    return t.case


def merge(actor: User, case: Case, *, version: int | None, into: Case, note: str = "") -> Case:
    """合并: a duplicate is merged into another open case; every requester is told the number to follow."""
    with Transition(actor, case, version, "merge") as t:
        c = t.case
        # Checked after the actor's role and scope (an outsider is refused as such, not told about `into`).
        if into.pk == case.pk:
            raise ValidationError(_("不能把工单并入它自己。"))
        if not Case.objects.visible_to(actor).filter(pk=into.pk).exists():
            raise ValidationError(_("找不到要并入的工单。"))
        into.refresh_from_db(fields=["status"])
        if into.status not in OPEN_STATUSES or into.status == Status.MERGED:
            raise ValidationError(
                _("只能并入仍在办理中的工单（%(number)s 当前为“%(status)s”）。")
                % {"number": into.number, "status": into.get_status_display()}
            )
        c.merged_into = into
        c.closed_at = timezone.now()
        clock.cancel_clocks(c)
        moved = list(Case.objects.filter(merged_into=c).values_list("number", flat=True))
        Case.objects.filter(merged_into=c).update(merged_into=into)
        t.note = note
        t.data = {"into": into.number, "also": moved}
    if not t.done_already:
        add_step(into, "merged_in", actor, note=note, data={"from": case.number, "also": moved}, public=False)
        Case.objects.filter(pk=into.pk).update(version=F("version") + 1)
        for other in [t.case, *Case.objects.filter(number__in=moved)]:
            tell_requester(other, _("与相同诉求合并办理，请以 %(into)s 查询进度。") % {"into": into.number})
    return t.case


def link(actor: User, case: Case, other: Case, note: str = "") -> None:
    """关联: mark two cases as related (same place, recurrence) without merging them."""
    require(actor, "case.comment", case)
    if not Case.objects.visible_to(actor).filter(pk=other.pk).exists() or other.pk == case.pk:
        raise ValidationError(_("找不到要关联的工单。"))
    with transaction.atomic():
        add_step(case, "link", actor, note=note, data={"other": other.number}, public=False)
        add_step(other, "link", actor, note=note, data={"other": case.number}, public=False)
        _event("case.link", actor, case, {"other": other.number})


def escalate(actor: User, case: Case, *, version: int | None, reason: str) -> Case:
    """升级 to the district (分级负责): the district's staff take it from there."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("升级须写明原因。"))
    with Transition(actor, case, version, "escalate") as t:
        t.case.escalated = True
        t.note = reason
    if not t.done_already:
        _notify(
            people(at_or_above=t.case.org_path, roles=[Role.DISTRICT_STAFF]),
            t.case,
            _("街道上报工单 %(n)s，请区级处理") % {"n": t.case.number},
            reason,
        )
    return t.case


def whistle(
    actor: User,
    case: Case,
    *,
    version: int | None,
    departments: Sequence[Department] = (),
    units: Sequence[OrgUnit] = (),
    note: str = "",
) -> Case:
    """吹哨: call departments (or units) onto the case; each must report in (报到)."""
    if not departments and not units:
        raise ValidationError(_("请选择要召集的科室或单位。"))
    with Transition(actor, case, version, "whistle", public=False) as t:
        for dept in departments:
            if routing.accuses(t.case, None, dept):
                raise ValidationError(_("检举控告类信访件不得召集被检举控告的科室。"))
            Assignment.objects.create(
                case=t.case,
                role=Assignment.Role.WHISTLE,
                department=dept,
                state=Assignment.State.PENDING,
                note=note[:300],
            )
        for unit in units:
            if routing.accuses(t.case, unit, None):
                raise ValidationError(_("检举控告类信访件不得召集被检举控告的单位。"))
            Assignment.objects.create(
                case=t.case,
                role=Assignment.Role.WHISTLE,
                unit=unit,
                state=Assignment.State.PENDING,
                note=note[:300],
            )
        t.note = note
        t.data = {"called": [str(x) for x in [*departments, *units]]}
    if not t.done_already:
        called: list[User] = []
        for dept in departments:
            called += people(department=dept)
        for unit in units:
            called += people(unit=unit, roles=[Role.COMMUNITY_STAFF, Role.GRID_WORKER, Role.DEPARTMENT_STAFF])
        _notify(called, t.case, _("吹哨：请到工单 %(n)s 报到") % {"n": t.case.number}, note, sms=True)
    return t.case


def report_in(actor: User, case: Case, *, version: int | None, note: str = "") -> Case:
    with Transition(actor, case, version, "report_in", public=False) as t:
        assignment = rules.pending_whistle(actor, t.case)
        assert assignment is not None  # rules.check makes sure
        assignment.state = Assignment.State.CONFIRMED
        assignment.confirmed_at, assignment.confirmed_by = timezone.now(), actor
        assignment.save()
        t.note = note
        t.data = {"who": assignment.target_name}
    return t.case


def request_review(actor: User, case: Case, *, version: int | None, note: str) -> Case:
    """The petitioner asks for 复查 (or, after it, 复核); registered by staff."""
    with Transition(actor, case, version, "request_review") as t:
        c = t.case
        now = timezone.now()
        clock.review_answer_deadline(now, c.review_level).apply(c)
        t.note = note
        t.data = {"level": c.review_level + 1}
    if not t.done_already:
        clock.schedule_clocks(t.case)
        _notify(leaders_over(t.case), t.case, _("信访件 %(n)s 申请复查/复核") % {"n": t.case.number}, note)
    return t.case


def answer_review(actor: User, case: Case, *, version: int | None, reply: str, outcome: str = "") -> Case:
    reply = (reply or "").strip()
    if not reply:
        raise ValidationError(_("请填写复查/复核意见。"))
    with Transition(actor, case, version, "answer_review") as t:
        c = t.case
        c.review_level += 1
        c.reply = reply
        if outcome in Outcome.values:
            c.outcome = outcome
        c.closed_at = timezone.now()
        c.rating, c.rated_at = "", None
        t.note = reply
        t.data = {"level": c.review_level}
        clock.cancel_clocks(c)
    if not t.done_already:
        what = _("复查") if t.case.review_level == 1 else _("复核")
        tell_requester(t.case, _("%(what)s意见已出具。") % {"what": what})
    return t.case


def comment(actor: User, case: Case, *, note: str, uploads: Sequence[CheckedUpload] = ()) -> Step:
    """A note (and files) on the timeline; no state change, no version check."""
    note = (note or "").strip()
    if not note and not uploads:
        raise ValidationError(_("请填写备注或选择文件。"))
    rules.check(actor, case, "comment")
    with transaction.atomic():
        step = add_step(case, "comment", actor, from_status=case.status, note=note, public=False)
        save_attachments(case, step, uploads, actor)
        _event("case.comment", actor, case, {"files": len(uploads)})
    return step


# ---------------------------------------------------------------------------------------------------------
# Timed actions (called by the deadline engine through clock.fire_clock)


def on_clock(item: Clock) -> None:
    # No joins: on PostgreSQL planning a six-way join costs more than the few related rows loaded on demand.
    case = Case.objects.get(pk=item.case_id)
    item.case = case  # the engine's "deadline.fired" event reads the clock's scope through it
    if case.status not in OPEN_STATUSES:
        return
    if (
        item.kind in (Clock.Kind.REMIND, Clock.Kind.OVERDUE, Clock.Kind.REVIEW_ANSWER)
        and case.due_at != item.deadline
    ):
        return  # the deadline moved (extension, reopening): a newer clock covers it
    number = case.number
    if item.kind == Clock.Kind.REMIND:
        handler = case.handler if case.handler_id is not None else None  # no query when unset
        recipients = lead_people(case) + ([handler] if handler is not None else [])
        title = clock.remind_text(number, item.deadline)  # the case's deadline (checked above)
        action = "remind"
    elif item.kind == Clock.Kind.OVERDUE:
        recipients = leaders_over(case) + lead_people(case)
        title = clock.overdue_text(number)
        action = "overdue"
    elif item.kind == Clock.Kind.RESPONSE:
        if case.responded_at is not None or case.status != Status.DISPATCHED:
            return
        recipients = lead_people(case)
        title = _("响应超时：工单 %(n)s 尚未签收") % {"n": number}
        action = "response_overdue"
    elif item.kind == Clock.Kind.PETITION_ACCEPT:
        if case.status != Status.REGISTERED:
            return
        recipients = leaders_over(case) + people(at_or_above=case.org_path, roles=[Role.DEPARTMENT_STAFF])
        title = _("信访件 %(n)s 已超过 15 日告知期限，尚未决定是否受理") % {"n": number}
        action = "petition_accept_overdue"
    else:
        if case.status != Status.UNDER_REVIEW:
            return
        recipients = leaders_over(case)
        title = _("信访件 %(n)s 复查/复核已超过 30 日答复期限") % {"n": number}
        action = "review_overdue"
    add_step(case, action, None, from_status=case.status, note=title, data={"clock": item.pk}, public=False)
    _event(f"case.{action}", None, case, {"recipients": [u.pk for u in recipients]})
    _notify(set(recipients), case, title, case.deadline_rule, sms=item.kind != Clock.Kind.REMIND)
