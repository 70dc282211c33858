"""The 积案清零 board: baseline at the campaign start, cleared, remaining, per 包案领导, with links; the
weekly chart, the page's scope and bad input."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from jiedao.cases import backlog
from jiedao.cases.models import Case, Category
from tests.cases.test_backlog_rules import build, listed
from tests.world import World

URL = reverse("cases:backlog")


@pytest.fixture
def start() -> date:
    return timezone.localdate() - timedelta(days=20)


@pytest.fixture
def campaign(
    world: World, make_case: Callable[..., Case], catalog: dict[str, Category], start: date
) -> dict[str, Case]:
    t0 = backlog.campaign_start(start)
    leader, other = world["leader"], world["other_leader"]
    rows: list[tuple[str, int, str, int | None, Any, str]] = [
        # name, received days before the start, status, closed days after the start, leader in charge, place
        ("k1", 60, "handling", None, leader, "grid_a"),
        ("k2", 45, "closed", 5, leader, "grid_a"),
        ("k3", 40, "closed", -2, leader, "grid_a"),  # closed before the start: not in the baseline
        ("k4", 10, "handling", None, leader, "grid_a"),  # not 30 days old at the start
        ("k5", 50, "handling", None, None, "grid_b"),
        ("k6", 60, "handling", None, other, "other_grid"),
    ]
    categories = ["city-build", "city-ad", "env-sewage", "infra-light", "infra-cover", "safety-tree"]
    plan = {
        name: dict(
            received_at=t0 - timedelta(days=before),
            status=status,
            closed_at=None if closed is None else t0 + timedelta(days=closed),
            leader_in_charge=who,
            unit=unit,
            category=categories[i],
            requester_phone=f"1370000000{i}",
        )
        for i, (name, before, status, closed, who, unit) in enumerate(rows)
    }
    return build(world, make_case, catalog, plan)


def test_board_per_leader(world: World, campaign: dict[str, Case], start: date) -> None:
    user = world["leader"]
    rows = backlog.board(Case.objects.visible_to(user), start)
    assert [(r.label, r.baseline, r.cleared, r.remaining, r.progress) for r in rows] == [
        ("马书记", 2, 1, 1, 50),
        ("未指定包案领导", 1, 0, 1, 0),
    ]
    mine, nobody = rows
    assert listed(mine.link(), user) == {"k1", "k2"}
    assert listed(mine.remaining_url, user) == {"k1"}
    assert listed(mine.cleared_url, user) == {"k2"}
    assert listed(nobody.link(), user) == {"k5"}
    assert f"leader={user.username}" in mine.link() and "baseline_start=" in mine.link()


def test_board_scope(world: World, campaign: dict[str, Case], start: date) -> None:
    rows = backlog.board(Case.objects.visible_to(world["other_leader"]), start)
    assert [(r.label, r.baseline) for r in rows] == [("二里岗 虎书记", 1)]
    assert backlog.board(Case.objects.visible_to(world["comm_b"]), start)[0].baseline == 1  # k5 only


def test_weekly_remaining(world: World, campaign: dict[str, Case], start: date) -> None:
    weekly = backlog.weekly_remaining(Case.objects.visible_to(world["leader"]), start, timezone.now())
    assert weekly[0] == {"date": start.isoformat(), "remaining": 3}
    assert [w["remaining"] for w in weekly] == [3, 2, 2, 2]  # k2 closed on day 5
    assert weekly[-1]["date"] == timezone.localdate().isoformat()


def test_quarter_start() -> None:
    assert backlog.quarter_start(date(2026, 11, 23)) == date(2026, 10, 1)
    assert backlog.quarter_start(date(2026, 3, 31)) == date(2026, 1, 1)


def json_script(html: str, element_id: str) -> Any:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    assert match, element_id
    return json.loads(match.group(1))


def test_page_for_the_leader(
    world: World, client_for: Callable[[str], Client], campaign: dict[str, Case], start: date
) -> None:
    response = client_for("leader").get(URL, {"start": start.isoformat()})
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'data-testid="total-baseline">3<', html)
    assert re.search(r'data-testid="total-remaining">2<', html)
    assert re.search(r'data-testid="total-cleared">1<', html)
    assert "未指定包案领导" in html and "马书记" in html and "虎书记" not in html
    chart = json_script(html, "backlog-weekly")
    assert chart["series"][0]["data"][0] == 3
    assert "vendor/echarts/echarts.min" in html


def test_page_default_start_and_bad_input(world: World, client_for: Callable[[str], Client]) -> None:
    client = client_for("dept_xinfang")
    default = backlog.quarter_start(timezone.localdate()).isoformat()
    assert f'value="{default}"' in client.get(URL).content.decode()
    html = client.get(URL, {"start": "2026-02-31"}).content.decode()
    assert "无法识别" in html and 'value="2026-02-31"' in html  # what was typed is kept
    future = (timezone.localdate() + timedelta(days=3)).isoformat()
    assert "不能晚于今天" in client.get(URL, {"start": future}).content.decode()


def test_other_leader_sees_none_of_ours(
    world: World, client_for: Callable[[str], Client], campaign: dict[str, Case], start: date
) -> None:
    html = client_for("other_leader").get(URL, {"start": start.isoformat()}).content.decode()
    assert re.search(r'data-testid="total-baseline">1<', html)
    assert "马书记" not in html and "未指定包案领导" not in html


@pytest.mark.parametrize("username", ["comm_a", "grid_a", "grid_b", "volunteer"])
def test_no_access(client_for: Callable[[str], Client], username: str) -> None:
    assert client_for(username).get(URL).status_code == 403


def test_navigation_entry(client_for: Callable[[str], Client]) -> None:
    assert URL in client_for("leader").get(reverse("home")).content.decode()
    assert URL not in client_for("comm_a").get(reverse("home")).content.decode()
