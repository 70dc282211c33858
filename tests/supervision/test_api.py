"""The API of supervised matters: scope, the same filters as the list, steps through the services with 409 on
a
changed matter, 403 for the wrong person, and opening a matter (also from a meeting decision, once)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from jiedao.supervision.models import SupervisedMatter
from tests.supervision.conftest import MakeMatter
from tests.world import World

pytestmark = pytest.mark.django_db
BASE = "/api/v1/supervised-matters/"


def api(world: World, username: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(world[username])
    return client


def numbers(answer: object) -> set[str]:
    data = answer.json()  # type: ignore[attr-defined]
    return {m["number"] for m in (data["results"] if isinstance(data, dict) else data)}


def test_list_is_scoped_and_filtered(make_matter: MakeMatter, world: World) -> None:
    mine = make_matter("in_progress")
    other = make_matter("in_progress", lead_unit=None, lead_department=world.dept_xinfang, helper_units=[])
    assert numbers(api(world, "leader").get(BASE)) == {mine.number, other.number}
    assert numbers(api(world, "comm_a").get(BASE)) == {mine.number}
    assert numbers(api(world, "grid_b").get(BASE)) == set()
    assert numbers(api(world, "leader").get(BASE, {"lead_department": "xinfang"})) == {other.number}
    assert api(world, "grid_b").get(f"{BASE}{mine.number}/").status_code == 404
    assert api(world, "volunteer").get(BASE).status_code == 403
    detail = api(world, "comm_a").get(f"{BASE}{mine.number}/").json()
    assert detail["light"] in ("green", "blue", "yellow", "red") and detail["helpers"] == ["新郑路社区"]
    allowed = {a["name"] for a in api(world, "comm_a").get(f"{BASE}{mine.number}/actions/").json()}
    assert {"report", "submit", "request_extension"} <= allowed and "approve" not in allowed


def test_steps_answer_409_on_a_changed_matter_and_403_to_the_wrong_person(
    make_matter: MakeMatter, world: World
) -> None:
    matter = make_matter("in_progress")
    url = f"{BASE}{matter.number}/actions/report/"
    ok = api(world, "comm_a").post(
        url, {"version": matter.version, "text": "进展顺利", "percent": 50}, format="json"
    )
    assert ok.status_code == 200 and ok.json()["progress"] == 50
    stale = api(world, "comm_b").post(
        url, {"version": matter.version, "text": "协办进展", "percent": 60}, format="json"
    )
    assert stale.status_code == 409 and "已被他人修改" in stale.json()["detail"]
    denied = api(world, "leader").post(
        url, {"version": matter.version + 1, "text": "x", "percent": 60}, format="json"
    )
    assert denied.status_code == 403
    bad = api(world, "comm_a").post(
        url, {"version": matter.version + 1, "text": "x", "percent": 160}, format="json"
    )
    assert bad.status_code == 400
    steps = api(world, "comm_a").get(f"{BASE}{matter.number}/steps/").json()
    assert [s["action"] for s in steps][-1] == "report"


def test_create_by_hand_and_from_a_decision(world: World) -> None:
    from jiedao.projects.models import Decision, Meeting

    body = {
        "title": "上级交办：燃气安全排查",
        "content": "完成辖区老旧小区燃气安全入户排查",
        "source": "upper",
        "lead_unit": world.community_a.code,
        "helper_departments": ["xinfang"],
        "deadline": (timezone.now() + timedelta(days=20)).isoformat(),
        "leader": "leader",
    }
    made = api(world, "leader").post(BASE, body, format="json")
    assert made.status_code == 201, made.json()
    assert made.json()["status"] == "assigned" and made.json()["helpers"] == ["信访办"]
    assert api(world, "comm_a").post(BASE, body, format="json").status_code == 403
    wrong = api(world, "leader").post(BASE, {**body, "lead_unit": world.other_community.code}, format="json")
    assert wrong.status_code == 400
    meeting = Meeting.objects.create(org_unit=world.subdistrict, title="例会", date=timezone.localdate())
    decision = Decision.objects.create(
        meeting=meeting,
        content="城建办牵头完成围挡整治",
        owner_unit=world.dept_xinfang,
        due_date=timezone.localdate() + timedelta(days=9),
    )
    first = api(world, "leader").post(BASE, {"source": "meeting", "decision": decision.pk}, format="json")
    second = api(world, "leader").post(BASE, {"source": "meeting", "decision": decision.pk}, format="json")
    assert first.status_code == second.status_code == 201
    assert first.json()["number"] == second.json()["number"]
    assert SupervisedMatter.objects.filter(decision=decision).count() == 1
