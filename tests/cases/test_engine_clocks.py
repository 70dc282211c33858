"""催办 and escalation through the shared deadline engine under a frozen clock: two workers at once act once
per clock (one step, one notification per recipient, one audit event each); a clock whose case was closed or
whose deadline moved does nothing. The two-worker tests use real commits and threads, so they run on
PostgreSQL (row locks, SKIP LOCKED) when the suite runs there, and on SQLite otherwise."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from jiedao.audit.models import AuditEvent
from jiedao.cases import services
from jiedao.cases.catalog import ensure_default_catalog
from jiedao.cases.models import Case, Channel, Clock, PetitionType, Status
from jiedao.core.deadlines import TickReport, run_due
from jiedao.core.models import User
from jiedao.core.models.deadlines import DueState
from jiedao.core.workdays import statutory_deadline_days
from jiedao.notifications.models import Notification
from tests.world import World

TZ = timezone.get_fixed_timezone(8 * 60)
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=TZ)


def handling_case(world: World, **extra: object) -> Case:
    """A case in grid_a accepted and dispatched on MONDAY and signed by grid_a (10 working days: due Tue
    2026-03-17 00:00, 催办 24 hours before)."""
    catalog = ensure_default_catalog()
    fields: dict[str, object] = {
        "channel": Channel.PHONE,
        "category": catalog["city-stall"],
        "org_unit": world.grid_a,
        "description": "新郑里路口有人占道摆摊卖水果，影响通行",
        "requester_phone": "13812345678",
        **extra,
    }
    with time_machine.travel(MONDAY, tick=False):
        case = services.create_case(world["comm_a"], accept=True, **fields)  # type: ignore[arg-type]
        case = services.dispatch(world["comm_a"], case, version=case.version, lead_unit=world.grid_a)
        case = services.sign(world["grid_a"], case, version=case.version)
    return case


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
    assert len(reports) == 2
    return reports


def fired(clock: Clock) -> int:
    return AuditEvent.objects.filter(
        kind="deadline.fired", object_type="cases.clock", object_id=str(clock.pk)
    ).count()


def case_events(kind: str, case: Case) -> int:
    return AuditEvent.objects.filter(kind=kind, object_type="cases.case", object_id=str(case.pk)).count()


def notes(user: User, prefix: str) -> int:
    return Notification.objects.filter(recipient=user, title__startswith=prefix).count()


def test_two_workers_remind_once_then_escalate_once(tx_world: World) -> None:
    world = tx_world
    cases = [handling_case(world) for _ in range(3)]
    due = cases[0].due_at
    assert due == datetime(2026, 3, 17, 0, 0, tzinfo=TZ)
    remind = Clock.objects.get(case=cases[0], kind=Clock.Kind.REMIND, due_state=DueState.PENDING)
    overdue = Clock.objects.get(case=cases[0], kind=Clock.Kind.OVERDUE, due_state=DueState.PENDING)
    assert remind.due_at == due - timedelta(hours=24)

    # Before the reminder is due nothing happens.
    assert sum(r.claimed for r in run_two_workers(remind.due_at - timedelta(minutes=1))) == 0

    reports = run_two_workers(remind.due_at + timedelta(minutes=1))
    assert sum(r.done for r in reports) == 3 and sum(r.failed + r.retried for r in reports) == 0
    for case in cases:
        assert case.steps.filter(action="remind").count() == 1
        assert case.steps.filter(action="overdue").count() == 0
        assert case_events("case.remind", case) == 1
        assert notes(world["grid_a"], f"催办：工单 {case.number}") == 1  # lead unit and handler: one person
        assert notes(world["leader"], f"催办：工单 {case.number}") == 0
    remind.refresh_from_db()
    assert remind.due_state == DueState.DONE and fired(remind) == 1

    reports = run_two_workers(due + timedelta(minutes=1))
    assert sum(r.done for r in reports) == 3
    for case in cases:
        step = case.steps.get(action="overdue")
        assert step.actor is None and not step.public and case.number in step.note
        assert case_events("case.overdue", case) == 1
        assert notes(world["leader"], f"超期：工单 {case.number}") == 1  # the leaders above the place
        assert notes(world["grid_a"], f"超期：工单 {case.number}") == 1
        assert notes(world["other_leader"], f"超期：工单 {case.number}") == 0
    overdue.refresh_from_db()
    assert overdue.due_state == DueState.DONE and fired(overdue) == 1
    # Nothing fires twice.
    assert sum(r.claimed for r in run_two_workers(due + timedelta(days=1))) == 0


def test_escalation_goes_to_the_leader_in_charge(tx_world: World) -> None:
    world = tx_world
    catalog = ensure_default_catalog()
    case = handling_case(
        world,
        channel=Channel.VISIT,
        category=catalog["petition-social"],
        petition_type=PetitionType.CLAIM,
        leader_in_charge=world["district"],
    )
    assert case.due_at is not None
    run_two_workers(case.due_at + timedelta(minutes=1))
    assert case.steps.filter(action="overdue").count() == 1
    assert notes(world["district"], f"超期：工单 {case.number}") == 1  # the 包案领导, not the others
    assert notes(world["leader"], f"超期：工单 {case.number}") == 0


@pytest.mark.django_db
def test_clock_of_a_closed_case_does_nothing(world: World) -> None:
    case = handling_case(world)
    assert case.due_at is not None
    case = services.report(world["grid_a"], case, version=case.version, note="已劝离")
    case = services.verify(world["comm_a"], case, version=case.version)
    case = services.close(world["comm_a"], case, version=case.version, outcome="resolved", reply="已解决")
    assert not Clock.objects.filter(case=case, due_state=DueState.PENDING).exists()
    assert case.due_at is not None
    # Even a clock left pending (say, written by a worker racing the close) does nothing.
    stray = Clock.objects.create(case=case, kind=Clock.Kind.OVERDUE, deadline=case.due_at, due_at=case.due_at)
    report = run_due(now=case.due_at + timedelta(days=1))
    assert (report.claimed, report.done) == (1, 1)
    assert not case.steps.filter(action__in=["remind", "overdue"]).exists()
    assert case_events("case.overdue", case) == 0 and fired(stray) == 1
    assert Notification.objects.filter(title__contains=case.number, title__startswith="超期").count() == 0


@pytest.mark.django_db
def test_clock_whose_deadline_moved_does_nothing(world: World) -> None:
    case = handling_case(world)
    old_due = case.due_at
    assert old_due is not None
    old = list(Clock.objects.filter(case=case, due_state=DueState.PENDING))
    with time_machine.travel(MONDAY + timedelta(days=1), tick=False):
        case = services.request_extension(
            world["grid_a"], case, version=case.version, days=5, reason="缺配件"
        )
        case = services.decide_extension(world["leader"], case, version=case.version, approve=True)
    # 5 日 from the old last day, by the Civil Code (a rest day at the end moves to the next working day).
    last_day = (timezone.localtime(old_due) - timedelta(days=1)).date()
    assert case.due_at == statutory_deadline_days(last_day, 5).due_at
    for clock in old:
        clock.refresh_from_db()
        assert clock.due_state == DueState.CANCELLED
    # A stale clock for the old deadline (e.g. claimed before the extension) does nothing.
    stale = Clock.objects.create(case=case, kind=Clock.Kind.OVERDUE, deadline=old_due, due_at=old_due)
    with time_machine.travel(old_due + timedelta(minutes=1), tick=False):
        report = run_due()
    assert report.done == 1  # the stale clock only: the new reminder is due 24 hours before the new deadline
    assert not case.steps.filter(action="overdue").exists()
    assert fired(stale) == 1
    assert case.due_at is not None
    run_due(now=case.due_at - timedelta(hours=23))
    remind = case.steps.get(action="remind")
    assert "03-23 24:00" in remind.note  # the new deadline: Monday 03-23 at 24:00


@pytest.mark.django_db
def test_response_clock_fires_only_while_unsigned(world: World) -> None:
    catalog = ensure_default_catalog()
    with time_machine.travel(MONDAY, tick=False):
        case = services.create_case(
            world["comm_a"],
            channel=Channel.GRID,
            category=catalog["city-stall"],
            org_unit=world.grid_a,
            description="巡查发现占道经营",
            accept=True,
        )
        signed = services.dispatch(world["comm_a"], case, version=case.version, lead_unit=world.grid_a)
        unsigned = services.create_case(
            world["comm_a"],
            channel=Channel.GRID,
            category=catalog["city-stall"],
            org_unit=world.grid_a,
            description="巡查发现占道经营二",
            accept=True,
        )
        unsigned = services.dispatch(
            world["comm_a"], unsigned, version=unsigned.version, lead_unit=world.grid_a
        )
    with time_machine.travel(MONDAY + timedelta(hours=2), tick=False):
        services.sign(world["grid_a"], signed, version=signed.version)
    run_due(now=MONDAY + timedelta(hours=25))
    assert unsigned.steps.filter(action="response_overdue").count() == 1
    assert not signed.steps.filter(action="response_overdue").exists()
    assert notes(world["grid_a"], f"响应超时：工单 {unsigned.number}") == 1


@pytest.mark.django_db
def test_petition_acceptance_notice_overdue(world: World) -> None:
    catalog = ensure_default_catalog()
    received = datetime(2026, 2, 3, 9, 0, tzinfo=TZ)
    with time_machine.travel(received, tick=False):
        case = services.create_case(
            world["comm_a"],
            channel=Channel.LETTER,
            category=catalog["petition-social"],
            org_unit=world.grid_a,
            description="来信反映低保问题",
            petition_type=PetitionType.CLAIM,
            anonymous=True,
        )
    assert case.due_at is not None
    run_due(now=case.due_at - timedelta(minutes=1))
    assert not case.steps.filter(action="petition_accept_overdue").exists()
    run_due(now=case.due_at + timedelta(minutes=1))
    assert case.steps.filter(action="petition_accept_overdue").count() == 1
    assert notes(world["dept_xinfang"], f"信访件 {case.number}") == 1
    assert notes(world["leader"], f"信访件 {case.number}") == 1
    case.refresh_from_db()
    assert case.status == Status.REGISTERED
