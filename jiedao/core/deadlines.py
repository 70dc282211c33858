"""The deadline and reminder engine shared by all modules.

A model that must act at a time mixes in `DueItemMixin` (an indexed `due_at` and a `due_state`) and registers
a handler with `register_due(Model, handler)`, usually in its app's `ready()`. `run_due()` is one pass of the
worker: for every registered model it selects what is due (pending rows with `due_at <= now`, through the
(due_state, due_at) index, plus rows claimed longer ago than the lease — their worker died) and claims the due
rows, a batch at a time, with one conditional UPDATE and one new token::

    UPDATE … SET due_state='claimed', claim_token=<new>, claimed_at=now, attempts=attempts+1
    WHERE id IN (…) AND due_state='pending' AND due_at <= now

(a stale row: `WHERE id=? AND due_state='claimed' AND claim_token=<seen token>`), then goes on with the rows
that carry its token: another worker's UPDATE of the same rows finds them claimed and skips them. The handler
then runs in a transaction which also marks the row done (again conditionally on the claim token, so a worker
whose claim was taken over rolls back) and writes a "deadline.fired" audit event; side effects such as e-mail
are sent on commit. A handler that raises puts the row back to pending with `last_error` (to be retried at the
next pass), or to failed after `max_attempts`, and writes "deadline.failed". Any number of workers may run at
once: no broker, no locks held while handlers run.

Run it with `python manage.py tick` (one pass; `--loop` to repeat) or through django-tasks
(`python manage.py schedule_tick && python manage.py db_worker`, see `jiedao.core.tasks`).

Reminders (`Reminder`) are the engine's first client: `schedule_reminder` / `cancel_reminder` are their
services, and `pending_reminders_for(user)` lists a user's upcoming ones for the home page.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import OperationalError, connection, models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.audit.services import record_event
from jiedao.core.models.deadlines import DueItemMixin, DueState, Reminder
from jiedao.core.models.org import OrgUnit
from jiedao.core.permissions import can, is_unrestricted, require

logger = logging.getLogger(__name__)

DueHandler = Callable[[Any], None]
T = TypeVar("T")

#: On SQLite a writer may find the database locked by another (the busy timeout does not cover every case,
#: e.g. a shared-cache database); such a step is retried for up to this long before it counts as an error.
SQLITE_LOCK_RETRY_SECONDS = 30.0


@dataclass(frozen=True)
class DueRegistration:
    model: type[models.Model]
    handler: DueHandler
    lease: timedelta
    max_attempts: int


_REGISTRY: dict[str, DueRegistration] = {}


def register_due(
    model: type[models.Model],
    handler: DueHandler,
    *,
    lease: timedelta = timedelta(minutes=10),
    max_attempts: int = 5,
) -> None:
    """Have `run_due` call `handler(item)` for every row of `model` that falls due.

    `lease`: how long a claim is trusted; a row claimed longer ago is taken over by the next pass (its worker
    is presumed dead), so a handler must finish well within it. `max_attempts`: after that many failed runs
    the row is marked failed and left alone.
    """
    if not (isinstance(model, type) and issubclass(model, DueItemMixin)) or model._meta.abstract:
        raise TypeError(f"{model!r} is not a concrete model with DueItemMixin")
    if lease <= timedelta(0):
        raise ValueError("lease must be positive")
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    label = model._meta.label_lower
    existing = _REGISTRY.get(label)
    if existing is not None and existing.handler is not handler:
        raise ValueError(f"{label} already has a due handler ({existing.handler!r})")
    _REGISTRY[label] = DueRegistration(model, handler, lease, max_attempts)


def registrations() -> list[DueRegistration]:
    return list(_REGISTRY.values())


@dataclass
class TickReport:
    """What one pass did. `lost`: rows another worker claimed first (not an error)."""

    claimed: int = 0
    done: int = 0
    retried: int = 0
    failed: int = 0
    lost: int = 0

    def merge(self, other: TickReport) -> None:
        for key, value in asdict(other).items():
            setattr(self, key, getattr(self, key) + value)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def __str__(self) -> str:
        return (
            f"claimed {self.claimed}, done {self.done}, failed {self.failed}, "
            f"retried {self.retried}, lost {self.lost}"
        )


class _ClaimLost(Exception):
    """Our claim was taken over while the handler ran: roll its work back."""


def _kind(item: models.Model) -> str:
    return str(getattr(item, "kind", "") or item._meta.model_name)


def _is_sqlite_lock(exc: OperationalError) -> bool:
    return connection.vendor == "sqlite" and "locked" in str(exc)


def _retrying(step: Callable[[], T]) -> T:
    """Run one database step; on SQLite, retry it while the database is locked by another connection.

    Only outside a transaction: a step is then a whole transaction of its own, which a lock error rolled back.
    """
    delay = 0.005
    give_up = time.monotonic() + SQLITE_LOCK_RETRY_SECONDS
    while True:
        try:
            return step()
        except OperationalError as exc:
            if connection.in_atomic_block or not _is_sqlite_lock(exc) or time.monotonic() > give_up:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def _candidates(reg: DueRegistration, now: datetime, limit: int) -> list[tuple[Any, str, uuid.UUID | None]]:
    manager = reg.model._default_manager
    due = list(
        manager.filter(due_state=DueState.PENDING, due_at__lte=now)
        .order_by("due_at")
        .values_list("pk", "due_state", "claim_token")[:limit]
    )
    stale = list(
        manager.filter(due_state=DueState.CLAIMED, claimed_at__lt=now - reg.lease)
        .order_by("claimed_at")
        .values_list("pk", "due_state", "claim_token")[: max(limit - len(due), 0)]
    )
    return stale + due


def _take_over(reg: DueRegistration, pk: Any, token: uuid.UUID | None, now: datetime) -> uuid.UUID | None:
    """Take over one stale claim (its worker presumed dead), unless another worker did first."""
    new_token = uuid.uuid4()
    stale = reg.model._default_manager.filter(
        pk=pk, due_state=DueState.CLAIMED, claim_token=token, claimed_at__lt=now - reg.lease
    )
    changed = stale.update(claim_token=new_token, claimed_at=now, attempts=F("attempts") + 1)
    return new_token if changed == 1 else None


def _claim_batch(reg: DueRegistration, pks: list[Any], now: datetime) -> tuple[uuid.UUID, list[models.Model]]:
    """Claim the pending rows among `pks` still due (not rescheduled, cancelled or claimed meanwhile) with one
    UPDATE and one token, and load them: the rows that carry the token are ours."""
    token = uuid.uuid4()
    manager = reg.model._default_manager
    changed = manager.filter(pk__in=pks, due_state=DueState.PENDING, due_at__lte=now).update(
        due_state=DueState.CLAIMED, claim_token=token, claimed_at=now, attempts=F("attempts") + 1
    )
    if not changed:
        return token, []
    return token, list(manager.filter(pk__in=pks, claim_token=token).order_by("due_at"))


def _run_handler(reg: DueRegistration, item: models.Model, token: uuid.UUID, now: datetime) -> None:
    """The handler and the row's completion, in one transaction; _ClaimLost rolls both back."""
    manager = reg.model._default_manager
    with transaction.atomic():
        reg.handler(item)
        finished = manager.filter(pk=item.pk, due_state=DueState.CLAIMED, claim_token=token).update(
            due_state=DueState.DONE, done_at=now, last_error=""
        )
        if finished != 1:
            raise _ClaimLost
        label = reg.model._meta.label_lower
        record_event(
            "deadline.fired", obj=item, data={"model": label, "id": str(item.pk), "kind": _kind(item)}
        )


