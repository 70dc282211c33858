"""The pages as the personas see them: scope, forms that keep what was typed, the meeting decision's button
to supervision, the export (scoped, with the portfolio's figures)."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from jiedao.projects.models import KeyProject, Milestone
from jiedao.supervision import services as supervision_services
from tests.projects import helpers
from tests.world import World


def test_project_page_shows_everything(world: World, client_for: Any) -> None:
    project = helpers.full_project(world)
    html = client_for("leader").get(reverse("projects:project_detail", args=[project.pk])).content.decode()
    for text in (project.name, "开工", "管线迁改未完成", "方案.pdf", "investment-chart", "project-history"):
        assert text in html
    assert 'data-testid="milestone-late"' in html  # planned three days ago, no actual date
    assert reverse("audit:record_history", args=["projects", "keyproject", project.pk]) in html


def test_scope_of_the_pages(world: World, client_for: Any) -> None:
    project = helpers.project(world)
    street = helpers.project(world, name="街道级项目", org_unit=world.subdistrict)
    detail = reverse("projects:project_detail", args=[project.pk])
    assert client_for("comm_a").get(detail).status_code == 200
    assert client_for("comm_b").get(detail).status_code == 404
    assert client_for("other_leader").get(detail).status_code == 404
    assert client_for("grid_a").get(detail).status_code in (403, 404)
    listing = client_for("comm_a").get(reverse("projects:project_list")).content.decode()
    assert project.name in listing and street.name not in listing
    assert client_for("volunteer").get(reverse("projects:project_list")).status_code == 403
    # community staff read, but may not edit
    assert client_for("comm_a").get(reverse("projects:project_edit", args=[project.pk])).status_code == 403


def test_my_projects(world: World, client_for: Any) -> None:
    mine = helpers.project(world)
    other = helpers.project(world, name="别人分包的项目", leader=None)
    html = client_for("leader").get(reverse("projects:my_projects")).content.decode()
    assert mine.name in html and other.name not in html


def test_filters_flag_stalled(world: World, client_for: Any) -> None:
    moving = helpers.project(world)
    stalled = helpers.project(world, name="停工项目")
    past = timezone.now() - timedelta(days=90)
    KeyProject.objects.filter(pk=stalled.pk).update(last_progress_at=past, stalled_after=past)
    html = client_for("leader").get(reverse("projects:project_list") + "?flag=stalled").content.decode()
    assert stalled.name in html and moving.name not in html and 'data-testid="flag-stalled"' in html


def test_create_form_keeps_input_on_error(world: World, client_for: Any) -> None:
    client = client_for("leader")
    data = {
        "name": "新项目乙",
        "kind": "public",
        "stage": "preparation",
        "org_unit": world.community_a.pk,
        "leader": world["leader"].pk,
        "total_investment": "500",
        "longitude": "113.7",
        "owner_company": "乙公司",
    }
    response = client.post(reverse("projects:project_create"), data)
    html = response.content.decode()
    assert response.status_code == 200 and "经度和纬度" in html and "乙公司" in html
    data["latitude"] = "34.73"
    response = client.post(reverse("projects:project_create"), data)
    project = KeyProject.objects.get(name="新项目乙")
    assert response.status_code == 302 and response["Location"] == reverse(
        "projects:project_detail", args=[project.pk]
    )
    client.post(reverse("projects:project_create"), data)  # sent twice
    assert KeyProject.objects.filter(name="新项目乙").count() == 1


def test_milestone_and_investment_forms(world: World, client_for: Any) -> None:
    project = helpers.project(world)
    client = client_for("dept_xinfang")
    url = reverse("projects:milestone_create", args=[project.pk])
    response = client.post(url, {"name": "开工", "planned_date": "2025-01-10", "actual_date": "2099-01-01"})
    assert response.status_code == 200 and "不能晚于今天" in response.content.decode()
    assert client.post(url, {"name": "开工", "planned_date": "2025-01-10"}).status_code == 302
    assert Milestone.objects.filter(project=project).count() == 1
    month = timezone.localdate().strftime("%Y-%m")
    response = client.post(
        reverse("projects:investment_edit", args=[project.pk]),
        {"month": month, "planned": "10", "completed": "4"},
    )
    assert response.status_code == 302
    assert project.investments.get().completed == 4


def test_meeting_decision_becomes_a_matter(world: World, client_for: Any) -> None:
    meeting = helpers.meeting(world)
    decision = meeting.decisions.get()
    url = reverse("projects:meeting_detail", args=[meeting.pk])
    html = client_for("leader").get(url).content.decode()
    assert reverse("supervision:matter_from_decision", args=[decision.pk]) in html
    assert 'data-testid="decision-supervise"' in html
    assert 'data-testid="decision-supervise"' not in client_for("dept_xinfang").get(url).content.decode()
    matter = supervision_services.open_from_decision(world["leader"], decision)
    html = client_for("leader").get(url).content.decode()
    assert reverse("supervision:matter_detail", args=[matter.number]) in html
    assert 'data-testid="decision-supervise"' not in html
    # A decision carried on by a matter is fixed.
    response = client_for("leader").post(
        reverse("projects:decision_delete", args=[meeting.pk, decision.pk]), follow=True
    )
    assert "已转为督办事项" in response.content.decode()
    assert meeting.decisions.count() == 1


def test_export_is_scoped_and_has_the_figures(world: World, client_for: Any) -> None:
    project = helpers.full_project(world)
    street = helpers.project(world, name="街道级项目", org_unit=world.subdistrict)
    response = client_for("comm_a").get(reverse("projects:project_export"))
    assert response.status_code == 200
    rows = list(
        load_workbook(
            io.BytesIO(b"".join(response.streaming_content if response.streaming else [response.content])),
            read_only=True,
        )
        .worksheets[0]
        .iter_rows(values_only=True)
    )
    names = [r[0] for r in rows[1:]]
    assert project.name in names and street.name not in names
    header = list(rows[0])
    row = rows[1 + names.index(project.name)]
    assert row[header.index("累计完成 (万元)")] == 80
    assert client_for("grid_a").get(reverse("projects:project_export")).status_code == 403
