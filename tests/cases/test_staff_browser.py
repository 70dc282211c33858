"""The staff case pages in a real browser: a grid worker on a phone signs for a case through the inline
(htmx) form; a leader on a desktop sees the list and the case page with its map. No page is wider than the
screen."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from jiedao.cases.models import Case, Status
from jiedao.core.models import OrgUnit
from tests.browser import conftest as shared
from tests.browser.conftest import DESKTOP, MOBILE, Visit
from tests.world import World

# The browser fixtures live in tests/browser/conftest.py; this module uses them from tests/cases.
chromium_path = shared.chromium_path
browser = shared.browser
open_page = shared.open_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OpenPage = Callable[[dict[str, int]], Visit]


def fits(visit: Visit, where: str) -> None:
    width = visit.overflow_width()
    assert width <= visit.viewport["width"] + 1, f"{where} is {width}px wide at {visit.viewport_label}"


def test_grid_worker_signs_for_a_case_on_a_phone(open_page: OpenPage, make_case) -> None:
    case = make_case("dispatched", latitude=34.75, longitude=113.68, address="新郑里路口")
    visit = open_page(MOBILE)
    visit.login("grid_a")
    visit.goto("/cases/?box=mine", "my-cases")
    fits(visit, "the case list")
    assert visit.page.locator("[data-testid=case-row]").count() == 1
    visit.click_and_wait(f"a[href='/cases/{case.number}/']", "case")
    fits(visit, "the case page")
    visit.page.locator("[data-testid=action-sign]").click()
    visit.page.locator("[data-testid=action-form]").wait_for(state="visible")
    visit.shot("sign-form")
    fits(visit, "the case page with the form")
    with visit.page.expect_navigation(wait_until="load"):
        visit.page.locator("[data-testid=action-submit]").click()
    visit.shot("signed")
    assert visit.page.locator("[data-testid=case-status]").inner_text() == str(Status.HANDLING.label)
    assert Case.objects.get(pk=case.pk).status == Status.HANDLING
    assert visit.failed_requests == [], visit.failed_requests


def test_leader_sees_list_and_map_on_a_desktop(open_page: OpenPage, make_case, world: World) -> None:
    square = [[113.679, 34.749], [113.681, 34.749], [113.681, 34.751], [113.679, 34.751], [113.679, 34.749]]
    OrgUnit.objects.filter(pk=world.grid_a.pk).update(boundary={"type": "Polygon", "coordinates": [square]})
    case = make_case("handling", latitude=34.75, longitude=113.68, address="新郑里路口")
    visit = open_page(DESKTOP)
    visit.login("leader")
    visit.goto("/cases/", "cases")
    fits(visit, "the case list")
    visit.goto(f"/cases/{case.number}/", "case")
    visit.page.locator("#case-map[data-ready=true]").wait_for(state="attached")
    fits(visit, "the case page")
    visit.page.locator("[data-testid=reveal-phone]").click()
    visit.page.get_by_text("13812345678").wait_for(state="visible")
    visit.shot("revealed")
