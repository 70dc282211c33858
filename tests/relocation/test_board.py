"""The progress board's figures on a known fixture: today, this week, total, against target, per team, per
leader and per 包户人, the ranking, the trend, and the drill-down links that list the same households."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse

from jiedao.core.models import User
from jiedao.relocation import board, services
from jiedao.relocation.models import ExpropriationHousehold, Stage, Team
from tests.relocation.helpers import Setup
from tests.world import World

pytestmark = pytest.mark.django_db

DAY = date(2025, 6, 12)  # a Thursday: the week started on Monday 9 June
MONDAY = date(2025, 6, 9)


def _put(
    setup: Setup, number: str, team: Team, staff: User, signed: date | None, vacated: date | None
) -> None:
    stage = Stage.VACATED if vacated else Stage.SIGNED if signed else Stage.NEGOTIATION
    ExpropriationHousehold.objects.create(
        project=setup.project,
        org_unit=setup.project.org_unit,
        number=number,
        owner_name=f"户主{number}",
        team=team,
        staff=staff,
        stage=stage,
        surveyed_on=date(2025, 5, 1),
        signed_on=signed,
        vacated_on=vacated,
    )


@pytest.fixture
def figures(world: World, setup: Setup) -> board.Board:
    """一组 (grid_a): 2 signed today (one vacated today), 1 signed Monday, 1 signed last week and vacated this
    week, 1 not signed; 二组 (dept_xinfang): 1 signed last month; plus A-1, B-1 (not signed)."""
    p = setup.project
    p.start_date, p.target_signed, p.target_vacated, p.target_date = (
        date(2025, 5, 1),
        10,
        8,
        DAY + timedelta(days=3),
    )
    p.save()
    t1, t2 = setup.team1, setup.team2
    grid_a, xinfang = world["grid_a"], world["dept_xinfang"]
    _put(setup, "T1", t1, grid_a, DAY, DAY)
    _put(setup, "T2", t1, grid_a, DAY, None)
    _put(setup, "T3", t1, grid_a, MONDAY, None)
    _put(setup, "T4", t1, world["comm_a"], MONDAY - timedelta(days=2), MONDAY + timedelta(days=1))
    _put(setup, "T5", t1, grid_a, None, None)
    _put(setup, "T6", t2, xinfang, date(2025, 5, 20), None)
    return board.build(setup.project, DAY)


def test_totals_against_target(figures: board.Board) -> None:
    t = figures.total
    assert (t.households, t.signed, t.signed_week, t.signed_today) == (8, 5, 3, 2)
    assert (t.vacated, t.vacated_week, t.vacated_today) == (2, 2, 1)
    assert figures.signed_target_rate == 50.0 and figures.vacated_target_rate == 25.0
    assert figures.days_left == 3
    assert figures.signed_pace == 2  # 5 more in 3 days
    assert figures.vacated_pace == 2  # 6 more in 3 days


def test_teams_leaders_and_staff_ranked(world: World, figures: board.Board) -> None:
    teams = {r.label: r for r in figures.teams}
    one, two = teams["一组"], teams["二组"]
    assert (one.households, one.signed, one.signed_week, one.signed_today, one.vacated) == (6, 4, 3, 2, 2)
    assert (two.households, two.signed, two.signed_today) == (2, 1, 0)
    assert one.signed_rate == 66.7 and two.signed_rate == 50.0
    assert (one.rank, two.rank) == (1, 2) and one.leader == str(world["comm_a"])
    leaders = {r.label: r for r in figures.leaders}
    assert leaders[str(world["comm_a"])].signed == 4 and leaders[str(world["dept_xinfang"])].signed == 1
    staff = figures.staff
    assert [(r.label, r.signed, r.rank) for r in staff] == [
        (str(world["grid_a"]), 3, 1),
        (str(world["comm_a"]), 1, 2),  # ties with dept_xinfang on signed, ahead on vacated
        (str(world["dept_xinfang"]), 1, 3),
    ]


def test_trend_is_cumulative_per_day(figures: board.Board) -> None:
    trend = figures.trend
    assert trend["categories"][0] == "05-01" and trend["categories"][-1] == "06-12"
    signed, vacated = (s["data"] for s in trend["series"])
    assert signed[-1] == 5 and vacated[-1] == 2
    assert signed == sorted(signed)  # never goes down
    assert signed[trend["categories"].index("05-20")] == 1
    assert signed[trend["categories"].index("06-09")] == 3  # T6, T4 (06-07), T3 (06-09)


def test_every_number_drills_down_to_its_households(
    world: World, setup: Setup, figures: board.Board, client_for
) -> None:
    client: Client = client_for("leader")
    one = next(r for r in figures.teams if r.label == "一组")
    checks = [
        (figures.total.links["signed_week"], 3),
        (figures.total.links["signed_today"], 2),
        (figures.total.links["vacated"], 2),
        (one.links["signed"], 4),
        (one.links["households"], 6),
        (figures.leaders[0].links["signed"], 4),
    ]
    for url, expected in checks:
        page = client.get(url).content.decode()
        assert page.count('data-testid="household-row"') == expected, url


def test_board_page_and_query_count(
    world: World, setup: Setup, client_for, django_assert_max_num_queries
) -> None:
    client: Client = client_for("leader")
    url = reverse("relocation:board", kwargs={"pk": setup.project.pk})
    client.get(url)
    with django_assert_max_num_queries(20):
        response = client.get(url)
    assert response.status_code == 200
    assert 'data-testid="trend-chart"' in response.content.decode()


def test_stepping_back_takes_a_household_off_the_board(world: World, setup: Setup) -> None:
    from tests.relocation.helpers import move_to

    household = move_to(setup, setup.a1, Stage.SIGNED, world["grid_a"])
    assert board.build(setup.project, services.today()).total.signed_today == 1
    services.step_back(
        world["leader"], household, version=household.version, to_stage=Stage.NEGOTIATION, reason="协议作废"
    )
    assert board.build(setup.project, services.today()).total.signed == 0