def _release(reg: DueRegistration, item: models.Model, token: uuid.UUID, error: str, final: bool) -> bool:
    """After a failure: back to pending (or failed for good) and a "deadline.failed" event."""
    manager = reg.model._default_manager
    with transaction.atomic():
        released = manager.filter(pk=item.pk, due_state=DueState.CLAIMED, claim_token=token).update(
            due_state=DueState.FAILED if final else DueState.PENDING, claim_token=None, last_error=error
        )
        if released != 1:
            return False
        record_event(
            "deadline.failed",
            obj=item,
            data={
                "model": reg.model._meta.label_lower,
                "id": str(item.pk),
                "kind": _kind(item),
                "attempts": int(getattr(item, "attempts", 0)),
                "final": final,
                "error": error,
            },
        )
    return True


def _fire(
    reg: DueRegistration, item: models.Model, token: uuid.UUID, now: datetime, report: TickReport
) -> None:
    label = reg.model._meta.label_lower
    try:
        _retrying(partial(_run_handler, reg, item, token, now))
    except _ClaimLost:
        logger.warning("deadline %s #%s: claim taken over while running; rolled back", label, item.pk)
        report.lost += 1
        return
    except Exception as exc:  # any handler failure is recorded and retried at a later pass
        attempts = int(getattr(item, "attempts", 0))
        final = attempts >= reg.max_attempts
        error = f"{type(exc).__name__}: {exc}"[:2000]
        logger.warning("deadline %s #%s failed (attempt %s): %s", label, item.pk, attempts, error)
        if not _retrying(partial(_release, reg, item, token, error, final)):
            report.lost += 1
        elif final:
            report.failed += 1
        else:
            report.retried += 1
        return
    report.done += 1


#: Due rows claimed per UPDATE: small enough that several workers share a large backlog, large enough that a
#: pass over a hundred due rows costs a few statements rather than two per row.
CLAIM_BATCH = 50


