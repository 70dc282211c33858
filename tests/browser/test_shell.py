"""The application shell in a real browser: login, navigation on phone and desktop, language switch, layout.

The data-testid names used here are the contract with the templates: login fields id_username/id_password,
[data-testid=home], [data-testid=nav-toggle], [data-testid=nav-org], [data-testid=org-tree],
[data-testid=lang-en] and [data-testid=lang-zh].
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.browser.conftest import DESKTOP, MOBILE, Visit
from tests.world import World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OpenPage = Callable[[dict[str, int]], Visit]


def assert_home(visit: Visit) -> None:
    title = visit.page.title()
    has_marker = visit.page.locator("[data-testid=home]").count() > 0
    assert "我的待办" in title or has_marker, f"not the home page: {visit.page.url} titled {title!r}"


def assert_no_horizontal_overflow(visit: Visit, where: str) -> None:
    width = visit.overflow_width()
    assert width <= visit.viewport["width"] + 1, f"{where} is {width}px wide at {visit.viewport_label}"


def click_even_if_hidden(visit: Visit, selector: str, step: str) -> None:
    """Click a control that may sit in a collapsed menu; open the mobile menu first when there is one."""
    target = visit.page.locator(selector).first
    if not target.is_visible():
        toggle = visit.page.locator("[data-testid=nav-toggle]")
        if toggle.count() and toggle.first.is_visible():
            toggle.first.click()
            target.wait_for(state="visible", timeout=3_000)
    with visit.page.expect_navigation(wait_until="load"):
        if target.is_visible():
            target.click()
        else:
            target.evaluate("element => element.click()")
    visit.shot(step)


def test_live_server_serves_vendor_assets(open_page: OpenPage) -> None:
    """Chromium launches and the live server serves the vendored front-end files (make assets)."""
    visit = open_page(DESKTOP)
    for path in (
        "/static/vendor/htmx/htmx.min.js",
        "/static/vendor/tabler/css/tabler.min.css",
        "/static/vendor/tabler/js/tabler.min.js",
        "/static/vendor/tabler-icons/tabler-icons.min.css",
        "/static/vendor/leaflet/leaflet.js",
        "/static/vendor/echarts/echarts.min.js",
    ):
        response = visit.page.request.get(visit.url(path))
        assert response.status == 200, f"{path}: HTTP {response.status} (run `make assets`)"


def test_login_page_loads(open_page: OpenPage, tx_world: World) -> None:
    visit = open_page(MOBILE)
    response = visit.goto("/accounts/login/", "login")
    assert response.status == 200
    assert visit.page.locator("input#id_username").count() == 1
    assert visit.page.locator("input#id_password").count() == 1
    assert visit.failed_requests == [], f"missing files on the login page: {visit.failed_requests}"


def test_grid_worker_logs_in_on_a_phone_and_opens_the_org_tree(open_page: OpenPage, tx_world: World) -> None:
    visit = open_page(MOBILE)
    visit.login("grid_a")
    assert_home(visit)

    visit.open_menu()
    visit.shot("nav-open")
    visit.click_and_wait("[data-testid=nav-org]", "org-tree")

    tree = visit.page.locator("[data-testid=org-tree]")
    assert tree.count() == 1, f"no org tree at {visit.page.url}"
    assert tx_world.grid_a.name in tree.inner_text()
    assert tx_world.other_grid.name not in visit.page.content(), "a grid worker sees another sub-district"
    assert visit.failed_requests == [], visit.failed_requests


def test_leader_opens_a_unit_from_the_org_tree_on_a_desktop(open_page: OpenPage, tx_world: World) -> None:
    visit = open_page(DESKTOP)
    visit.login("leader")
    assert_home(visit)

    visit.click_and_wait("[data-testid=nav-org]", "org-tree")
    community = tx_world.community_a.name
    visit.click_and_wait(f"[data-testid=org-tree] a:text-is('{community}')", "unit")

    assert community in visit.page.locator("h1, h2, .page-title").first.inner_text() or (
        community in visit.page.title()
    ), f"the unit page at {visit.page.url} does not name {community}"
    assert visit.failed_requests == [], visit.failed_requests


@pytest.mark.parametrize("viewport", [MOBILE, DESKTOP], ids=["phone", "desktop"])
def test_language_switch_to_english_and_back(
    open_page: OpenPage, tx_world: World, viewport: dict[str, int]
) -> None:
    visit = open_page(viewport)
    visit.login("comm_a")
    assert "我的待办" in visit.page.content()

    click_even_if_hidden(visit, "[data-testid=lang-en]", "english")
    assert "My work" in visit.page.content(), "the English page does not say 'My work'"
    assert "我的待办" not in visit.page.content()

    click_even_if_hidden(visit, "[data-testid=lang-zh]", "chinese")
    assert "我的待办" in visit.page.content()
    assert "My work" not in visit.page.content()


def test_no_horizontal_overflow_on_a_phone(open_page: OpenPage, tx_world: World) -> None:
    visit = open_page(MOBILE)
    visit.goto("/accounts/login/", "login")
    assert_no_horizontal_overflow(visit, "the login page")

    visit.login("grid_a")
    assert_no_horizontal_overflow(visit, "the home page")

    visit.open_menu()
    assert_no_horizontal_overflow(visit, "the home page with the menu open")
    visit.click_and_wait("[data-testid=nav-org]", "org-tree")
    assert_no_horizontal_overflow(visit, "the org tree")

    visit.click_and_wait(f"[data-testid=org-tree] a:text-is('{tx_world.grid_a.name}')", "unit")
    assert_no_horizontal_overflow(visit, "the unit page")
