"""Two people acting on one case: the version each saw decides (one succeeds, the other is told the case
changed, nothing is overwritten); the same person submitting the same step twice gets the case back without a
second step. Case numbers GCyyyymmdd##### are unique and restart every day. Threads with real row locks run
on PostgreSQL only (marker `postgres`); SQLite checks the same rules sequentially."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from jiedao.audit.services import verify_chain
from jiedao.cases import services
from jiedao.cases.catalog import ensure_default_catalog
from jiedao.cases.models import Case, Category, Channel, Status
from tests.world import World

MakeCase = Callable[..., Case]
TZ = timezone.get_fixed_timezone(8 * 60)
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=TZ)
NUMBER = re.compile(r"^GC\d{8}\d{5}$")


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


def state(case: Case) -> tuple[Any, ...]:
    case.refresh_from_db()
    return (case.status, case.version, case.steps.count(), case.handler_id, case.reply)


@pytest.mark.django_db
def test_second_person_with_the_same_version_gets_a_conflict(make_case: MakeCase, world: World) -> None:
    case = make_case("reported")
    seen = case.version
    services.verify(world["comm_a"], case, version=seen, note="现场核实")
    before = state(case)
    with pytest.raises(services.ConflictError) as conflict:
        services.send_back(world["leader"], case, version=seen, note="还有摊贩")
    assert case.number in conflict.value.messages[0] and f"第 {seen} 版" in conflict.value.messages[0]
    assert isinstance(conflict.value, ValidationError)
    assert state(case) == before
    assert case.status == Status.VERIFIED and not case.steps.filter(action="send_back").exists()


@pytest.mark.django_db
def test_stale_version_of_another_step_by_the_same_person_is_a_conflict(
    make_case: MakeCase, world: World
) -> None:
    case = make_case("handling")
    seen = case.version
    services.request_extension(world["grid_a"], case, version=seen, days=2, reason="缺配件")
    with pytest.raises(services.ConflictError):
        services.report(world["grid_a"], case, version=seen, note="已处理")
    case.refresh_from_db()
    assert case.status == Status.HANDLING


@pytest.mark.django_db
def test_double_click_returns_the_case_without_a_second_step(make_case: MakeCase, world: World) -> None:
    with time_machine.travel(MONDAY, tick=False):
        case = make_case("handling")
        seen = case.version
        first = services.report(world["grid_a"], case, version=seen, note="已劝离")
    with time_machine.travel(MONDAY + timedelta(seconds=5), tick=False):
        again = services.report(world["grid_a"], case, version=seen, note="已劝离")
    assert again.pk == first.pk and again.version == seen + 1 == first.version
    assert again.status == Status.REPORTED
    assert case.steps.filter(action="report").count() == 1
    # Much later the same stale form is a conflict, not a double click.
    with (
        time_machine.travel(MONDAY + timedelta(minutes=5), tick=False),
        pytest.raises(services.ConflictError),
    ):
        services.report(world["grid_a"], case, version=seen, note="已劝离")


@pytest.mark.django_db
def test_double_click_by_another_person_is_a_conflict(make_case: MakeCase, world: World) -> None:
    case = make_case("dispatched")
    seen = case.version
    services.sign(world["grid_a"], case, version=seen)
    with pytest.raises(services.ConflictError):
        services.sign(world["comm_a"], case, version=seen)
    case.refresh_from_db()
    assert case.handler == world["grid_a"] and case.steps.filter(action="sign").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("rating", ["satisfied", "unsatisfied"])
def test_public_double_click_on_a_rating(make_case: MakeCase, rating: str) -> None:
    case = make_case("closed")
    seen = case.version
    services.rate(services.PUBLIC, case, version=seen, rating=rating)
    again = services.rate(services.PUBLIC, case, version=seen, rating=rating)
    assert again.steps.filter(action="rate").count() == 1
    assert again.reopen_count == (1 if rating == "unsatisfied" else 0)
    assert again.steps.filter(action="reopen").count() == again.reopen_count


@pytest.mark.django_db
def test_repeated_idempotency_key_returns_the_first_case(world: World, catalog: Any) -> None:
    fields = {
        "channel": Channel.ONLINE,
        "category": catalog["city-stall"],
        "org_unit": world.grid_a,
        "description": "门口有人占道经营",
        "requester_phone": "13812345678",
        "idempotency_key": "form-7f3a",
    }
    first = services.create_case(services.PUBLIC, **fields)
    again = services.create_case(services.PUBLIC, **fields)
    assert again.pk == first.pk and Case.objects.count() == 1


# --- case numbers -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_case_numbers_follow_the_format_and_restart_each_day(make_case: MakeCase) -> None:
    with time_machine.travel(datetime(2026, 3, 2, 23, 59, tzinfo=TZ), tick=False):
        numbers = [make_case().number for _ in range(3)]
    assert numbers == ["GC2026030200001", "GC2026030200002", "GC2026030200003"]
    # 16:30 UTC is already the next day in Beijing: the sequence restarts.
    with time_machine.travel(datetime(2026, 3, 2, 16, 30, tzinfo=UTC), tick=False):
        assert make_case().number == "GC2026030300001"
    with time_machine.travel(datetime(2026, 3, 3, 9, 0, tzinfo=TZ), tick=False):
        assert make_case().number == "GC2026030300002"
    assert all(NUMBER.match(n) for n in Case.objects.values_list("number", flat=True))


def new_case(world: World, n: int) -> Case:
    """Call ensure_default_catalog() before starting threads (it is not meant to race itself)."""
    return services.create_case(
        world["comm_a"],
        channel=Channel.GRID,
        category=Category.objects.get(code="city-stall"),
        org_unit=world.grid_a,
        description=f"并发登记的工单 {n}",
    )


def in_threads(*jobs: Callable[[], Any]) -> tuple[list[Any], list[BaseException]]:
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = []
    errors: list[BaseException] = []

    def run(job: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results.append(job())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, errors


@pytest.mark.postgres
@pytest.mark.skipif(not on_postgres(), reason="real row locks need PostgreSQL")
def test_concurrent_creation_gives_unique_numbers(tx_world: World) -> None:
    ensure_default_catalog()
    with time_machine.travel(MONDAY, tick=False):
        results, errors = in_threads(
            lambda: [new_case(tx_world, i).number for i in range(10)],
            lambda: [new_case(tx_world, 100 + i).number for i in range(10)],
        )
    assert not errors, errors
    numbers = sorted(n for batch in results for n in batch)
    assert numbers == [f"GC20260302{i:05d}" for i in range(1, 21)]
    # Both threads appended to the audit chain at once (on PostgreSQL in one statement each): it still links.
    check = verify_chain()
    assert check.ok, check


@pytest.mark.postgres
@pytest.mark.skipif(not on_postgres(), reason="real row locks need PostgreSQL")
def test_two_people_at_once_one_wins(tx_world: World) -> None:
    world = tx_world
    ensure_default_catalog()
    case = new_case(world, 1)
    case = services.accept(world["comm_a"], case, version=case.version)
    case = services.dispatch(world["comm_a"], case, version=case.version, lead_unit=world.grid_a)
    case = services.sign(world["grid_a"], case, version=case.version)
    case = services.report(world["grid_a"], case, version=case.version, note="已劝离")
    seen = case.version
    results, errors = in_threads(
        lambda: services.verify(world["comm_a"], Case.objects.get(pk=case.pk), version=seen),
        lambda: services.send_back(world["leader"], Case.objects.get(pk=case.pk), version=seen, note="还有"),
    )
    assert len(results) == 1 and len(errors) == 1
    assert isinstance(errors[0], services.ConflictError)
    case.refresh_from_db()
    assert case.version == seen + 1
    assert case.status == results[0].status
    assert case.steps.filter(action__in=["verify", "send_back"]).count() == 1


@pytest.mark.postgres
@pytest.mark.skipif(not on_postgres(), reason="real row locks need PostgreSQL")
def test_double_submit_at_once_makes_one_step(tx_world: World) -> None:
    world = tx_world
    ensure_default_catalog()
    case = new_case(world, 1)
    seen = case.version
    results, errors = in_threads(
        lambda: services.accept(world["comm_a"], Case.objects.get(pk=case.pk), version=seen),
        lambda: services.accept(world["comm_a"], Case.objects.get(pk=case.pk), version=seen),
    )
    assert not errors, errors
    assert {r.status for r in results} == {Status.ACCEPTED}
    case.refresh_from_db()
    assert case.version == seen + 1 and case.steps.filter(action="accept").count() == 1


@pytest.mark.django_db
def test_double_click_never_repeats_the_side_effects(make_case: MakeCase, world: World) -> None:
    """The second submit of a step that creates rows (a request, a whistle) makes none and raises nothing."""
    case = make_case("handling")
    seen = case.version
    services.request_extension(world["grid_a"], case, version=seen, days=3, reason="缺配件")
    again = services.request_extension(world["grid_a"], case, version=seen, days=3, reason="缺配件")
    assert again.requests.count() == 1 and again.version == seen + 1
    seen = again.version
    services.decide_extension(world["leader"], again, version=seen, approve=True)
    twice = services.decide_extension(world["leader"], again, version=seen, approve=True)
    assert twice.extension_days == 3 and twice.steps.filter(action="decide_extension").count() == 1
    seen = twice.version
    services.whistle(world["leader"], twice, version=seen, departments=[world.dept_xinfang])
    whistled = services.whistle(world["leader"], twice, version=seen, departments=[world.dept_xinfang])
    assert whistled.assignments.filter(role="whistle").count() == 1
    seen = whistled.version
    services.report_in(world["dept_xinfang"], whistled, version=seen)
    services.report_in(world["dept_xinfang"], whistled, version=seen)
    assert whistled.steps.filter(action="report_in").count() == 1
