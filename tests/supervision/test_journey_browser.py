"""A meeting decision becomes a supervised matter in a real browser and goes round the loop: the leader turns
the decision into a matter from the meeting page → 信访办 (the lead department) accepts it and reports
progress
with a photo on a phone, then reports it done → the leader sends it back with a reason → it is reported again
→ approved, completed and rated."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image
from playwright.sync_api import FilePayload

from jiedao.projects import services as project_services
from jiedao.supervision.models import Status, SupervisedMatter
from tests.browser import conftest as shared
from tests.browser.conftest import DESKTOP, MOBILE, Visit
from tests.world import World

chromium_path = shared.chromium_path
browser = shared.browser
open_page = shared.open_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OpenPage = Callable[[dict[str, int]], Visit]


def fits(visit: Visit, where: str) -> None:
    width = visit.overflow_width()
    assert width <= visit.viewport["width"] + 1, f"{where} is {width}px wide at {visit.viewport_label}"


def act(
    visit: Visit,
    name: str,
    *,
    fills: dict[str, str] | None = None,
    checks: list[str] | None = None,
    files: dict[str, FilePayload] | None = None,
) -> None:
    """Open a step's form from the matter page, fill it, submit it and wait for the matter page again."""
    visit.page.locator(f"[data-testid=action-{name}]").first.click()
    visit.page.locator("[data-testid=action-form]").wait_for(state="visible")
    field = "[data-testid=action-form] [name={}]".format
    for key, text in (fills or {}).items():
        visit.page.fill(field(key), text)
    for selector in checks or []:
        visit.page.locator(f"[data-testid=action-form] {selector}").check()
    for key, payload in (files or {}).items():
        visit.page.set_input_files(field(key), files=[payload])
    visit.shot(f"{name}-form")
    with visit.page.expect_navigation(wait_until="load"):
        visit.page.locator("[data-testid=step-save]").click()
    visit.shot(f"after-{name}")
    assert not visit.page.locator(".invalid-feedback.d-block, .alert-danger").count(), visit.page.content()[
        :2000
    ]


def png_file(name: str) -> FilePayload:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (40, 120, 200)).save(buffer, format="PNG")
    return {"name": name, "mimeType": "image/png", "buffer": buffer.getvalue()}


def status_of(number: str) -> str:
    return SupervisedMatter.objects.get(number=number).status


def test_decision_to_rated_matter(open_page: OpenPage, tx_world: World) -> None:
    world = tx_world
    meeting = project_services.create_meeting(
        world["leader"],
        {"title": "货站街城市综合体推进例会", "date": timezone.localdate(), "org_unit": world.subdistrict},
    )
    decision = project_services.save_decision(
        world["leader"],
        meeting,
        {
            "content": "信访办牵头，两周内完成项目周边居民诉求梳理，形成化解方案。",
            "owner_unit": world.dept_xinfang,
            "due_date": timezone.localdate() + timedelta(days=14),
        },
    )

    # 1. The leader turns the decision into a matter from the meeting page; the form comes prefilled.
    leader = open_page(DESKTOP)
    leader.login("leader")
    leader.goto(f"/projects/meetings/{meeting.pk}/", "meeting")
    button = leader.page.locator("[data-testid=decision-supervise]")
    if button.count():
        leader.click_and_wait("[data-testid=decision-supervise]", "from-decision")
    else:  # the meeting page without the button: the same form by its address
        leader.goto(f"/supervision/from-decision/{decision.pk}/", "from-decision")
    assert "周边居民诉求梳理" in leader.page.locator("#id_content").input_value()
    leader.page.select_option("#id_leader", str(world["leader"].pk))
    leader.click_and_wait("[data-testid=matter-save]", "matter-opened")
    matter = SupervisedMatter.objects.get(decision=decision)
    number = matter.number
    assert matter.status == Status.ASSIGNED and matter.lead_department == world.dept_xinfang
    assert number in leader.page.locator("[data-testid=matter-header]").inner_text()

    # 2. 信访办 accepts it and reports progress with a photo, on a phone; then reports it done.
    unit = open_page(MOBILE)
    unit.login("dept_xinfang")
    unit.goto("/supervision/?box=unit", "unit-list")
    fits(unit, "the unit's list")
    unit.click_and_wait(f"a[href='/supervision/{number}/']", "unit-matter")
    act(unit, "undertake", fills={"note": "由李娜负责，本周内完成入户。"})
    act(
        unit,
        "report",
        fills={"text": "已走访周边三个小区，收集诉求27条。", "percent": "50"},
        files={"photos": png_file("visit.png")},
    )
    fits(unit, "the matter page after a report")
    assert SupervisedMatter.objects.get(number=number).progress == 50
    act(unit, "submit", fills={"text": "诉求已全部梳理，化解方案已报党工委。"})
    assert status_of(number) == Status.REVIEWING

    # 3. The leader sends it back with a reason.
    leader.goto(f"/supervision/{number}/", "leader-review")
    act(leader, "send_back", fills={"reason": "化解方案缺少责任人和时间表，请补充。"})
    assert status_of(number) == Status.IN_PROGRESS

    # 4. 信访办 reports it again.
    unit.goto(f"/supervision/{number}/", "unit-returned")
    assert "缺少责任人和时间表" in unit.page.locator("[data-testid=matter-timeline]").inner_text()
    act(unit, "submit", fills={"text": "已补充每条诉求的责任人和完成时间。"})

    # 5. The leader approves, completes and rates it.
    leader.goto(f"/supervision/{number}/", "leader-approve")
    act(leader, "approve", fills={"note": "同意。"})
    act(leader, "complete", fills={"summary": "诉求梳理和化解方案按期完成。"})
    act(leader, "rate", checks=["input[name=rating][value=good]"], fills={"score": "88"})
    done = SupervisedMatter.objects.get(number=number)
    assert (
        done.status == Status.RATED and done.rating == "good" and done.score == 88 and done.return_count == 1
    )
    assert [s.action for s in done.steps.order_by("created_at", "id")] == [
        "open",
        "assign",
        "undertake",
        "report",
        "submit",
        "send_back",
        "submit",
        "approve",
        "complete",
        "rate",
    ]
    assert done.attachments.count() == 1

    # The meeting page now links the matter.
    leader.goto(f"/projects/meetings/{meeting.pk}/", "meeting-after")
    assert leader.page.locator("[data-testid=decision-matter]").count() == 1
    for visit in (leader, unit):
        assert visit.failed_requests == [], visit.failed_requests
