"""The projects API: scope, nested children with running totals, progress through the services."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone

from tests.projects import helpers
from tests.world import World


def test_list_is_scoped_and_carries_the_figures(world: World, client_for: Any) -> None:
    project = helpers.full_project(world)
    body = client_for("leader").get("/api/v1/key-projects/", HTTP_ACCEPT="application/json").json()
    row = next(r for r in body["results"] if r["id"] == project.pk)
    assert Decimal(row["completed_to_date"]) == Decimal("80") and row["open_problems"] == 1 and row["is_late"]
    other = client_for("other_leader").get("/api/v1/key-projects/").json()
    assert all(r["id"] != project.pk for r in other["results"])
    assert client_for("comm_b").get(f"/api/v1/key-projects/{project.pk}/").status_code == 404
    assert client_for("grid_a").get("/api/v1/key-projects/").status_code == 403


def test_detail_has_children_and_filters_work(world: World, client_for: Any) -> None:
    project = helpers.full_project(world)
    body = client_for("comm_a").get(f"/api/v1/key-projects/{project.pk}/").json()
    assert body["milestones"][0]["late"] is True
    assert Decimal(body["investments"][0]["completed_total"]) == Decimal("80")
    assert body["problems"][0]["owner"] == "dept_xinfang"
    flagged = client_for("leader").get("/api/v1/key-projects/?flag=late").json()
    assert [r["id"] for r in flagged["results"]] == [project.pk]
    assert client_for("leader").get("/api/v1/key-projects/?flag=stalled").json()["results"] == []


def test_report_progress(world: World, client_for: Any) -> None:
    project = helpers.project(world)
    month = timezone.localdate().replace(day=1).isoformat()
    response = client_for("leader").post(
        f"/api/v1/key-projects/{project.pk}/investments/",
        {"month": month, "planned": "20", "completed": "5"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert project.investments.get().completed == 5
    refused = client_for("comm_a").post(
        f"/api/v1/key-projects/{project.pk}/investments/",
        {"month": month, "planned": "1", "completed": "1"},
        content_type="application/json",
    )
    assert refused.status_code == 403
    note = client_for("comm_a").post(
        f"/api/v1/key-projects/{project.pk}/notes/", {"text": "现场已复工"}, content_type="application/json"
    )
    assert note.status_code == 201
    bad = client_for("leader").post(
        f"/api/v1/key-projects/{project.pk}/notes/", {"text": " "}, content_type="application/json"
    )
    assert bad.status_code == 400


def test_meetings_api(world: World, client_for: Any) -> None:
    meeting = helpers.meeting(world)
    body = client_for("leader").get(f"/api/v1/meetings/{meeting.pk}/").json()
    assert (
        body["decisions"][0]["content"] == "一周内完成管线迁改方案" and body["decisions"][0]["matter"] is None
    )
    assert body["present"] == ["leader"]
    assert client_for("other_leader").get(f"/api/v1/meetings/{meeting.pk}/").status_code == 404
