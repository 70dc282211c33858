"""三率 on a known fixture: exact rates per community and department (read from the monthly rollup after a
refresh), and each figure's drill-down parameters list exactly the cases counted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.test import RequestFactory
from django.utils import timezone

from jiedao.cases import measures
from jiedao.cases.filters import CaseFilterSet
from jiedao.cases.models import Case, MonthlyFigure
from tests.world import World

MARCH = date(2025, 3, 1)


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=timezone.get_current_timezone())


@pytest.fixture
def measured(world: World, make_case: Callable[..., Case]) -> dict[str, Case]:
    """Cases with known March 2025 timestamps (community A, community B, 信访办, the other sub-district)."""
    plan: dict[str, dict[str, Any]] = {
        # community A, handled by communities
        "a1": dict(
            status="rated",
            dispatched_at=at(3, 5),
            responded_at=at(3, 5, 12),
            response_due_at=at(3, 6),
            closed_at=at(3, 10),
            outcome="resolved",
            rated_at=at(3, 12),
            rating="satisfied",
        ),
        "a2": dict(
            status="closed",
            dispatched_at=at(3, 6),
            responded_at=at(3, 8),
            response_due_at=at(3, 7),
            closed_at=at(3, 20),
            outcome="partial",
        ),
        "a3": dict(status="dispatched", dispatched_at=at(3, 7), responded_at=None, response_due_at=at(3, 8)),
        "a4": dict(
            status="rated",
            dispatched_at=at(2, 20),
            responded_at=at(2, 20, 11),
            response_due_at=at(2, 21),
            closed_at=at(3, 2),
            outcome="resolved",
            rated_at=at(3, 4),
            rating="basic",
        ),
        # the last half hour of March (local time) is March
        "a5": dict(
            status="handling",
            dispatched_at=at(3, 31, 23, 30),
            responded_at=at(3, 31, 23, 40),
            response_due_at=at(4, 1, 23, 30),
        ),
        # 不予受理 and merged: closed_at set but not counted as closed
        "a6": dict(status="not_accepted", closed_at=at(3, 15), dispatched_at=None),
        "a7": dict(
            status="handling",
            dispatched_at=at(1, 5),
            responded_at=at(1, 5, 11),
            response_due_at=at(1, 6),
            closed_at=None,
            outcome="",
            rated_at=at(3, 25),
            rating="unsatisfied",
            reopen_count=1,
        ),
        "a8": dict(status="merged", closed_at=at(3, 11), outcome="", dispatched_at=at(2, 1)),
        # community B
        "b1": dict(
            status="rated",
            dispatched_at=at(3, 10),
            responded_at=at(3, 10, 11),
            response_due_at=at(3, 11),
            closed_at=at(3, 12),
            outcome="explained",
            rated_at=at(3, 13),
            rating="satisfied",
        ),
        "b2": dict(status="dispatched", dispatched_at=at(4, 1, 0, 10), responded_at=None),
        # 信访办 leads (the place is in community A)
        "d1": dict(
            status="rated",
            dispatched_at=at(3, 3),
            responded_at=at(3, 3, 11),
            response_due_at=at(3, 4),
            closed_at=at(3, 9),
            outcome="resolved",
            rated_at=at(3, 10),
            rating="satisfied",
        ),
        "d2": dict(
            status="handling", dispatched_at=at(3, 4), responded_at=at(3, 6), response_due_at=at(3, 5)
        ),
        # the other sub-district
        "o1": dict(
            status="handling", dispatched_at=at(3, 5), responded_at=at(3, 5, 11), response_due_at=at(3, 6)
        ),
    }
    cases = {}
    for name, fields in plan.items():
        case = make_case(until="dispatched", description=f"三率测试工单 {name}，占道经营影响通行")
        fields = {**fields, "extra": {"fixture": name}}
        unit = {"b": world.grid_b, "o": world.other_grid}.get(name[0], world.grid_a)
        extra: dict[str, Any] = {"org_unit": unit, "org_path": unit.path, "lead_unit": unit}
        extra["lead_department"] = world.dept_xinfang if name[0] == "d" else None
        Case.objects.filter(pk=case.pk).update(**extra, **fields)
        cases[name] = Case.objects.get(pk=case.pk)
    measures.refresh_months(date(2025, 1, 1), date(2025, 4, 1))
    return cases


def figs(user: Any) -> Any:
    return measures.figures_for(user)


def figure_cases(url: str, user: Any) -> set[str]:
    """Run a drill-down link through CaseFilterSet over the user's cases: the fixture names it lists."""
    parts = urlsplit(url)
    assert parts.path == measures.case_list_url({}).split("?")[0]
    request = RequestFactory().get(url)
    request.user = user
    fs = CaseFilterSet(dict(parse_qsl(parts.query)), queryset=Case.objects.visible_to(user), request=request)
    assert fs.is_valid(), fs.errors
    return {c.extra["fixture"] for c in fs.qs}


def test_totals_for_the_leader(world: World, measured: dict[str, Case]) -> None:
    total = measures.totals(figs(world["leader"]), MARCH)
    assert (total["dispatched"], total["on_time"], total["late"], total["unresponded"]) == (7, 4, 2, 1)
    assert (total["closed"], total["resolved"], total["rated"], total["good"]) == (5, 3, 5, 4)
    assert total["outcome_partial"] == 1 and total["outcome_explained"] == 1 and total["outcome_legal"] == 0
    assert total.response_rate == pytest.approx(4 / 7)
    assert total.resolution_rate == pytest.approx(3 / 5)
    assert total.satisfaction_rate == pytest.approx(4 / 5)
    assert total.rates["response"] == "57.1%"


