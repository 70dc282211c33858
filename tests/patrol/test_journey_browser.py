"""The storm night in a real browser at a phone's width: a leader declares 暴雨红色预警 for 陇一社区, the grid
worker checks three points on a phone (one with a hazard and a photo), the leader's board updates by itself
(htmx polling), and the leader closes the event and reads the summary."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pytest
from PIL import Image
from playwright.sync_api import FilePayload

from jiedao.patrol.models import CheckStatus, EmergencyEvent, EventCheck, EventStatus, HazardKind, HazardPoint
from tests.browser import conftest as shared
from tests.browser.conftest import MOBILE, Visit
from tests.patrol.helpers import make_points
from tests.world import World

chromium_path = shared.chromium_path
browser = shared.browser
open_page = shared.open_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OpenPage = Callable[[dict[str, int]], Visit]


def fits(visit: Visit, where: str) -> None:
    width = visit.overflow_width()
    assert width <= visit.viewport["width"] + 1, f"{where} is {width}px wide at {visit.viewport_label}"


def png_file(name: str) -> FilePayload:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (40, 120, 200)).save(buffer, format="PNG")
    return {"name": name, "mimeType": "image/png", "buffer": buffer.getvalue()}


def test_storm_night_on_a_phone(open_page: OpenPage, tx_world: World) -> None:
    world = tx_world
    points = make_points(world)
    HazardPoint.objects.create(
        org_unit=world.grid_a,
        kind=HazardKind.objects.get(code="old-compound"),
        name="测试新郑里小区",
        address="新郑里",
    )

    # 1. The leader declares the event on a phone.
    leader = open_page(MOBILE)
    leader.login("leader")
    leader.goto("/patrol/events/new/", "declare-form")
    fits(leader, "the declaration form")
    page = leader.page
    page.fill("#id_kind", "暴雨红色预警")
    page.check(f"input[name=areas][value='{world.community_a.pk}']")
    leader.click_and_wait("[data-testid=event-submit]", "declared")
    event = EmergencyEvent.objects.get()
    assert event.checks.count() == 4  # 3 in grid_a, 1 in grid_a2
    assert page.locator("[data-testid=board-checked]").inner_text().strip() == "0 / 4"
    fits(leader, "the board")

    # 2. The grid worker checks the three points of their grid on a phone, one with a hazard and a photo.
    worker = open_page(MOBILE)
    worker.login("grid_a")
    worker.goto(f"/patrol/events/{event.pk}/mine/", "mine")
    fits(worker, "the worker's list")
    assert worker.page.locator("[data-testid=pending-check]").count() == 3
    for n in range(3):
        link = worker.page.locator("[data-testid=pending-check]").first
        hazard = "新郑里危树" in link.inner_text()
        worker.click_and_wait("[data-testid=pending-check] >> nth=0", f"check-{n}")
        fits(worker, "the check form")
        if hazard:
            worker.page.click("[data-testid=status-hazard]")
            worker.page.fill("#id_note", "树干开裂，向人行道倾斜")
            worker.page.set_input_files("#id_photo", files=[png_file("tree.png")])
        else:
            worker.page.click("[data-testid=status-ok]")
        worker.click_and_wait("[data-testid=check-submit]", f"checked-{n}")
        assert not worker.page.locator(".alert-danger").count(), worker.page.content()[:2000]
    if EventCheck.objects.filter(event=event, point=points.a2).get().status != CheckStatus.HAZARD:
        pytest.fail("the dangerous tree was not recorded as a hazard")
    assert worker.page.locator("[data-testid=pending-check]").count() == 0
    finding = EventCheck.objects.get(event=event, point=points.a2)
    assert finding.case is not None and finding.photo and finding.case.attachments.count() == 1

    # 3. The leader's board shows it without a reload (htmx polls every few seconds).
    leader.page.wait_for_function(
        "document.querySelector('[data-testid=board-hazards]').textContent.trim() === '1'", timeout=15000
    )
    assert leader.page.locator("[data-testid=board-checked]").inner_text().strip() == "3 / 4"
    assert finding.case.number in leader.page.locator("[data-testid=board-findings]").inner_text()
    leader.shot("board-updated")

    # 4. The leader closes the event and reads the summary.
    leader.page.fill("#id_summary_note", "平稳度汛，一处危树已报工单整改。")
    leader.click_and_wait("[data-testid=event-close]", "summary")
    assert EmergencyEvent.objects.get().status == EventStatus.CLOSED
    assert leader.page.locator("[data-testid=fig-checked]").inner_text().strip() == "3 / 4"
    assert leader.page.locator("[data-testid=fig-hazards]").inner_text().strip() == "1"
    assert re.search(r"GC\d{13}", leader.page.locator("[data-testid=summary-timeline]").inner_text())
    fits(leader, "the summary")
