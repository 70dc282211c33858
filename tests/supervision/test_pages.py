"""The pages: the list with its tabs and lights (one FilterSet with the export), the matter page with its
buttons, a step through its form (a stale version keeps what was typed), the edit form, 我的待办, and an
out-of-scope persona on each."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from jiedao.core import worklist
from jiedao.supervision import services
from jiedao.supervision.models import SupervisedMatter
from tests.supervision.conftest import MakeMatter
from tests.world import World

pytestmark = pytest.mark.django_db
ClientFor = Callable[[str], Client]


def test_list_tabs_lights_and_scope(make_matter: MakeMatter, world: World, client_for: ClientFor) -> None:
    mine = make_matter("in_progress")
    theirs = make_matter("in_progress", lead_unit=None, lead_department=world.dept_xinfang, helper_units=[])
    page = client_for("comm_a").get(reverse("supervision:matter_list"), {"box": "unit"})
    body = page.content.decode()
    assert mine.number in body and theirs.number not in body
    assert 'data-light="' in body
    leader = (
        client_for("leader").get(reverse("supervision:matter_list"), {"box": "supervise"}).content.decode()
    )
    assert mine.number in leader and theirs.number in leader
    outsider = client_for("grid_a").get(reverse("supervision:matter_list")).content.decode()
    assert mine.number not in outsider and theirs.number not in outsider
    filtered = client_for("leader").get(reverse("supervision:matter_list"), {"lead_department": "xinfang"})
    assert [m.number for m in filtered.context["page"].object_list] == [theirs.number]


def test_list_query_count_does_not_grow_with_rows(
    make_matter: MakeMatter, client_for: ClientFor, django_assert_max_num_queries: Any
) -> None:
    for _ in range(6):
        make_matter("in_progress")
    client = client_for("leader")
    client.get(reverse("supervision:matter_list"))
    with django_assert_max_num_queries(14):
        client.get(reverse("supervision:matter_list"))


def test_export_uses_the_same_filters(make_matter: MakeMatter, world: World, client_for: ClientFor) -> None:
    late = make_matter("in_progress", title="逾期的事项")
    SupervisedMatter.objects.filter(pk=late.pk).update(deadline=late.created_at - timedelta(days=1))
    make_matter("in_progress", title="正常的事项")
    answer = client_for("leader").get(reverse("supervision:matter_export"), {"overdue": "true"})
    book = load_workbook(io.BytesIO(b"".join(answer.streaming_content)))  # type: ignore[attr-defined]
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][0] == "编号" and [r[1] for r in rows[1:]] == ["逾期的事项"]


def test_detail_shows_the_steps_the_person_may_take(make_matter: MakeMatter, client_for: ClientFor) -> None:
    matter = make_matter("in_progress")
    url = reverse("supervision:matter_detail", args=[matter.number])
    lead = client_for("comm_a").get(url).content.decode()
    assert 'data-testid="action-report"' in lead and 'data-testid="action-submit"' in lead
    assert 'data-testid="action-remind"' not in lead and 'data-testid="matter-edit"' not in lead
    leader = client_for("leader").get(url).content.decode()
    assert 'data-testid="action-remind"' in leader and 'data-testid="action-report"' not in leader
    assert 'data-testid="matter-edit"' in leader
    assert client_for("grid_b").get(url).status_code == 404


def test_step_form_posts_and_a_stale_version_keeps_the_text(
    make_matter: MakeMatter, world: World, client_for: ClientFor
) -> None:
    matter = make_matter("in_progress")
    url = reverse("supervision:matter_action", args=[matter.number, "report"])
    client = client_for("comm_a")
    assert client.get(url).status_code == 200
    answer = client.post(url, {"version": matter.version, "text": "已完成入户征询", "percent": "45"})
    assert answer.status_code == 302
    matter.refresh_from_db()
    assert matter.progress == 45
    services.remind(world["leader"], matter, version=matter.version, note="请加快")
    page = client.post(url, {"version": matter.version, "text": "这段文字不能丢", "percent": "60"})
    body = page.content.decode()
    assert page.status_code == 200 and 'data-testid="conflict"' in body and "这段文字不能丢" in body
    bad = client.post(url, {"version": matter.version + 1, "text": "", "percent": "150"})
    assert bad.status_code == 200 and bad.context["form"].errors
    # a step the person may not take now: refused with a reason on the matter page
    refused = client.get(reverse("supervision:matter_action", args=[matter.number, "approve"]))
    assert refused.status_code == 302


def test_edit_form_changes_and_records_the_change(
    make_matter: MakeMatter, world: World, client_for: ClientFor
) -> None:
    matter = make_matter("in_progress")
    url = reverse("supervision:matter_edit", args=[matter.number])
    client = client_for("leader")
    form = client.get(url).context["form"]
    data = {
        "title": "改过的名称",
        "content": form.initial["content"],
        "source_note": "",
        "lead_unit": world.community_a.pk,
        "helper_units": [world.community_b.pk],
        "deadline": form.initial["deadline"].isoformat(),
        "leader": world["leader"].pk,
        "version": matter.version,
    }
    assert client.post(url, data).status_code == 302
    matter.refresh_from_db()
    assert matter.title == "改过的名称"
    step = matter.steps.get(action="edit")
    assert step.data["changed"]["title"] == ["陇海东路第一社区老旧小区加装电梯", "改过的名称"]
    detail = client.get(reverse("supervision:matter_detail", args=[matter.number])).content.decode()
    assert "事项名称：陇海东路第一社区老旧小区加装电梯 → 改过的名称" in detail
    assert client_for("comm_a").get(url).status_code == 403


def test_worklist_lists_what_waits_for_each_person(make_matter: MakeMatter, world: World) -> None:
    assigned = make_matter("assigned")
    reviewing = make_matter("reviewing")
    lead_items = {i.title.split()[0] for i in worklist.items_for(world["comm_a"]) if str(i.module) == "督办"}
    assert assigned.number in lead_items and reviewing.number not in lead_items
    leader_items = {
        i.title.split()[0] for i in worklist.items_for(world["leader"]) if str(i.module) == "督办"
    }
    assert reviewing.number in leader_items and assigned.number not in leader_items
    assert not [i for i in worklist.items_for(world["grid_b"]) if str(i.module) == "督办"]


def test_navigation_entry(client_for: ClientFor) -> None:
    assert "督查督办" in client_for("comm_a").get("/").content.decode()
    assert "督查督办" not in client_for("volunteer").get("/").content.decode()
