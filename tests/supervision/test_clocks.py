"""Automatic 催办 before the deadline and the overdue notice to the responsible leader, through the shared
deadline engine: each fires once even with two workers at the same moment; a clock whose deadline moved or
whose matter was closed does nothing."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from jiedao.audit.models import AuditEvent
from jiedao.core.deadlines import TickReport, run_due
from jiedao.notifications.models import Notification
from jiedao.supervision import services
from jiedao.supervision.models import MatterClock, Source, SupervisedMatter
from tests.world import World

TZ = timezone.get_fixed_timezone(8 * 60)
START = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)


def assigned(world: World) -> SupervisedMatter:
    with time_machine.travel(START, tick=False):
        matter = services.create_matter(
            world["leader"],
            title="积水点排查",
            content="排查辖区积水点",
            source=Source.UPPER,
            deadline=START + timedelta(days=30),
            lead_unit=world.community_a,
            leader=world["leader"],
        )
        return services.undertake(world["comm_a"], matter, version=matter.version)


def run_two_workers(now: datetime) -> list[TickReport]:
    barrier = threading.Barrier(2)
    reports: list[TickReport] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            reports.append(run_due(now=now))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    with time_machine.travel(now, tick=False):
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert not errors, errors
    return reports


@pytest.mark.django_db(transaction=True)
def test_reminder_and_overdue_notice_fire_once_with_two_workers(tx_world: World) -> None:
    world = tx_world
    matter = assigned(world)
    clocks = {c.kind: c for c in matter.clocks.filter(due_state="pending")}
    assert clocks["remind"].due_at == START + timedelta(days=27)  # when it turns blue
    assert clocks["overdue"].due_at == START + timedelta(days=30, seconds=1)

    run_two_workers(START + timedelta(days=27, minutes=1))
    assert matter.steps.filter(action="auto_remind").count() == 1
    assert Notification.objects.filter(recipient=world["comm_a"], title__startswith="催办").count() == 1
    assert AuditEvent.objects.filter(kind="supervision.auto_remind").count() == 1

    run_two_workers(START + timedelta(days=30, minutes=1))
    assert matter.steps.filter(action="overdue").count() == 1
    assert Notification.objects.filter(recipient=world["leader"], title__startswith="超期").count() == 1
    assert (
        AuditEvent.objects.filter(kind="deadline.fired", object_type="supervision.matterclock").count() == 2
    )

    run_two_workers(START + timedelta(days=31))  # nothing is due any more
    assert matter.steps.filter(action__in=["overdue", "auto_remind"]).count() == 2


@pytest.mark.django_db
def test_a_moved_deadline_or_a_closed_matter_silences_old_clocks(world: World) -> None:
    matter = assigned(world)
    old = list(matter.clocks.all())
    # Closed before the deadline: the clocks are cancelled and would do nothing anyway.
    with time_machine.travel(START + timedelta(days=5), tick=False):
        matter = services.submit(world["comm_a"], matter, version=matter.version, text="完成")
        matter = services.approve(world["leader"], matter, version=matter.version)
        matter = services.complete(world["leader"], matter, version=matter.version)
    assert set(
        MatterClock.objects.filter(pk__in=[c.pk for c in old]).values_list("due_state", flat=True)
    ) == {"cancelled"}
    for clock in old:
        services.fire_clock(clock)
    assert not matter.steps.filter(action__in=["auto_remind", "overdue"]).exists()


@pytest.mark.django_db
def test_manual_reminder_notifies_the_lead_unit(world: World) -> None:
    matter = assigned(world)
    services.remind(world["leader"], matter, version=matter.version, note="请本周内反馈")
    assert Notification.objects.filter(recipient=world["comm_a"], title__startswith="催办").exists()
    assert AuditEvent.objects.filter(kind="supervision.remind").count() == 1
