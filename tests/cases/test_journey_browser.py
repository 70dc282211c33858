"""The whole closed loop in a real browser: a resident submits on a phone → the community accepts and
dispatches to the grid with a department as co-handler → the grid worker signs for it and reports back with a
photo on a phone, the department adds its note → the community verifies and closes it → the resident tracks it
by number and the last four phone digits, reads the reply and rates it."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pytest
from PIL import Image
from playwright.sync_api import FilePayload, Page

from jiedao.cases.catalog import ensure_default_catalog
from jiedao.cases.models import Case, Status
from tests.browser import conftest as shared
from tests.browser.conftest import DESKTOP, MOBILE, Visit
from tests.world import World

chromium_path = shared.chromium_path
browser = shared.browser
open_page = shared.open_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OpenPage = Callable[[dict[str, int]], Visit]
PHONE = "13912348765"


def fits(visit: Visit, where: str) -> None:
    width = visit.overflow_width()
    assert width <= visit.viewport["width"] + 1, f"{where} is {width}px wide at {visit.viewport_label}"


def act(
    visit: Visit,
    name: str,
    *,
    selects: dict[str, str] | None = None,
    fills: dict[str, str] | None = None,
    files: dict[str, FilePayload] | None = None,
) -> None:
    """Open a step's form from the case page, fill it, submit it and wait for the case page again."""
    visit.page.locator(f"[data-testid=action-{name}]").first.click()
    visit.page.locator("[data-testid=action-form]").wait_for(state="visible")
    field = "[data-testid=action-form] [name={}]".format
    for key, value in (selects or {}).items():
        visit.page.select_option(field(key), value)
    for key, text in (fills or {}).items():
        visit.page.fill(field(key), text)
    for key, payload in (files or {}).items():
        visit.page.set_input_files(field(key), files=[payload])
    visit.shot(f"{name}-form")
    with visit.page.expect_navigation(wait_until="load"):
        visit.page.locator("[data-testid=action-submit]").click()
    visit.shot(f"after-{name}")
    assert not visit.page.locator(".invalid-feedback.d-block, .alert-danger").count(), visit.page.content()[
        :2000
    ]


def settled(page: Page, selector: str) -> None:
    """Wait until `selector` is in the page and htmx has finished swapping and settling it."""
    page.locator(selector).wait_for(state="attached")
    page.wait_for_function("!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")


def png_file(name: str) -> FilePayload:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(buffer, format="PNG")
    return {"name": name, "mimeType": "image/png", "buffer": buffer.getvalue()}


def test_resident_to_rating_closed_loop(open_page: OpenPage, tx_world: World) -> None:
    world = tx_world
    ensure_default_catalog()

    # 1. A resident reports street vending on a phone, without an account.
    resident = open_page(MOBILE)
    resident.goto("/portal/submit/", "portal-submit")
    fits(resident, "the submit form")
    page = resident.page
    page.fill("#id_name", "李女士")
    page.fill("#id_phone", PHONE)
    page.select_option("#id_category", "city-stall")
    page.fill("#id_description", "新郑里路口早上有三轮车占道卖菜，行人只能走机动车道，很危险。")
    # Each place level arrives by htmx: pick the next one once htmx has swapped it in and wired it up.
    page.select_option("#id_subdistrict", world.subdistrict.code)
    settled(page, f"#id_community option[value='{world.community_a.code}']")
    page.select_option("#id_community", world.community_a.code)
    settled(page, f"#id_grid option[value='{world.grid_a.code}']")
    page.select_option("#id_grid", world.grid_a.code)
    page.fill("#id_address", "新郑里路口")
    page.set_input_files("#id_photos", files=[png_file("street.png")])
    resident.click_and_wait("#portal-submit button[type=submit]", "submitted")
    number = page.locator("#case-number").inner_text().strip()
    assert re.fullmatch(r"GC\d{13}", number), number
    case = Case.objects.get(number=number)
    assert case.status == Status.REGISTERED and case.org_unit == world.grid_a
    assert case.attachments.count() == 1

    # 2. The community accepts it and dispatches it to the grid, with 信访办 as co-handler.
    community = open_page(DESKTOP)
    community.login("comm_a")
    community.goto(f"/cases/{number}/", "community-case")
    act(community, "accept")
    act(
        community,
        "dispatch",
        selects={"lead_unit": str(world.grid_a.pk), "co_departments": str(world.dept_xinfang.pk)},
    )
    assert Case.objects.get(pk=case.pk).status == Status.DISPATCHED

    # 3. The grid worker signs for it and reports back with a photo, on a phone.
    worker = open_page(MOBILE)
    worker.login("grid_a")
    worker.goto("/cases/?box=mine", "worker-list")
    fits(worker, "the worker's list")
    worker.click_and_wait(f"a[href='/cases/{number}/']", "worker-case")
    act(worker, "sign")
    act(
        worker,
        "report",
        fills={"note": "已劝离三轮车，路口恢复通行，已告知城管加强巡查。"},
        files={"photos": png_file("after.png")},
    )
    fits(worker, "the case page after the report")
    assert Case.objects.get(pk=case.pk).status == Status.REPORTED

    # 4. The co-handling department adds its note.
    department = open_page(DESKTOP)
    department.login("dept_xinfang")
    department.goto(f"/cases/{number}/", "department-case")
    act(department, "comment", fills={"note": "信访办已电话回访诉求人，情况属实。"})

    # 5. The community verifies (not the handler) and closes it with an honest outcome and a reply.
    community.goto(f"/cases/{number}/", "community-verify")
    act(community, "verify")
    act(
        community,
        "close",
        selects={"outcome": "resolved"},
        fills={"reply": "经网格员现场处置，占道车辆已劝离，路口已恢复通行。"},
    )
    assert Case.objects.get(pk=case.pk).status == Status.CLOSED

    # 6. The resident tracks it by number and the last four digits, reads the reply and rates it.
    resident.goto("/portal/track/", "track")
    page.fill("#id_number", number)
    page.fill("#id_last4", PHONE[-4:])
    resident.click_and_wait("form button[type=submit]", "tracked")
    fits(resident, "the tracking page")
    body = page.locator("body").inner_text()
    assert "路口已恢复通行" in body
    for private in ("李女士", PHONE, "赵强", "张书记", "grid_a", "comm_a"):
        assert private not in body, f"the public page shows {private!r}"
    page.locator("input[name=rating][value=satisfied]").check()
    resident.click_and_wait("form[action$='/rate/'] button[type=submit]", "rated")
    rated = Case.objects.get(pk=case.pk)
    assert rated.status == Status.RATED and rated.rating == "satisfied"
    assert [s.action for s in rated.steps.order_by("created_at", "id")] == [
        "create",
        "accept",
        "dispatch",
        "sign",
        "report",
        "comment",
        "verify",
        "close",
        "rate",
    ]
    for visit in (resident, community, worker, department):
        assert visit.failed_requests == [], visit.failed_requests