def test_per_community_and_department(world: World, measured: dict[str, Case]) -> None:
    qs = figs(world["leader"])
    communities = measures.by_community(qs, MARCH)
    assert [c.code for c in communities] == [world.community_b.code, world.community_a.code]  # B ranks first
    b, a = communities
    assert (a["dispatched"], a["on_time"], a["closed"], a["resolved"], a["rated"], a["good"]) == (
        4,
        2,
        3,
        2,
        3,
        2,
    )
    assert a.response_rate == pytest.approx(0.5)
    assert a.resolution_rate == pytest.approx(2 / 3)
    assert a.satisfaction_rate == pytest.approx(2 / 3)
    assert a.composite == pytest.approx((0.5 + 2 / 3 + 2 / 3) / 3)
    assert (b.response_rate, b.resolution_rate, b.satisfaction_rate) == (1.0, 0.0, 1.0)
    (dept,) = measures.by_department(qs, MARCH)
    assert dept.code == "xinfang"
    assert (dept["dispatched"], dept["on_time"], dept["closed"], dept["resolved"], dept["rated"]) == (
        2,
        1,
        1,
        1,
        1,
    )
    assert dept.rates == {
        "response": "50.0%",
        "resolution": "100.0%",
        "satisfaction": "100.0%",
        "composite": "83.3%",
    }


def test_drill_down_lists_exactly_the_counted_cases(world: World, measured: dict[str, Case]) -> None:
    leader = world["leader"]
    qs = figs(leader)
    total = measures.totals(qs, MARCH)
    expected = {
        "dispatched": {"a1", "a2", "a3", "a5", "b1", "d1", "d2"},
        "on_time": {"a1", "a5", "b1", "d1"},
        "late": {"a2", "d2"},
        "unresponded": {"a3"},
        "closed": {"a1", "a2", "a4", "b1", "d1"},
        "resolved": {"a1", "a4", "d1"},
        "rated": {"a1", "a4", "a7", "b1", "d1"},
        "good": {"a1", "a4", "b1", "d1"},
    }
    for figure, cases in expected.items():
        assert figure_cases(total.links[figure], leader) == cases, figure
        assert total[figure] == len(cases)
    partial = next(o for o in total.breakdown if o["label"] == "部分解决")
    assert figure_cases(partial["url"], leader) == {"a2"}

    a = next(c for c in measures.by_community(qs, MARCH) if c.code == world.community_a.code)
    assert figure_cases(a.links["dispatched"], leader) == {"a1", "a2", "a3", "a5"}
    assert figure_cases(a.links["good"], leader) == {"a1", "a4"}
    assert figure_cases(a.links["rated"], leader) == {"a1", "a4", "a7"}
    (dept,) = measures.by_department(qs, MARCH)
    assert figure_cases(dept.links["late"], leader) == {"d2"}
    assert figure_cases(dept.links["closed"], leader) == {"d1"}


def test_scope_of_the_figures(world: World, measured: dict[str, Case]) -> None:
    comm_b = measures.totals(figs(world["comm_b"]), MARCH)
    assert (comm_b["dispatched"], comm_b["closed"], comm_b["rated"]) == (1, 1, 1)
    assert figure_cases(comm_b.links["dispatched"], world["comm_b"]) == {"b1"}
    other = measures.totals(figs(world["other_leader"]), MARCH)
    assert (other["dispatched"], other["on_time"], other["closed"]) == (1, 1, 0)
    assert figure_cases(other.links["dispatched"], world["other_leader"]) == {"o1"}
    assert measures.by_community(figs(world["other_leader"]), MARCH)[0].code == (world.other_community.code)


def test_empty_month_has_no_rates(world: World, measured: dict[str, Case]) -> None:
    total = measures.totals(MonthlyFigure.objects.all(), date(2020, 1, 1))
    assert total.response_rate is None and total.composite is None
    assert total.rates == {"response": "—", "resolution": "—", "satisfaction": "—", "composite": "—"}
    assert measures.by_community(MonthlyFigure.objects.all(), date(2020, 1, 1)) == []


def test_trend_has_twelve_months(world: World, measured: dict[str, Case]) -> None:
    trend = measures.trend(figs(world["leader"]), date(2025, 4, 1))
    assert [t["month"] for t in trend][-3:] == ["2025-02", "2025-03", "2025-04"] and len(trend) == 12
    march = trend[-2]
    assert march["response"] == pytest.approx(4 / 7) and march["satisfaction"] == pytest.approx(4 / 5)
    assert trend[-1]["response"] == 0.0  # b2 dispatched 1 April, not signed
    assert trend[0]["response"] is None


def test_month_parsing() -> None:
    assert measures.parse_month("2025-03") == MARCH
    assert measures.parse_month("2025-13") is None
    assert measures.parse_month("март") is None
    assert measures.add_months(date(2025, 1, 1), -1) == date(2024, 12, 1)
    start, end = measures.month_bounds(MARCH)
    assert start == at(3, 1, 0) and end == at(4, 1, 0)
