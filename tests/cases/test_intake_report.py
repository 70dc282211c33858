"""The grid worker's phone report: only into their own grids, channel 网格员上报."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from jiedao.cases.models import Case, Category, Channel
from tests.world import World

pytestmark = pytest.mark.django_db

TEXT = "小区门口井盖缺失，晚上很危险，已设置临时围挡"


def test_report_page_preselects_the_only_grid_and_uses_the_camera(
    world: World, catalog: dict[str, Category], client_for: Callable[[str], Client]
) -> None:
    html = client_for("grid_a").get("/cases/report/").content.decode()
    assert f'<option value="{world.grid_a.code}" selected>' in html
    assert world.grid_b.code not in html
    assert 'accept="image/*" capture="environment" multiple' in html
    assert "data-locate" in html


def test_grid_worker_reports_in_own_grid(
    world: World, catalog: dict[str, Category], client_for: Callable[[str], Client]
) -> None:
    response = client_for("grid_a").post(
        "/cases/report/",
        {
            "grid": world.grid_a.code,
            "category": "infra-cover",
            "description": TEXT,
            "address": "陇海东路 8 号",
            "longitude": "113.68",
            "latitude": "34.74",
            "priority": "normal",
            "idempotency_key": "r-1",
        },
    )
    case = Case.objects.get(description=TEXT)
    assert response.status_code == 302 and response["Location"] == f"/cases/report/?done={case.number}"
    assert case.channel == Channel.GRID and case.org_unit == world.grid_a
    assert (case.longitude, case.latitude) == (113.68, 34.74)
    done = client_for("grid_a").get(response["Location"]).content.decode()
    assert case.number in done and 'data-testid="report-done"' in done


def test_grid_worker_cannot_report_into_another_grid(
    world: World, catalog: dict[str, Category], client_for: Callable[[str], Client]
) -> None:
    response = client_for("grid_a").post(
        "/cases/report/",
        {
            "grid": world.grid_b.code,
            "category": "infra-cover",
            "description": TEXT,
            "priority": "normal",
            "idempotency_key": "r-2",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "只能上报您自己负责的网格内的问题。" in html
    assert TEXT in html
    assert not Case.objects.filter(description=TEXT).exists()


def test_staff_without_a_grid_are_pointed_to_intake(
    world: World, catalog: dict[str, Category], client_for: Callable[[str], Client]
) -> None:
    html = client_for("comm_a").get("/cases/report/").content.decode()
    assert 'data-testid="no-grid"' in html and 'data-testid="report-form"' not in html
    response = client_for("comm_a").post(
        "/cases/report/",
        {"grid": world.grid_a.code, "category": "infra-cover", "description": TEXT, "idempotency_key": "x"},
    )
    assert response.status_code == 200
    assert not Case.objects.filter(description=TEXT).exists()
