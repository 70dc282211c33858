"""The 三率统计 page: figures in scope, links that drill down, charts' data, bad input, who may open it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse

from jiedao.cases import measures
from jiedao.cases.models import Case
from tests.cases import test_measures_rates
from tests.cases.test_measures_rates import figure_cases
from tests.world import World

measured = test_measures_rates.measured  # the fixture

URL = reverse("cases:measures")


def json_script(html: str, element_id: str) -> dict:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    assert match, element_id
    return json.loads(match.group(1))


def text_of(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}"[^>]*>([^<]*)<', html)
    assert match, testid
    return match.group(1).strip()


def href_of(html: str, testid: str) -> str:
    match = re.search(rf'<a href="([^"]*)" data-testid="{testid}"', html)
    assert match, testid
    return unescape(match.group(1))


def test_leader_sees_figures_rankings_and_charts(
    world: World, client_for: Callable[[str], Client], measured: dict[str, Case]
) -> None:
    response = client_for("leader").get(URL, {"month": "2025-03"})
    assert response.status_code == 200
    html = response.content.decode()
    assert text_of(html, "total-dispatched") == "7"
    assert text_of(html, "total-response") == "57.1%"
    assert text_of(html, "total-resolution") == "60.0%"
    assert text_of(html, "total-satisfaction") == "80.0%"
    assert figure_cases(href_of(html, "total-closed"), world["leader"]) == {"a1", "a2", "a4", "b1", "d1"}
    # the ranking tables: community B first, then A; the department table
    community_table = html.split('data-testid="community-table"')[1].split('data-testid="department-table"')[
        0
    ]
    assert community_table.index(world.community_b.code) < community_table.index(world.community_a.code)
    assert "信访办" in html.split('data-testid="department-table"')[1]
    assert "当月派遣的工单中" in html  # the definitions are on the page
    trend = json_script(html, "measures-trend")
    assert trend["categories"][-1] == "2025-03" and len(trend["categories"]) == 12
    assert trend["series"][0]["data"][-1] == 57.1
    bars = json_script(html, "measures-bars")
    assert bars["categories"] == ["新郑路社区", "陇一社区"]
    assert bars["series"][1]["data"] == [0.0, 66.7]
    assert "vendor/echarts/echarts.min" in html and "jiedao/charts" in html


def test_every_number_in_the_tables_drills_down(
    world: World, client_for: Callable[[str], Client], measured: dict[str, Case]
) -> None:
    html = client_for("leader").get(URL, {"month": "2025-03"}).content.decode()
    row = re.search(rf'<tr data-code="{world.community_a.code}">(.*?)</tr>', html, re.S)
    assert row
    cells = re.findall(r'<a href="([^"]*)" data-figure="(\w+)">([^<]*)</a>', row.group(1))
    assert len(cells) == 9
    for href, figure, text in cells:
        listed = figure_cases(unescape(href), world["leader"])
        if figure in {"dispatched", "on_time", "closed", "resolved", "rated", "good"}:
            assert len(listed) == int(text), (figure, listed, text)
    assert {f for _h, f, _t in cells} >= {
        "dispatched",
        "on_time",
        "response",
        "closed",
        "good",
        "satisfaction",
    }


def test_empty_month_shows_dashes(
    world: World, client_for: Callable[[str], Client], measured: dict[str, Case]
) -> None:
    response = client_for("leader").get(URL, {"month": "2020-01"})
    assert response.status_code == 200
    html = response.content.decode()
    assert text_of(html, "total-response") == "—"
    assert text_of(html, "total-dispatched") == "0"
    assert json_script(html, "measures-bars")["categories"] == []


def test_default_month_and_bad_month(world: World, client_for: Callable[[str], Client]) -> None:
    from jiedao.cases.measures import current_month

    client = client_for("leader")
    assert f'value="{current_month():%Y-%m}"' in client.get(URL).content.decode()
    response = client.get(URL, {"month": "2025-3x"})
    assert response.status_code == 200
    assert "无法识别" in response.content.decode() and "2025-3x" in response.content.decode()


def test_scope_comm_b_and_other_leader(
    world: World, client_for: Callable[[str], Client], measured: dict[str, Case]
) -> None:
    html = client_for("comm_b").get(URL, {"month": "2025-03"}).content.decode()
    assert text_of(html, "total-dispatched") == "1"
    assert text_of(html, "total-resolution") == "0.0%"
    assert world.community_a.code not in html.split('data-testid="community-table"')[1]
    html = client_for("other_leader").get(URL, {"month": "2025-03"}).content.decode()
    assert text_of(html, "total-dispatched") == "1"  # only their own case
    assert "陇一社区" not in html and "信访办" not in html


def test_unit_narrows_the_figures(
    world: World, client_for: Callable[[str], Client], measured: dict[str, Case]
) -> None:
    client = client_for("leader")
    html = client.get(URL, {"month": "2025-03", "unit": world.community_b.code}).content.decode()
    assert text_of(html, "total-dispatched") == "1"
    assert f"unit={world.community_b.code}" in href_of(html, "total-dispatched")
    assert figure_cases(href_of(html, "total-dispatched"), world["leader"]) == {"b1"}
    assert client.get(URL, {"unit": world.other_community.code}).status_code == 404
    assert client_for("comm_b").get(URL, {"unit": world.community_a.code}).status_code == 404


@pytest.mark.parametrize("username", ["grid_a", "grid_b", "volunteer"])
def test_grid_workers_and_volunteers_have_no_access(
    client_for: Callable[[str], Client], username: str
) -> None:
    assert client_for(username).get(URL).status_code == 403


def test_navigation_entry(client_for: Callable[[str], Client]) -> None:
    assert URL in client_for("comm_a").get(reverse("home")).content.decode()
    assert URL not in client_for("grid_a").get(reverse("home")).content.decode()


def test_query_count_does_not_grow_with_the_data(
    world: World, client_for: Callable[[str], Client], measured: dict[str, Case]
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for("leader")
    client.get(URL, {"month": "2025-03"})
    with CaptureQueriesContext(connection) as before:
        client.get(URL, {"month": "2025-03"})
    # more cases in more units and another department
    for i, case in enumerate(Case.objects.filter(extra__fixture__in=["a1", "a2", "b1"])):
        case.pk = None
        case.number = f"X{i:014d}"
        case.idempotency_key = None
        case.org_unit = world.grid_a2 if case.extra["fixture"] != "b1" else world.grid_b2
        case.lead_department = world.dept_party if case.extra["fixture"] == "a2" else None
        case.save()
    measures.refresh_month(test_measures_rates.MARCH)  # the page reads the rollup
    with CaptureQueriesContext(connection) as after:
        response = client.get(URL, {"month": "2025-03"})
    assert "党建办" in response.content.decode()
    assert len(after.captured_queries) == len(before.captured_queries)