def run_due(now: datetime | None = None, limit: int = 500) -> TickReport:
    """One pass of the worker over every registered model: claim what is due and run its handler.

    `now` defaults to `timezone.now()` (so tests can freeze time); `limit` caps the rows per model per pass.
    Safe to run in several processes or threads at once: every row is acted on by one of them only.
    """
    if now is None:
        now = timezone.now()
    report = TickReport()
    for reg in registrations():
        candidates = _retrying(partial(_candidates, reg, now, limit))
        for pk, state, token in candidates:
            if state == DueState.PENDING:
                continue
            new_token = _retrying(partial(_take_over, reg, pk, token, now))
            if new_token is None:
                report.lost += 1
                continue
            report.claimed += 1
            item = _retrying(partial(reg.model._default_manager.get, pk=pk))
            _fire(reg, item, new_token, now, report)
        due = [pk for pk, state, _token in candidates if state == DueState.PENDING]
        for start in range(0, len(due), CLAIM_BATCH):
            batch = due[start : start + CLAIM_BATCH]
            batch_token, items = _retrying(partial(_claim_batch, reg, batch, now))
            report.claimed += len(items)
            report.lost += len(batch) - len(items)
            for item in items:
                _fire(reg, item, batch_token, now, report)
    return report


# ---------------------------------------------------------------------------------------------------------
# Reminders


def send_reminder(item: Reminder) -> None:
    """The Reminder handler: deliver it through the notifications inbox (and e-mail/SMS on commit)."""
    from jiedao.notifications.services import notify

    notify([item.recipient], title=item.title, body=item.body, url=item.url, kind=item.kind)
    record_event("reminder.sent", obj=item, data={"recipient": item.recipient_id, "kind": item.kind})


register_due(Reminder, send_reminder)


def schedule_reminder(
    actor: Any,
    *,
    recipient: Any,
    due_at: datetime,
    title: str,
    body: str = "",
    url: str = "",
    subject: models.Model | None = None,
    org_unit: OrgUnit,
    kind: str = "reminder",
) -> Reminder:
    """Remind `recipient` about something at `due_at`.

    The actor needs "reminder.create" on `org_unit`; the recipient must be an active user who may see
    reminders there ("reminder.view"), so a reminder never shows its title to someone outside the unit.
    """
    require(actor, "reminder.create", org_unit)
    if timezone.is_naive(due_at):
        raise ValueError("due_at must be an aware datetime")
    title = title.strip()
    if not title:
        raise ValidationError(_("提醒必须有标题。"))
    if not getattr(recipient, "is_active", False) or not can(recipient, "reminder.view", org_unit):
        raise ValidationError(
            _("%(user)s 无权查看 %(unit)s 的提醒，不能作为接收人。") % {"user": recipient, "unit": org_unit}
        )
    with transaction.atomic():
        reminder = Reminder(
            org_unit=org_unit,
            recipient=recipient,
            due_at=due_at,
            title=title[:200],
            body=body,
            url=url[:300],
            kind=kind[:40],
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        if subject is not None:
            reminder.subject = subject
        reminder.full_clean(exclude=["org_path", "content_type", "object_id"])
        reminder.save()
        record_event(
            "reminder.create",
            actor=actor,
            obj=reminder,
            data={"recipient": recipient.pk, "due_at": due_at.isoformat(), "kind": kind},
        )
    return reminder


def cancel_reminder(actor: Any, reminder: Reminder) -> Reminder:
    """Cancel a pending reminder. Its creator, its recipient or a superuser may; not once it has fired."""
    allowed = getattr(actor, "is_authenticated", False) and (
        actor.pk in (reminder.created_by_id, reminder.recipient_id) or is_unrestricted(actor)
    )
    if not allowed:
        raise PermissionDenied("reminder.cancel")
    with transaction.atomic():
        changed = Reminder.objects.filter(pk=reminder.pk, due_state=DueState.PENDING).update(
            due_state=DueState.CANCELLED, claim_token=None
        )
        if changed != 1:
            raise ValidationError(_("该提醒已发送或已取消，不能再取消。"))
        record_event("reminder.cancel", actor=actor, obj=reminder, data={"kind": reminder.kind})
    reminder.refresh_from_db()
    return reminder


def pending_reminders_for(user: Any) -> models.QuerySet[Reminder]:
    """The user's reminders that have not fired yet, soonest first (the home page's 我的待办)."""
    if not getattr(user, "is_authenticated", False):
        return Reminder.objects.none()
    return (
        Reminder.objects.visible_to(user, "reminder.view")
        .filter(recipient=user, due_state__in=[DueState.PENDING, DueState.CLAIMED])
        .order_by("due_at", "pk")
    )
