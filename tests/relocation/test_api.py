"""The API: scoped lists with the page's filters, the board, stage steps with versions, the visit log."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from jiedao.relocation.models import Stage, Visit, VisitReminder
from jiedao.relocation.services import today
from tests.relocation.helpers import Setup, file_documents
from tests.world import World

pytestmark = pytest.mark.django_db
API = "/api/v1/"


def api(world: World, name: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(world[name])
    return client


def test_lists_are_scoped(world: World, setup: Setup) -> None:
    for name, count in (("leader", 2), ("grid_a", 2), ("auditor", 2), ("other_leader", 0), ("comm_b", 0)):
        data = api(world, name).get(f"{API}relocation-households/").json()
        assert data["count"] == count, name
    data = api(world, "leader").get(f"{API}relocation-households/", {"team": setup.team1.pk}).json()
    assert [h["number"] for h in data["results"]] == ["A-1"]
    assert data["results"][0]["phone"] == "138****5678"
    assert api(world, "volunteer").get(f"{API}relocation-projects/").status_code == 403


def test_board_endpoint(world: World, setup: Setup) -> None:
    data = api(world, "leader").get(f"{API}relocation-projects/{setup.project.pk}/board/").json()
    assert data["total"]["households"] == 2 and len(data["teams"]) == 2
    assert (
        api(world, "other_leader").get(f"{API}relocation-projects/{setup.project.pk}/board/").status_code
        == 404
    )


def test_advance_and_back_with_versions(world: World, setup: Setup) -> None:
    client = api(world, "grid_a")
    path = f"{API}relocation-households/{setup.a1.pk}/advance/"
    refused = client.post(path, {"version": setup.a1.version}, format="json")
    assert refused.status_code == 400 and "产权证明" in str(refused.json())
    file_documents(setup, setup.a1, Stage.VALUATION, world["grid_a"])
    done = client.post(path, {"version": setup.a1.version}, format="json")
    assert done.status_code == 200 and done.json()["stage"] == Stage.VALUATION
    stale = api(world, "comm_a").post(path, {"version": setup.a1.version}, format="json")
    assert stale.status_code == 409
    back_path = f"{API}relocation-households/{setup.a1.pk}/back/"
    body = {"version": done.json()["version"], "to_stage": "survey", "reason": "重新摸底"}
    assert client.post(back_path, body, format="json").status_code == 403
    assert api(world, "comm_a").post(back_path, body, format="json").json()["stage"] == "survey"


def test_visit_log_through_the_api(world: World, setup: Setup) -> None:
    body = {
        "household": setup.a1.pk,
        "visited_on": today().isoformat(),
        "talk": "电话沟通",
        "attitude": "waiting",
        "remind_on": today().isoformat(),
    }
    created = api(world, "grid_a").post(f"{API}relocation-visits/", body, format="json")
    assert created.status_code == 201, created.json()
    assert Visit.objects.count() == 1 and VisitReminder.objects.count() == 1
    assert api(world, "auditor").post(f"{API}relocation-visits/", body, format="json").status_code == 403
    # Out of scope: answered like a household that does not exist.
    assert api(world, "other_leader").post(f"{API}relocation-visits/", body, format="json").status_code == 404
    outsider = api(world, "dept_xinfang").post(f"{API}relocation-visits/", body, format="json")
    assert outsider.status_code == 403  # on the project, not on this household's team
    listed = api(world, "auditor").get(f"{API}relocation-visits/", {"household": setup.a1.pk}).json()
    assert listed["count"] == 1 and listed["results"][0]["visitor"] == "grid_a"
    assert api(world, "other_leader").get(f"{API}relocation-visits/").json()["count"] == 0
