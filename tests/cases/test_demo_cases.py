"""The cases demo step: a simulated year of cases in every state, idempotent, with consistent timelines; and
the bulk generator at a small scale on the persona world."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Count, Exists, Max, Min, OuterRef, Q
from django.utils import timezone

from jiedao.cases import bulk
from jiedao.cases.demo import OPEN311_DEMO_KEY
from jiedao.cases.models import (
    OPEN_STATUSES,
    Assignment,
    Case,
    Clock,
    DispatchRule,
    NumberCounter,
    Open311Client,
    Rating,
    Request,
    Status,
    Step,
)
from jiedao.core import demo
from jiedao.core.models.deadlines import DueState
from tests.test_demo import empty_db  # noqa: F401  (fixture)
from tests.world import World

NUMBER = re.compile(r"^GC\d{8}\d{5}$")


def counts() -> dict[str, int]:
    return {
        "cases": Case.objects.count(),
        "steps": Step.objects.count(),
        "clocks": Clock.objects.count(),
        "assignments": Assignment.objects.count(),
        "requests": Request.objects.count(),
        "rules": DispatchRule.objects.count(),
        "clients": Open311Client.objects.count(),
        "counters": sum(NumberCounter.objects.values_list("last", flat=True)),
    }


def check_timelines(now: Any, full: bool) -> None:
    """Every case has a create step and nothing before it; the last status step matches the case;
    closed cases closed after they came in; open cases with a future deadline have pending clocks."""
    assert not Case.objects.filter(
        ~Exists(Step.objects.filter(case=OuterRef("pk"), action="create"))
    ).exists()
    firsts = Step.objects.values("case").annotate(first=Min("created_at"), last=Max("created_at"))
    received = dict(Case.objects.values_list("pk", "received_at"))
    for row in firsts:
        assert row["first"] == received[row["case"]]
        assert row["last"] <= now + timedelta(minutes=5)
    assert not Case.objects.filter(closed_at__lt=models_f("received_at")).exists()
    closed_like = [Status.CLOSED, Status.RATED, Status.NOT_ACCEPTED, Status.MERGED]
    assert not Case.objects.filter(status__in=closed_like, closed_at__isnull=True).exists()
    # The newest step that changed the status says the case's status.
    last_status: dict[int, str] = {}
    for case_id, to_status in (
        Step.objects.exclude(to_status="")
        .order_by("case_id", "created_at", "id")
        .values_list("case_id", "to_status")
    ):
        last_status[case_id] = to_status
    wrong = [
        (number, status, last_status.get(pk))
        for pk, number, status in Case.objects.values_list("pk", "number", "status")
        if last_status.get(pk) != status
    ]
    assert not wrong, wrong[:5]
    # Clocks: none pending on finished cases; every open case with a deadline ahead has one.
    assert (
        not Clock.objects.filter(due_state=DueState.PENDING).exclude(case__status__in=OPEN_STATUSES).exists()
    )
    waiting = Case.objects.filter(status__in=OPEN_STATUSES, due_at__gt=now).exclude(
        status=Status.REGISTERED, petition_type=""
    )
    assert waiting.exists()
    without = waiting.exclude(Exists(Clock.objects.filter(case=OuterRef("pk"), due_state=DueState.PENDING)))
    assert not without.exists(), list(without.values_list("number", "status")[:5])
    assert not Clock.objects.filter(
        due_state=DueState.PENDING, due_at__lte=now - timedelta(minutes=5)
    ).exists()
    # Numbers: unique, in the readable format, and the day counters are ahead of them.
    numbers = list(Case.objects.values_list("number", flat=True))
    assert len(numbers) == len(set(numbers)) and all(NUMBER.match(n) for n in numbers)
    highest: dict[str, int] = {}
    for n in numbers:
        highest[n[2:10]] = max(highest.get(n[2:10], 0), int(n[10:]))
    counters = {f"{day:%Y%m%d}": last for day, last in NumberCounter.objects.values_list("day", "last")}
    assert all(counters.get(day, 0) >= last for day, last in highest.items())
    if not full:
        per_case = Step.objects.values("case").annotate(n=Count("id")).aggregate(m=Max("n"))["m"]
        assert per_case <= 4


def models_f(name: str) -> Any:
    from django.db.models import F

    return F(name)


@pytest.mark.django_db
def test_demo_step_makes_a_year_in_every_state_and_is_idempotent(empty_db: None) -> None:  # noqa: F811
    demo.load_demo(scale=1)
    now = timezone.now()
    from jiedao.patrol.models import EventCheck, PatrolItem

    # the patrol module's demo files its findings as cases too; count only this module's own
    patrol_cases = {
        *EventCheck.objects.values_list("case", flat=True),
        *PatrolItem.objects.values_list("case", flat=True),
    }
    total = Case.objects.exclude(pk__in=patrol_cases - {None}).count()
    assert patrol_cases - {None}
    assert total == bulk.cases_for_scale(1) + 3  # and three live cases made through the services

    statuses = set(Case.objects.values_list("status", flat=True))
    assert statuses == set(Status.values), set(Status.values) - statuses
    cases = Case.objects
    assert cases.filter(status=Status.RATED, rating=Rating.SATISFIED).exists()
    assert cases.filter(status=Status.RATED, rating=Rating.BASIC).exists()
    assert cases.filter(rating=Rating.UNSATISFIED, reopen_count__gt=0).exists()
    assert cases.filter(status__in=OPEN_STATUSES, reopen_count__gt=0).exists()
    assert cases.filter(status__in=OPEN_STATUSES, due_at__lt=now).count() >= 5  # overdue
    extended = cases.filter(extension_days__gt=0)
    assert extended.exists()
    assert not extended.exclude(requests__kind=Request.Kind.EXTENSION, requests__decision="approved").exists()
    assert Request.objects.filter(kind=Request.Kind.EXTENSION, decision="pending").exists()
    assert Request.objects.filter(
        kind=Request.Kind.CONTEST, decision="pending", case__status=Status.CONTESTED
    ).exists()
    assert cases.filter(status=Status.MERGED, merged_into__isnull=False).exists()
    assert not cases.filter(status=Status.MERGED, merged_into__isnull=True).exists()
    assert cases.filter(status=Status.ESCALATED, escalated=True).exists()
    assert Assignment.objects.filter(role=Assignment.Role.WHISTLE, state=Assignment.State.PENDING).exists()
    assert Assignment.objects.filter(role=Assignment.Role.WHISTLE, state=Assignment.State.CONFIRMED).exists()
    # Petitions at each stage, with the leader in charge (包案领导) of the place.
    petitions = cases.exclude(petition_type="")
    for status in (Status.REGISTERED, Status.HANDLING, Status.CLOSED, Status.UNDER_REVIEW):
        assert petitions.filter(status=status).exists(), status
    assert petitions.filter(review_level=2).exists()  # after 复核
    longhai = petitions.filter(org_path__startswith=demo_path(demo.LONGHAI_CODE))
    assert longhai.exists() and not longhai.filter(leader_in_charge__isnull=True).exists()
    assert petitions.filter(petition_type="accusation", confidential=True).exists()
    # Dispatched by the demo dispatch table (城管科 for 城市管理 in 陇海马路街道) and to the locality.
    assert cases.filter(lead_department__code="chengguan", category__code__startswith="city").exists()
    assert cases.filter(
        dispatch_rule__isnull=True, lead_unit__isnull=False, lead_department__isnull=True
    ).exists()
    # Realistic texts: street names of the area, requesters with names and phones.
    assert cases.filter(Q(title__contains="陇海路") | Q(description__contains="新郑路")).exists()
    assert cases.exclude(requester_phone="").filter(requester_name="").count() == 0
    assert cases.filter(received_at__lt=now - timedelta(days=300)).exists()
    assert Open311Client.objects.filter(key_prefix=OPEN311_DEMO_KEY[:8]).count() == 1
    assert not Open311Client.objects.filter(key_hash=OPEN311_DEMO_KEY).exists()  # stored hashed
    for case in cases.order_by("?")[:40]:
        case.full_clean(validate_unique=False)
        assert case.light() in {"green", "yellow", "red", "none"}

    check_timelines(now, full=True)

    before = counts()
    demo.load_demo(scale=1)
    assert counts() == before


def demo_path(code: str) -> str:
    from jiedao.core.models import OrgUnit

    return OrgUnit.objects.get(code=code).path


@pytest.mark.django_db
def test_bulk_build_at_scale_on_the_persona_world(
    world: World, catalog: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "ANALYZE_AFTER", 1_000)  # the statistics refresh after a large load runs too
    now = timezone.now()
    result = bulk.build(2_000, brief=True, now=now)
    assert result.created == 2_000 and result.existing == 0
    assert Case.objects.count() == 2_000
    assert result.stats.steps == Step.objects.count() >= 2 * 2_000 - 200
    # Every case lies in one of the world's grids or communities, in scope for the people there.
    assert Case.objects.visible_to(world["grid_a"]).exists()
    assert (
        not Case.objects.visible_to(world["grid_a"]).exclude(org_path__startswith=world.grid_a.path).exists()
    )
    assert Case.objects.visible_to(world["comm_a"]).count() > Case.objects.visible_to(world["grid_a"]).count()
    check_timelines(now, full=False)

    again = bulk.build(2_000, brief=True, now=now)
    assert again.created == 0 and Case.objects.count() == 2_000
    more = bulk.build(2_500, brief=True, now=now)
    assert more.created == 500 and Case.objects.count() == 2_500
    check_timelines(now, full=False)
