"""The pages: what each persona sees and may do, forms that keep what was typed on an error, the export with
the list's filters, the phone masked until revealed, query counts pinned for the list."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from jiedao.audit.models import AuditEvent
from jiedao.relocation.models import ExpropriationHousehold, Stage, Visit
from tests.relocation.helpers import PROJECT_NAME, Setup, file_documents
from tests.world import World

pytestmark = pytest.mark.django_db


def url(name: str, pk: int) -> str:
    return reverse(f"relocation:{name}", kwargs={"pk": pk})


@pytest.mark.parametrize("persona", ["leader", "comm_a", "grid_a", "auditor", "district"])
def test_people_in_scope_or_on_the_project_see_it(setup: Setup, client_for, persona: str) -> None:
    client: Client = client_for(persona)
    assert PROJECT_NAME in client.get(reverse("relocation:project_list")).content.decode()
    for name in ("project_detail", "household_list", "board"):
        assert client.get(url(name, setup.project.pk)).status_code == 200, name
    page = client.get(url("household_detail", setup.a1.pk)).content.decode()
    assert "王建国" in page and "138****5678" in page and "13812345678" not in page


@pytest.mark.parametrize("persona", ["comm_b", "grid_b", "other_leader"])
def test_out_of_scope_personas_see_nothing(setup: Setup, client_for, persona: str) -> None:
    client: Client = client_for(persona)
    assert PROJECT_NAME not in client.get(reverse("relocation:project_list")).content.decode()
    for name, pk in (
        ("project_detail", setup.project.pk),
        ("board", setup.project.pk),
        ("household_detail", setup.a1.pk),
    ):
        assert client.get(url(name, pk)).status_code == 404, name


def test_volunteer_has_no_entry(setup: Setup, client_for) -> None:
    client: Client = client_for("volunteer")
    assert client.get(reverse("relocation:project_list")).status_code == 403
    assert 'data-testid="nav-relocation"' not in client.get("/").content.decode()
    assert 'data-testid="nav-relocation"' in client_for("grid_a").get("/").content.decode()


def test_reader_sees_no_action_buttons(setup: Setup, client_for) -> None:
    file_documents(setup, setup.a1, Stage.VALUATION, setup.project.leader)
    auditor = client_for("auditor").get(url("household_detail", setup.a1.pk)).content.decode()
    for testid in ("advance-button", "visit-form", "upload-form", "reveal-phone", "back-form"):
        assert f'data-testid="{testid}"' not in auditor, testid
    worker = client_for("grid_a").get(url("household_detail", setup.a1.pk)).content.decode()
    for testid in ("advance-button", "visit-form", "upload-form", "reveal-phone"):
        assert f'data-testid="{testid}"' in worker, testid
    assert 'data-testid="back-form"' not in worker  # a member does not step back


def test_advance_through_the_page(setup: Setup, client_for) -> None:
    file_documents(setup, setup.a1, Stage.VALUATION, setup.project.leader)
    client: Client = client_for("grid_a")
    response = client.post(url("household_advance", setup.a1.pk), {"version": setup.a1.version, "on": ""})
    assert response.status_code == 302
    assert ExpropriationHousehold.objects.get(pk=setup.a1.pk).stage == Stage.VALUATION
    stale = client.post(url("household_advance", setup.a1.pk), {"version": setup.a1.version - 1, "on": ""})
    assert stale.status_code == 400 and "已被他人更新" in stale.content.decode()


def test_visit_form_error_keeps_what_was_typed(setup: Setup, client_for) -> None:
    client: Client = client_for("grid_a")
    response = client.post(
        url("household_visit", setup.a1.pk),
        {
            "visited_on": "2999-01-01",
            "attitude": "waiting",
            "talk": "说了很多很多话",
            "demands": "要求加面积",
        },
    )
    page = response.content.decode()
    assert response.status_code == 400 and "晚于今天" in page
    assert "说了很多很多话" in page and "要求加面积" in page
    assert not Visit.objects.exists()
    ok = client.post(
        url("household_visit", setup.a1.pk),
        {"visited_on": "2020-01-01", "attitude": "waiting", "talk": "说了很多很多话"},
    )
    assert ok.status_code == 400  # before the survey, by more than a year
    from jiedao.relocation.services import today

    done = client.post(
        url("household_visit", setup.a1.pk),
        {
            "visited_on": today().isoformat(),
            "attitude": "support",
            "talk": "同意了",
            "remind_on": today().isoformat(),
        },
    )
    assert done.status_code == 302 and Visit.objects.count() == 1


def test_reveal_phone_is_logged_and_for_the_workers_only(setup: Setup, client_for) -> None:
    response = client_for("grid_a").post(url("household_phone", setup.a1.pk))
    assert response.status_code == 200 and "13812345678" in response.content.decode()
    assert AuditEvent.objects.filter(kind="relocation.reveal", object_id=str(setup.a1.pk)).count() == 1
    assert client_for("auditor").post(url("household_phone", setup.a1.pk)).status_code == 403


def test_list_filters_and_export_use_the_same_filterset(setup: Setup, client_for) -> None:
    client: Client = client_for("leader")
    query = f"?team={setup.team1.pk}"
    page = client.get(url("household_list", setup.project.pk) + query).content.decode()
    assert "A-1" in page and "B-1" not in page
    response = client.get(url("household_export", setup.project.pk) + query)
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))  # type: ignore[attr-defined]
    rows = list(book.active.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][0] == "A-1" and rows[1][2] == "138****5678"
    assert AuditEvent.objects.filter(kind="relocation.export").exists()
    bad = client.get(url("household_list", setup.project.pk) + "?signed_from=notadate")
    assert bad.status_code == 200


def test_household_list_query_count_does_not_grow(
    world: World, setup: Setup, client_for, django_assert_max_num_queries
) -> None:
    from jiedao.relocation import services

    for n in range(30):
        services.create_household(
            world["leader"],
            setup.project,
            number=f"Q-{n}",
            owner_name="户主",
            team=setup.team1,
            staff=world["grid_a"],
        )
    client: Client = client_for("leader")
    client.get(url("household_list", setup.project.pk))
    with django_assert_max_num_queries(16):
        assert client.get(url("household_list", setup.project.pk)).status_code == 200


def test_manager_creates_project_team_and_household(world: World, client_for) -> None:
    client: Client = client_for("leader")
    response = client.post(
        reverse("relocation:project_create"),
        {
            "name": "新郑路棚改征收",
            "org_unit": world.community_b.pk,
            "leader": world["leader"].pk,
            "start_date": "2025-01-01",
            "target_signed": 5,
            "target_vacated": 5,
        },
    )
    assert response.status_code == 302
    from jiedao.relocation.models import ExpropriationProject

    project = ExpropriationProject.objects.get(name="新郑路棚改征收")
    assert project.document_kinds.count() == 7
    assert (
        client.post(
            url("team_create", project.pk),
            {"name": "甲组", "leader": world["comm_b"].pk, "members": [world["grid_b"].pk], "sort_order": 1},
        ).status_code
        == 302
    )
    team = project.teams.get()
    response = client.post(
        url("household_create", project.pk),
        {"number": "X-1", "owner_name": "赵六", "phone": "138", "team": team.pk, "staff": world["grid_b"].pk},
    )
    assert (
        response.status_code == 200
        and "格式不对" in response.content.decode()
        and "赵六" in response.content.decode()
    )
    response = client.post(
        url("household_create", project.pk),
        {
            "number": "X-1",
            "owner_name": "赵六",
            "phone": "13800002222",
            "team": team.pk,
            "staff": world["grid_b"].pk,
        },
    )
    assert response.status_code == 302
    assert client_for("grid_b").get(url("household_list", project.pk)).status_code == 200
