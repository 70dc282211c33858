"""The deadline engine: due rows fire once at their time, failures retry then fail, dead workers' claims are
taken over, and two workers at once never act twice. Reminders are its first client."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from jiedao.audit.models import AuditEvent
from jiedao.core import deadlines
from jiedao.core.deadlines import (
    DueRegistration,
    TickReport,
    cancel_reminder,
    pending_reminders_for,
    register_due,
    run_due,
    schedule_reminder,
    send_reminder,
)
from jiedao.core.models import DueState, Reminder
from jiedao.core.tasks import schedule_next_tick, tick_task
from jiedao.notifications.models import Notification
from tests.world import World

DUE = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.get_fixed_timezone(8 * 60))


def make_reminder(world: World, *, title: str = "请回访王大爷", due_at: datetime = DUE) -> Reminder:
    return schedule_reminder(
        world["leader"],
        recipient=world["grid_a"],
        due_at=due_at,
        title=title,
        body="诉求已办结三天",
        url="/cases/1/",
        org_unit=world.grid_a,
        kind="case.followup",
    )


def events(kind: str, reminder: Reminder) -> int:
    return AuditEvent.objects.filter(
        kind=kind, object_type="core.reminder", object_id=str(reminder.pk)
    ).count()


@pytest.fixture
def reminder_registration() -> Iterator[DueRegistration]:
    original = deadlines._REGISTRY["core.reminder"]
    yield original
    deadlines._REGISTRY["core.reminder"] = original


def replace_handler(handler: Any, *, max_attempts: int = 5, lease: timedelta = timedelta(minutes=10)) -> None:
    deadlines._REGISTRY["core.reminder"] = DueRegistration(Reminder, handler, lease, max_attempts)


# --- firing -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reminder_fires_once_at_its_time_and_not_before(world: World) -> None:
    reminder = make_reminder(world)
    with time_machine.travel(DUE - timedelta(minutes=1), tick=False):
        assert run_due() == TickReport()
    assert Notification.objects.filter(recipient=world["grid_a"]).count() == 0
    with time_machine.travel(DUE + timedelta(seconds=1), tick=False):
        report = run_due()
    assert (report.claimed, report.done, report.failed) == (1, 1, 0)
    reminder.refresh_from_db()
    assert reminder.due_state == DueState.DONE and reminder.attempts == 1
    assert reminder.done_at == DUE + timedelta(seconds=1)
    notification = Notification.objects.get(recipient=world["grid_a"])
    assert (notification.title, notification.body, notification.url, notification.kind) == (
        "请回访王大爷",
        "诉求已办结三天",
        "/cases/1/",
        "case.followup",
    )
    fired = AuditEvent.objects.get(kind="deadline.fired", object_id=str(reminder.pk))
    assert fired.data == {"model": "core.reminder", "id": str(reminder.pk), "kind": "case.followup"}
    assert fired.org_path == world.grid_a.path
    assert events("reminder.sent", reminder) == 1
    with time_machine.travel(DUE + timedelta(hours=1), tick=False):
        assert run_due().claimed == 0
    assert Notification.objects.filter(recipient=world["grid_a"]).count() == 1


@pytest.mark.django_db
def test_due_rows_are_taken_in_due_order_up_to_the_limit(world: World) -> None:
    late = make_reminder(world, title="晚", due_at=DUE)
    early = make_reminder(world, title="早", due_at=DUE - timedelta(hours=1))
    report = run_due(now=DUE, limit=1)
    assert report.done == 1
    early.refresh_from_db()
    late.refresh_from_db()
    assert early.due_state == DueState.DONE and late.due_state == DueState.PENDING


@pytest.mark.django_db
def test_failing_handler_retries_then_fails(world: World, reminder_registration: DueRegistration) -> None:
    calls: list[int] = []

    def broken(item: Reminder) -> None:
        calls.append(item.pk)
        send_reminder(item)  # its inbox row must be rolled back with the failure
        raise RuntimeError("短信网关不可用")

    replace_handler(broken, max_attempts=3)
    reminder = make_reminder(world)
    first = run_due(now=DUE)
    assert (first.claimed, first.done, first.retried, first.failed) == (1, 0, 1, 0)
    reminder.refresh_from_db()
    assert reminder.due_state == DueState.PENDING and reminder.attempts == 1
    assert reminder.last_error == "RuntimeError: 短信网关不可用"
    assert run_due(now=DUE + timedelta(minutes=1)).retried == 1
    assert run_due(now=DUE + timedelta(minutes=2)).failed == 1
    reminder.refresh_from_db()
    assert reminder.due_state == DueState.FAILED and reminder.attempts == 3
    assert run_due(now=DUE + timedelta(minutes=3)).claimed == 0
    assert len(calls) == 3
    assert Notification.objects.count() == 0
    assert events("deadline.failed", reminder) == 3 and events("deadline.fired", reminder) == 0
    final = (
        AuditEvent.objects.filter(kind="deadline.failed", object_id=str(reminder.pk)).order_by("seq").last()
    )
    assert final is not None and final.data["final"] is True and final.data["attempts"] == 3


@pytest.mark.django_db
def test_stale_claim_is_taken_over_after_the_lease(world: World) -> None:
    reminder = make_reminder(world)
    dead_token = uuid.uuid4()
    Reminder.objects.filter(pk=reminder.pk).update(
        due_state=DueState.CLAIMED, claim_token=dead_token, claimed_at=DUE, attempts=1
    )
    assert run_due(now=DUE + timedelta(minutes=9)).claimed == 0  # within the 10-minute lease
    report = run_due(now=DUE + timedelta(minutes=11))
    assert (report.claimed, report.done) == (1, 1)
    reminder.refresh_from_db()
    assert (
        reminder.due_state == DueState.DONE and reminder.attempts == 2 and reminder.claim_token != dead_token
    )
    assert Notification.objects.filter(recipient=world["grid_a"]).count() == 1


@pytest.mark.django_db
def test_worker_whose_claim_was_taken_over_rolls_back(
    world: World, reminder_registration: DueRegistration
) -> None:
    def slow_and_overtaken(item: Reminder) -> None:
        send_reminder(item)
        # Meanwhile another worker found the claim stale and took it over.
        Reminder.objects.filter(pk=item.pk).update(claim_token=uuid.uuid4())

    replace_handler(slow_and_overtaken)
    reminder = make_reminder(world)
    report = run_due(now=DUE)
    assert (report.claimed, report.done, report.lost) == (1, 0, 1)
    assert Notification.objects.count() == 0 and events("deadline.fired", reminder) == 0
    reminder.refresh_from_db()
    assert reminder.due_state == DueState.CLAIMED


@pytest.mark.django_db
def test_cancelled_reminder_never_fires(world: World) -> None:
    reminder = make_reminder(world)
    cancel_reminder(world["leader"], reminder)
    assert reminder.due_state == DueState.CANCELLED
    assert run_due(now=DUE + timedelta(days=1)).claimed == 0
    assert events("reminder.cancel", reminder) == 1
    with pytest.raises(ValidationError):
        cancel_reminder(world["leader"], reminder)


@pytest.mark.django_db
def test_register_due_rejects_models_without_due_columns_and_double_registration() -> None:
    from jiedao.core.models import OrgUnit

    with pytest.raises(TypeError):
        register_due(OrgUnit, send_reminder)
    with pytest.raises(ValueError):
        register_due(Reminder, lambda item: None)
    register_due(Reminder, send_reminder)  # the same handler again is harmless


# --- reminder services ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_schedule_reminder_records_an_event(world: World) -> None:
    reminder = make_reminder(world)
    assert reminder.org_path == world.grid_a.path and reminder.created_by == world["leader"]
    assert events("reminder.create", reminder) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("actor", ["grid_b", "auditor", "volunteer", "other_leader"])
def test_schedule_reminder_outside_scope_is_refused(world: World, actor: str) -> None:
    with pytest.raises(PermissionDenied):
        schedule_reminder(
            world[actor], recipient=world["grid_a"], due_at=DUE, title="提醒", org_unit=world.grid_a
        )
    assert not Reminder.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("recipient", ["volunteer", "other_leader", "grid_b"])
def test_recipient_must_see_reminders_of_the_unit(world: World, recipient: str) -> None:
    with pytest.raises(ValidationError):
        schedule_reminder(
            world["leader"], recipient=world[recipient], due_at=DUE, title="提醒", org_unit=world.grid_a
        )


@pytest.mark.django_db
def test_schedule_reminder_validates_input(world: World) -> None:
    with pytest.raises(ValueError):
        schedule_reminder(
            world["leader"],
            recipient=world["grid_a"],
            due_at=datetime(2026, 3, 10, 9),
            title="x",
            org_unit=world.grid_a,
        )
    with pytest.raises(ValidationError):
        schedule_reminder(
            world["leader"], recipient=world["grid_a"], due_at=DUE, title="  ", org_unit=world.grid_a
        )


@pytest.mark.django_db
def test_only_creator_recipient_or_superuser_may_cancel(world: World) -> None:
    reminder = make_reminder(world)
    for outsider in ("grid_b", "comm_b", "auditor"):
        with pytest.raises(PermissionDenied):
            cancel_reminder(world[outsider], reminder)
    cancel_reminder(world["grid_a"], reminder)
    other = make_reminder(world)
    cancel_reminder(world["admin"], other)
    assert Reminder.objects.filter(due_state=DueState.CANCELLED).count() == 2


@pytest.mark.django_db
def test_pending_reminders_for_lists_own_unfired_reminders(world: World) -> None:
    later = make_reminder(world, title="后", due_at=DUE + timedelta(days=2))
    sooner = make_reminder(world, title="先", due_at=DUE + timedelta(days=1))
    fired = make_reminder(world, title="已发", due_at=DUE)
    run_due(now=DUE)
    assert list(pending_reminders_for(world["grid_a"])) == [sooner, later]
    assert fired not in pending_reminders_for(world["grid_a"])
    assert list(pending_reminders_for(world["leader"])) == []


# --- commands and the periodic task -----------------------------------------------------------------------


@pytest.mark.django_db
def test_tick_command_runs_one_pass(world: World) -> None:
    make_reminder(world, due_at=timezone.now() - timedelta(minutes=1))
    out = StringIO()
    call_command("tick", stdout=out)
    assert out.getvalue().strip() == "claimed 1, done 1, failed 0, retried 0, lost 0"
    out = StringIO()
    call_command("tick", stdout=out)
    assert out.getvalue().startswith("claimed 0, done 0")


@pytest.mark.django_db
def test_tick_task_runs_a_pass(world: World) -> None:
    reminder = make_reminder(world, due_at=timezone.now() - timedelta(minutes=1))
    result = tick_task.enqueue()  # the immediate backend of the test settings runs it now
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == {"claimed": 1, "done": 1, "retried": 0, "failed": 0, "lost": 0}
    reminder.refresh_from_db()
    assert reminder.due_state == DueState.DONE
    assert schedule_next_tick() is False  # the immediate backend cannot defer: nothing is queued


@pytest.fixture
def database_tasks(settings: Any) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.mark.django_db
@pytest.mark.usefixtures("database_tasks")
def test_schedule_tick_enqueues_once() -> None:
    out = StringIO()
    call_command("schedule_tick", stdout=out)
    call_command("schedule_tick", stdout=out)
    waiting = DBTaskResult.objects.filter(task_path=tick_task.module_path, status=TaskResultStatus.READY)
    assert waiting.count() == 1
    assert "already waiting" in out.getvalue()


@pytest.mark.django_db
@pytest.mark.usefixtures("database_tasks")
def test_tick_task_schedules_its_next_run(settings: Any) -> None:
    settings.TICK_INTERVAL_SECONDS = 90
    with time_machine.travel(DUE, tick=False):
        assert tick_task.call() == TickReport().as_dict()
    row = DBTaskResult.objects.get(task_path=tick_task.module_path, status=TaskResultStatus.READY)
    assert row.run_after == DUE + timedelta(seconds=90)
    tick_task.call()  # a run is already waiting: no second one
    assert DBTaskResult.objects.filter(task_path=tick_task.module_path).count() == 1


# --- concurrency ------------------------------------------------------------------------------------------


def test_two_concurrent_workers_never_act_twice(tx_world: World) -> None:
    world = tx_world
    reminders = [
        make_reminder(world, title=f"并发提醒 {i}", due_at=DUE - timedelta(minutes=i)) for i in range(50)
    ]
    barrier = threading.Barrier(2)
    reports: list[TickReport] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            reports.append(run_due(now=DUE))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(reports) == 2
    assert sum(r.done for r in reports) == 50 and sum(r.claimed for r in reports) == 50
    assert sum(r.failed + r.retried for r in reports) == 0
    for reminder in reminders:
        assert Notification.objects.filter(title=reminder.title).count() == 1, reminder.title
        assert events("deadline.fired", reminder) == 1
        assert events("reminder.sent", reminder) == 1
    assert set(Reminder.objects.values_list("due_state", flat=True)) == {DueState.DONE}


@pytest.mark.django_db
def test_due_rows_are_claimed_a_batch_at_a_time(world: World) -> None:
    """A pass over many due rows claims them with one UPDATE per CLAIM_BATCH rows (not one per row), and a
    row claimed in the batch is fired once."""
    from django.test.utils import CaptureQueriesContext

    reminders = [make_reminder(world, title=f"回访 {i}") for i in range(deadlines.CLAIM_BATCH + 5)]
    with CaptureQueriesContext(connection) as queries:
        report = run_due(now=DUE)
    assert (report.claimed, report.done, report.lost) == (len(reminders), len(reminders), 0)
    claims = [q["sql"] for q in queries.captured_queries if "SET \"due_state\" = 'claimed'" in q["sql"]]
    assert len(claims) == 2
    assert Notification.objects.filter(recipient=world["grid_a"]).count() == len(reminders)
    assert run_due(now=DUE + timedelta(minutes=1)).claimed == 0
