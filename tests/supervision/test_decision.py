"""A meeting decision becomes a supervised matter in one step, once: the page prefilled from the decision, the
service, and a second try showing the existing matter."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from jiedao.projects import services as project_services
from jiedao.projects.models import Decision
from jiedao.supervision import services
from jiedao.supervision.models import Source, SupervisedMatter
from tests.world import World

pytestmark = pytest.mark.django_db


def decision(world: World) -> Decision:
    meeting = project_services.create_meeting(
        world["leader"],
        {"title": "货站街城市综合体推进例会", "date": timezone.localdate(), "org_unit": world.subdistrict},
    )
    return project_services.save_decision(
        world["leader"],
        meeting,
        {
            "content": "信访办牵头，两周内完成周边居民诉求梳理并形成化解方案。",
            "owner_unit": world.dept_xinfang,
            "due_date": timezone.localdate() + timedelta(days=14),
        },
    )


def test_open_from_decision_uses_the_decision_and_happens_once(world: World) -> None:
    item = decision(world)
    matter = services.open_from_decision(world["leader"], item)
    assert matter.source == Source.MEETING and matter.decision == item
    assert matter.lead_department == world.dept_xinfang and matter.status == "assigned"
    assert matter.content == item.content
    local = timezone.localtime(matter.deadline)
    assert (local.date(), local.hour) == (
        timezone.localdate() + timedelta(days=15),
        0,
    )  # 24:00 of the due day
    assert services.open_from_decision(world["leader"], item) == matter
    assert SupervisedMatter.objects.filter(decision=item).count() == 1


def test_the_page_is_prefilled_and_a_second_visit_shows_the_matter(
    world: World, client_for: Callable[[str], Client]
) -> None:
    item = decision(world)
    client = client_for("leader")
    url = reverse("supervision:matter_from_decision", kwargs={"pk": item.pk})
    page = client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert "周边居民诉求梳理" in body and 'data-testid="decision-source"' in body
    form = page.context["form"]
    data: dict[str, Any] = {
        "title": form.initial["title"],
        "content": form.initial["content"],
        "source_note": form.initial["source_note"],
        "lead_department": form.initial["lead_department"],
        "deadline": form.initial["deadline"].isoformat(),
        "assign": "on",
    }
    answer = client.post(url, data)
    matter = SupervisedMatter.objects.get(decision=item)
    assert answer.status_code == 302 and answer["Location"] == reverse(
        "supervision:matter_detail", args=[matter.number]
    )
    again = client.post(url, data)
    assert again.status_code == 302 and again["Location"].endswith(f"/{matter.number}/")
    assert SupervisedMatter.objects.filter(decision=item).count() == 1


def test_a_reader_without_supervision_cannot_turn_a_decision_into_a_matter(
    world: World, client_for: Callable[[str], Client]
) -> None:
    item = decision(world)
    assert (
        client_for("dept_xinfang")
        .get(reverse("supervision:matter_from_decision", kwargs={"pk": item.pk}))
        .status_code
        == 403
    )


def test_a_case_can_be_the_source(world: World, client_for: Callable[[str], Client]) -> None:
    from jiedao.cases import services as case_services
    from jiedao.cases.catalog import ensure_default_catalog

    catalog = ensure_default_catalog()
    case = case_services.create_case(
        world["comm_a"],
        channel="grid",
        category=catalog["city-stall"],
        org_unit=world.grid_a,
        description="占道经营反复出现",
    )
    client = client_for("leader")
    data = {
        "title": "占道经营反复投诉督办",
        "content": "集中整治新郑里路口占道经营",
        "source": "case",
        "case_number": case.number.lower(),
        "lead_unit": world.community_a.pk,
        "deadline": (date.today() + timedelta(days=10)).isoformat(),
        "assign": "on",
    }
    answer = client.post(reverse("supervision:matter_create"), data)
    assert answer.status_code == 302, answer.content.decode()[:3000]
    matter = SupervisedMatter.objects.get(case=case)
    assert matter.source == "case" and case.supervised_matters.get() == matter
    # a wrong number keeps everything typed and says why
    data["case_number"] = "GC000"
    page = client.post(reverse("supervision:matter_create"), data)
    assert page.status_code == 200 and "找不到编号为 GC000 的工单" in page.content.decode()
    assert "占道经营反复投诉督办" in page.content.decode()
