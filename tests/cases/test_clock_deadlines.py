"""The case clock under a frozen clock: which policy applies (category over parent over default,
priority-specific over any), periods in hours / days / working days, the traffic light's boundaries (green →
yellow at 75 % of the period → red after the deadline), `light_q` selecting exactly the cases `light_of`
colours, and an extension moving the deadline and the light."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from jiedao.cases import clock, services
from jiedao.cases.models import Case, Category, DeadlinePolicy, Light, Priority, TimeUnit
from tests.world import World

pytestmark = pytest.mark.django_db

MakeCase = Callable[..., Case]
TZ = timezone.get_fixed_timezone(8 * 60)
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=TZ)


def policy(category: Category | None, priority: str, amount: int, unit: str) -> DeadlinePolicy:
    row, _ = DeadlinePolicy.objects.update_or_create(
        category=category, priority=priority, defaults={"amount": amount, "unit": unit}
    )
    return row


def test_most_specific_policy_wins(catalog: dict[str, Category]) -> None:
    stall, build, city = catalog["city-stall"], catalog["city-build"], catalog["city"]
    # The default rows of the catalogue: 一般 10 working days.
    assert (clock.policy_for(stall, Priority.NORMAL).amount, clock.policy_for(stall, "normal").unit) == (
        10,
        TimeUnit.WORKDAYS,
    )
    assert clock.policy_for(stall, Priority.NORMAL).source == "默认"
    policy(city, "", 5, TimeUnit.DAYS)
    assert clock.policy_for(build, Priority.NORMAL).amount == 5  # the parent's, over the default
    assert (
        clock.policy_for(build, Priority.URGENT).amount == 5
    )  # the parent's any-priority, over default urgent
    policy(stall, "", 2, TimeUnit.WORKDAYS)
    assert clock.policy_for(stall, Priority.NORMAL).amount == 2  # the category's, over its parent's
    assert clock.policy_for(stall, Priority.NORMAL).source == "占道经营"
    policy(city, Priority.URGENT, 7, TimeUnit.HOURS)
    assert clock.policy_for(stall, Priority.URGENT).amount == 2  # nearer category beats priority-specific
    assert clock.policy_for(build, Priority.URGENT).amount == 7  # same level: priority-specific wins
    policy(stall, Priority.URGENT, 6, TimeUnit.HOURS)
    got = clock.policy_for(stall, Priority.URGENT)
    assert (got.amount, got.unit) == (6, TimeUnit.HOURS)
    assert clock.policy_for(stall, Priority.CRITICAL).amount == 2


def test_built_in_defaults_without_any_policy(catalog: dict[str, Category]) -> None:
    DeadlinePolicy.objects.all().delete()
    got = clock.policy_for(catalog["city-stall"], Priority.CRITICAL)
    assert (got.amount, got.unit, got.source) == (24, TimeUnit.HOURS, "系统默认")


@pytest.mark.parametrize(
    ("code", "priority", "due", "words"),
    [
        # infra-water: 12 hours.
        ("infra-water", "normal", MONDAY + timedelta(hours=12), "12 小时"),
        # safety (parent of safety-tree): 3 days from Tue 02-10 → Fri 02-13 (a working day).
        ("safety-tree", "normal", datetime(2026, 2, 14, 0, 0, tzinfo=TZ), "3日"),
        # 一般: 10 working days from Thu 02-12: 02-13, 02-14 (make-up), 02-24…02-27, 02-28 (make-up),
        # 03-02, 03-03, 03-04.
        ("city-stall", "normal", datetime(2026, 3, 5, 0, 0, tzinfo=TZ), "至 2026-03-04 24:00"),
        # 紧急 default: 3 days from Thu 02-12 → 02-15, in the Spring Festival → Tue 02-24.
        ("city-stall", "urgent", datetime(2026, 2, 25, 0, 0, tzinfo=TZ), "顺延至 2026-02-24"),
    ],
)
def test_periods_in_hours_days_and_working_days(
    world: World, catalog: dict[str, Category], code: str, priority: str, due: datetime, words: str
) -> None:
    start = {"infra-water": MONDAY, "safety-tree": datetime(2026, 2, 10, 9, 0, tzinfo=TZ)}.get(
        code, datetime(2026, 2, 12, 9, 0, tzinfo=TZ)
    )
    extra = {"depth_cm": 30, "passable": "no"} if code == "infra-water" else {}
    with time_machine.travel(start, tick=False):
        case = services.create_case(
            world["comm_a"],
            channel="grid",
            category=catalog[code],
            org_unit=world.grid_a,
            description="巡查发现的问题，需要处理",
            priority=priority,
            extra=extra,
            accept=True,
        )
    assert case.due_at == due
    assert words in case.deadline_rule
    assert case.warn_at == start + (due - start) * 0.75


def lights_at(now: datetime) -> dict[int, str]:
    """light_of for every case, and check light_q picks exactly the same ones."""
    cases = list(Case.objects.all())
    found = {case.pk: clock.light_of(case, now) for case in cases}
    for light in (Light.GREEN, Light.YELLOW, Light.RED):
        selected = set(Case.objects.filter(clock.light_q(light, now)).values_list("pk", flat=True))
        assert selected == {pk for pk, got in found.items() if got == light}, (light, now)
    return found


def test_light_boundaries_and_light_q_agree(make_case: MakeCase) -> None:
    with time_machine.travel(MONDAY, tick=False):
        case = make_case("handling")
        other = make_case("dispatched")
    registered = make_case("registered")  # no deadline: no light at all
    assert case.due_at is not None and case.warn_at is not None
    warn, due = case.warn_at, case.due_at
    assert warn == MONDAY + (due - MONDAY) * 0.75
    tick = timedelta(seconds=1)
    assert lights_at(warn - tick)[case.pk] == Light.GREEN
    assert lights_at(warn)[case.pk] == Light.YELLOW
    assert lights_at(due)[case.pk] == Light.YELLOW  # due at 24:00 of the last day: still in time
    assert lights_at(due + tick)[case.pk] == Light.RED
    assert lights_at(due + tick)[other.pk] == Light.RED
    assert lights_at(due + tick)[registered.pk] == Light.NONE


def test_light_of_cases_without_a_deadline_and_closed_cases(make_case: MakeCase, world: World) -> None:
    with time_machine.travel(MONDAY, tick=False):
        registered = make_case("registered")
        closed = make_case("closed")
    assert clock.light_of(registered) == Light.NONE
    assert registered.pk in Case.objects.filter(clock.light_q(Light.NONE)).values_list("pk", flat=True)
    assert closed.due_at is not None
    assert clock.light_of(closed, closed.due_at + timedelta(days=30)) == Light.GREEN  # closed in time
    late = make_case("verified")
    assert late.due_at is not None
    with time_machine.travel(late.due_at + timedelta(hours=1), tick=False):
        late = services.close(world["comm_a"], late, version=late.version, outcome="resolved", reply="办结")
    assert clock.light_of(late) == Light.RED  # closed after the deadline stays red


def test_extension_moves_the_deadline_and_the_light(make_case: MakeCase, world: World) -> None:
    with time_machine.travel(MONDAY, tick=False):
        case = make_case("handling")
    assert case.due_at is not None
    overdue = case.due_at + timedelta(hours=1)
    assert lights_at(overdue)[case.pk] == Light.RED
    with time_machine.travel(overdue, tick=False):
        case = services.request_extension(
            world["grid_a"], case, version=case.version, days=5, reason="缺配件"
        )
        case = services.decide_extension(world["leader"], case, version=case.version, approve=True)
    # 03-16 24:00 + 5 日 = Saturday 03-21, a rest day: the period ends on Monday 03-23 at 24:00 (民法典 §203).
    assert case.due_at == datetime(2026, 3, 24, 0, 0, tzinfo=TZ)
    assert case.warn_at == MONDAY + (case.due_at - MONDAY) * 0.75
    assert "经批准延期 5 日" in case.deadline_rule and "2026-03-23 24:00" in case.deadline_rule
    assert lights_at(overdue)[case.pk] == Light.GREEN
    assert lights_at(case.due_at + timedelta(seconds=1))[case.pk] == Light.RED


def test_reopened_case_gets_a_fresh_light(make_case: MakeCase) -> None:
    with time_machine.travel(MONDAY, tick=False):
        case = make_case("closed")
    assert case.due_at is not None
    later = case.due_at + timedelta(days=3)
    with time_machine.travel(later, tick=False):
        case = services.rate(services.PUBLIC, case, version=case.version, rating="unsatisfied")
    assert case.due_at is not None and case.due_at > later
    assert lights_at(later)[case.pk] == Light.GREEN


def test_every_deadline_says_its_rule(make_case: MakeCase) -> None:
    case = make_case("accepted")
    assert case.deadline_rule.startswith("默认时限 10工作日")
    assert len(case.deadline_rule) <= 300
