"""积案 classification (age, repeated person, repeated place), the repeated lists and their drill-downs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.test import RequestFactory
from django.utils import timezone

from jiedao.cases import backlog
from jiedao.cases.filters import CaseFilterSet
from jiedao.cases.models import Case, Category
from tests.world import World

P1 = "13900000001"
P2 = "13900000002"


def build(
    world: World,
    make_case: Callable[..., Case],
    catalog: dict[str, Category],
    plan: dict[str, dict[str, Any]],
) -> dict[str, Case]:
    """Cases made through the services, then given the plan's fields (unit and category by name)."""
    cases = {}
    for name, fields in plan.items():
        fields = dict(fields)
        unit = getattr(world, fields.pop("unit", "grid_a"))
        category = catalog[fields.pop("category", "city-stall")]
        case = make_case(
            until="dispatched", description=f"积案测试 {name}", requester_phone=fields["requester_phone"]
        )
        Case.objects.filter(pk=case.pk).update(
            org_unit=unit, org_path=unit.path, category=category, extra={"fixture": name}, **fields
        )
        cases[name] = Case.objects.get(pk=case.pk)
    return cases


def listed(url: str, user: Any) -> set[str]:
    """The fixture names the case list shows for a drill-down link (CaseFilterSet over the user's cases)."""
    request = RequestFactory().get(url)
    request.user = user
    data = dict(parse_qsl(urlsplit(url).query))
    fs = CaseFilterSet(data, queryset=Case.objects.visible_to(user), request=request)
    assert fs.is_valid(), fs.errors
    return {c.extra["fixture"] for c in fs.qs}


@pytest.fixture
def now() -> datetime:
    return timezone.now()


@pytest.fixture
def backlog_cases(
    world: World, make_case: Callable[..., Case], catalog: dict[str, Category], now: datetime
) -> dict[str, Case]:
    def ago(days: int) -> datetime:
        return now - timedelta(days=days)

    rows = [  # name, received days ago, status, phone, place, category
        ("old_open", 40, "handling", "13900000011", "grid_a", "city-build"),
        ("new_open", 10, "handling", "13900000012", "grid_a", "city-ad"),
        ("old_closed", 40, "closed", "13900000013", "grid_a", "env-sewage"),
        ("p1", 5, "handling", P1, "grid_b", "infra-cover"),
        ("p2", 20, "closed", P1, "grid_b", "infra-water"),
        ("p3", 80, "closed", P1, "grid_b2", "safety-tree"),
        ("p4", 100, "handling", P1, "grid_b2", "safety-fire"),
        ("q1", 5, "handling", P2, "grid_a", "dispute-neighbour"),
        ("q2", 6, "handling", P2, "grid_a", "dispute-wage"),
        ("pl1", 2, "handling", "13900000021", "grid_a2", "env-garbage"),
        ("pl2", 25, "closed", "13900000022", "grid_a2", "env-garbage"),
        ("pl3", 60, "closed", "13900000023", "grid_a2", "env-garbage"),
        ("pl4", 3, "handling", "13900000024", "grid_a2", "infra-light"),
        ("pl5", 4, "handling", "13900000025", "grid_a2", "infra-light"),
    ]
    plan: dict[str, dict[str, Any]] = {
        name: dict(received_at=ago(days), status=status, requester_phone=phone, unit=unit, category=category)
        for name, days, status, phone, unit, category in rows
    }
    return build(world, make_case, catalog, plan)


def kind_of(kind: str, now: datetime) -> set[str]:
    return {c.extra["fixture"] for c in Case.objects.filter(backlog.backlog_q(kind, now))}


def test_each_kind(world: World, backlog_cases: dict[str, Case], now: datetime) -> None:
    assert kind_of("age", now) == {"old_open", "p4"}
    assert kind_of("person", now) == {"p1", "p4"}
    assert kind_of("place", now) == {"pl1"}
    assert kind_of("any", now) == {"old_open", "p4", "p1", "pl1"}
    with pytest.raises(ValueError):
        backlog.backlog_q("nonsense", now)


def test_closing_takes_a_case_off_the_backlog(
    world: World, backlog_cases: dict[str, Case], now: datetime
) -> None:
    Case.objects.filter(pk=backlog_cases["old_open"].pk).update(status="closed")
    assert kind_of("age", now) == {"p4"}
    # a fourth case at the place of pl4/pl5 makes them a repeated place
    Case.objects.filter(pk=backlog_cases["q1"].pk).update(
        org_unit=world.grid_a2, org_path=world.grid_a2.path, category=backlog_cases["pl4"].category
    )
    assert kind_of("place", now) == {"pl1", "pl4", "pl5", "q1"}


def test_repeat_counts_are_within_the_viewers_cases(
    world: World, backlog_cases: dict[str, Case], now: datetime
) -> None:
    """comm_a sees only community A: P1's cases (community B) are not repeated there."""
    within = Case.objects.visible_to(world["comm_a"])
    person = within.filter(backlog.backlog_q("person", now, within))
    assert not person.exists()
    other = Case.objects.visible_to(world["other_leader"])
    assert not other.filter(backlog.backlog_q("any", now, other)).exists()


def test_repeated_lists_mask_the_phone_and_drill_down(
    world: World, backlog_cases: dict[str, Case], now: datetime
) -> None:
    leader = world["leader"]
    qs = Case.objects.visible_to(leader)
    (person,) = backlog.repeated_people(qs, now)
    assert person["label"] == "139****0001" and (person["count"], person["open"]) == (3, 2)
    assert P1 not in person["url"] and P1 not in person["open_url"]
    assert listed(person["url"], leader) == {"p1", "p2", "p3"}
    assert listed(person["open_url"], leader) == {"p1", "p4"}
    (place,) = backlog.repeated_places(qs, now)
    assert (place["label"], place["category"], place["count"], place["open"]) == (
        "陇一社区第2网格",
        "垃圾清运",
        3,
        1,
    )
    assert listed(place["url"], leader) == {"pl1", "pl2", "pl3"}
    assert listed(place["open_url"], leader) == {"pl1"}
    assert backlog.repeated_people(Case.objects.visible_to(world["other_leader"]), now) == []


def test_current_counts_link_to_the_same_cases(
    world: World, backlog_cases: dict[str, Case], now: datetime
) -> None:
    leader = world["leader"]
    qs = Case.objects.visible_to(leader)
    counts = {k["kind"]: k for k in backlog.current_counts(qs, now, qs)}
    assert {k: v["count"] for k, v in counts.items()} == {"age": 2, "person": 2, "place": 1, "any": 4}
    assert listed(counts["any"]["url"], leader) == {"old_open", "p4", "p1", "pl1"}
    assert listed(counts["person"]["url"], leader) == {"p1", "p4"}
    # same_requester naming a case the user cannot see lists nothing
    assert listed(f"/cases/?same_requester={backlog_cases['p1'].number}", world["comm_a"]) == set()
