"""定时闹钟: set on a household (or with a visit, in one step), rung once by the shared engine even with two
workers, kept in the assignee's 我的待办 until a visit is recorded."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from jiedao.core import worklist
from jiedao.core.deadlines import TickReport, run_due
from jiedao.core.models import DueState
from jiedao.notifications.models import Notification
from jiedao.relocation import services
from jiedao.relocation.models import ReminderStatus, Visit, VisitReminder
from tests.relocation.helpers import Setup, build
from tests.world import World


@pytest.mark.django_db
def test_reminder_goes_to_the_staff_and_shows_in_my_work(world: World, setup: Setup) -> None:
    reminder = services.set_reminder(world["comm_a"], setup.a1, due_on=services.today(), note="带协议草案")
    assert reminder.assignee == world["grid_a"]  # the 包户人 by default
    again = services.set_reminder(world["comm_a"], setup.a1, due_on=services.today(), note="带协议草案")
    assert again.pk == reminder.pk  # a double submit sets one reminder
    items = [i for i in worklist.items_for(world["grid_a"]) if "A-1" in i.title]
    assert len(items) == 1 and items[0].level == "warning" and items[0].note == "带协议草案"
    assert not [i for i in worklist.items_for(world["comm_a"]) if "A-1" in i.title]


@pytest.mark.django_db
def test_overdue_reminders_are_red_and_far_ones_not_listed(world: World, setup: Setup) -> None:
    services.set_reminder(world["grid_a"], setup.a1, due_on=services.today())
    VisitReminder.objects.update(due_at=timezone.now() - timedelta(days=2))
    services.set_reminder(world["grid_a"], setup.a1, due_on=services.today() + timedelta(days=30))
    items = [i for i in worklist.items_for(world["grid_a"]) if "A-1" in i.title]
    assert [i.level for i in items] == ["danger"]


@pytest.mark.django_db
def test_reminder_rules(world: World, setup: Setup) -> None:
    with pytest.raises(ValidationError):
        services.set_reminder(world["grid_a"], setup.a1, due_on=services.today() - timedelta(days=1))
    with pytest.raises(ValidationError, match="不在该户的工作组"):
        services.set_reminder(
            world["grid_a"], setup.a1, due_on=services.today(), assignee=world["dept_xinfang"]
        )
    for persona in ("auditor", "other_leader", "dept_xinfang"):
        with pytest.raises(PermissionDenied):
            services.set_reminder(world[persona], setup.a1, due_on=services.today())


@pytest.mark.django_db
def test_visit_closes_due_reminders_and_sets_the_next_in_one_step(world: World, setup: Setup) -> None:
    due = services.set_reminder(world["grid_a"], setup.a1, due_on=services.today())
    later = services.set_reminder(world["grid_a"], setup.a1, due_on=services.today() + timedelta(days=9))
    services.record_visit(
        world["grid_a"],
        setup.a1,
        visited_on=services.today(),
        talk="同意评估结果，想选高层。",
        attitude="waiting",
        next_step="带选房方案再来",
        remind_on=services.today() + timedelta(days=3),
    )
    due.refresh_from_db()
    later.refresh_from_db()
    assert due.status == ReminderStatus.DONE and due.due_state == DueState.CANCELLED  # will not ring
    assert later.status == ReminderStatus.OPEN
    new = VisitReminder.objects.get(due_at=services.reminder_due_at(services.today() + timedelta(days=3)))
    assert new.assignee == world["grid_a"] and new.note == "带选房方案再来"
    setup.a1.refresh_from_db()
    assert setup.a1.attitude == "waiting" and setup.a1.last_visit_on == services.today()


@pytest.mark.django_db
def test_visit_double_submit_is_one_entry_and_future_date_refused(world: World, setup: Setup) -> None:
    kwargs = {"visited_on": services.today(), "talk": "第一次上门", "attitude": "resisting"}
    first = services.record_visit(world["grid_a"], setup.a1, **kwargs)  # type: ignore[arg-type]
    second = services.record_visit(world["grid_a"], setup.a1, **kwargs)  # type: ignore[arg-type]
    assert first.pk == second.pk and Visit.objects.count() == 1
    with pytest.raises(ValidationError):
        services.record_visit(
            world["grid_a"],
            setup.a1,
            visited_on=services.today() + timedelta(days=1),
            talk="x",
            attitude="support",
        )


@pytest.mark.django_db(transaction=True)
def test_reminders_ring_once_with_two_workers(tx_world: World) -> None:
    world = tx_world
    setup = build(world)
    reminders = [
        services.set_reminder(
            world["grid_a"], setup.a1, due_on=services.today() + timedelta(days=d), note=f"第{d}次"
        )
        for d in range(1, 21)
    ]
    ring_at = services.reminder_due_at(services.today() + timedelta(days=21))
    barrier = threading.Barrier(2)
    reports: list[TickReport] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            reports.append(run_due(now=ring_at))
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
    assert sum(r.done for r in reports) >= 20
    rung = Notification.objects.filter(recipient=world["grid_a"], kind="relocation", title__contains="A-1")
    assert rung.count() == 20
    assert set(
        VisitReminder.objects.filter(pk__in=[r.pk for r in reminders]).values_list("due_state", flat=True)
    ) == {DueState.DONE}
    # Rung, but still to do: 我的待办 keeps them until the visit.
    assert VisitReminder.objects.filter(status=ReminderStatus.OPEN).count() == 20
    assert run_due(now=ring_at).done == 0
