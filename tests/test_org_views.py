from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from jiedao.core.models import OrgUnit
from tests.world import World

pytestmark = pytest.mark.django_db

ClientFor = Callable[[str], Client]


def test_tree_shows_own_subtree(world: World, client_for: ClientFor) -> None:
    page = client_for("comm_a").get(reverse("core:org_tree")).content.decode()
    assert world.community_a.name in page and world.grid_a2.name in page
    assert world.community_b.name not in page and world.subdistrict.name not in page


def test_tree_search_highlights(world: World, client_for: ClientFor) -> None:
    response = client_for("leader").get(reverse("core:org_tree"), {"q": "新郑路"})
    assert response.status_code == 200
    assert response.context["matches"] == {world.community_b.path, world.grid_b.path, world.grid_b2.path}


def test_unit_page_shows_staff_children_map(world: World, client_for: ClientFor) -> None:
    world.community_a.boundary = {
        "type": "Polygon",
        "coordinates": [[[113.7, 34.7], [113.71, 34.7], [113.71, 34.71], [113.7, 34.7]]],
    }
    world.community_a.save()
    response = client_for("leader").get(reverse("core:org_unit", args=[world.community_a.code]))
    page = response.content.decode()
    assert response.status_code == 200
    assert world.grid_a.name in page and "陇一社区 张书记" in page
    assert 'id="unit-geojson"' in page and "113.71" in page
    assert "马书记" in page  # the leader's contact community


def test_subdistrict_page_lists_departments(world: World, client_for: ClientFor) -> None:
    page = (
        client_for("dept_xinfang")
        .get(reverse("core:org_unit", args=[world.subdistrict.code]))
        .content.decode()
    )
    assert "信访办" in page and "党建办" in page


def test_edit_form_saves_and_records(world: World, client_for: ClientFor) -> None:
    url = reverse("core:org_unit_edit", args=[world.community_a.code])
    client = client_for("leader")
    form = client.get(url).context["form"]
    data = {k: ("" if v is None else v) for k, v in form.initial.items() if k != "boundary"}
    data.update(population="7200", is_active="on", boundary="")
    response = client.post(url, data)
    assert response.status_code == 302
    world.community_a.refresh_from_db()
    assert world.community_a.population == 7200 and world.community_a.version == 2


def test_stale_edit_shows_conflict_and_keeps_other_change(world: World, client_for: ClientFor) -> None:
    url = reverse("core:org_unit_edit", args=[world.community_a.code])
    base = {
        "name": world.community_a.name,
        "short_name": "",
        "code": world.community_a.code,
        "sort_order": "0",
        "is_active": "on",
        "boundary": "",
        "version": "1",
    }
    assert client_for("leader").post(url, {**base, "population": "1"}).status_code == 302
    response = client_for("admin").post(url, {**base, "population": "2"})
    assert response.status_code == 200
    assert "已被他人修改" in response.content.decode()
    world.community_a.refresh_from_db()
    assert world.community_a.population == 1


def test_bad_boundary_gets_clear_message(world: World, client_for: ClientFor) -> None:
    url = reverse("core:org_unit_edit", args=[world.community_a.code])
    data = {
        "name": "x",
        "code": world.community_a.code,
        "sort_order": "0",
        "version": "1",
        "boundary": '{"type": "Polygon", "coordinates": [[[113.7, 34.7], [113.71, 34.7], [113.71, 34.71]]]}',
    }
    response = client_for("leader").post(url, data)
    assert response.status_code == 200
    assert "至少需要 4 个点" in response.content.decode()
    data["boundary"] = "{not json"
    assert "不是有效的 JSON" in client_for("leader").post(url, data).content.decode()


def test_duplicate_code_refused(world: World, client_for: ClientFor) -> None:
    url = reverse("core:org_unit_add", args=[world.community_a.code])
    response = client_for("admin").post(
        url, {"kind": "grid", "name": "新网格", "code": world.grid_a.code, "sort_order": "0"}
    )
    assert response.status_code == 200
    assert "已被其他单元使用" in response.content.decode()


def test_admin_adds_and_moves_a_grid(world: World, client_for: ClientFor) -> None:
    client = client_for("admin")
    response = client.post(
        reverse("core:org_unit_add", args=[world.community_a.code]),
        {
            "kind": "grid",
            "name": "陇一社区第3网格",
            "code": "410104004001003",
            "sort_order": "3",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    grid = OrgUnit.objects.get(code="410104004001003")
    response = client.post(
        reverse("core:org_unit_move", args=[grid.code]), {"new_parent": world.community_b.pk}
    )
    assert response.status_code == 302
    grid.refresh_from_db()
    assert OrgUnit.objects.get_parent(grid) == world.community_b


def test_add_under_grid_is_explained(world: World, client_for: ClientFor) -> None:
    response = client_for("admin").get(reverse("core:org_unit_add", args=[world.grid_a.code]), follow=True)
    assert "网格下不能再设立下级单元" in response.content.decode()


def test_home_lists_scope_and_empty_worklist(world: World, client_for: ClientFor) -> None:
    page = client_for("grid_a").get(reverse("home")).content.decode()
    assert world.grid_a.name in page and 'data-testid="worklist-empty"' in page
    assert 'data-testid="nav-org"' in page and 'data-testid="nav-audit"' not in page


def test_navigation_follows_role(world: World, client_for: ClientFor) -> None:
    page = client_for("auditor").get(reverse("home")).content.decode()
    assert 'data-testid="nav-audit"' in page


def test_english_switch(world: World, client_for: ClientFor) -> None:
    client = client_for("leader")
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"}, follow=True)
    assert response.status_code == 200
    assert "My work" in response.content.decode()


def test_error_pages_are_friendly(world: World, client_for: ClientFor) -> None:
    response = client_for("grid_b").get(reverse("core:org_unit", args=[world.grid_a.code]))
    assert response.status_code == 404 and "页面不存在" in response.content.decode()
    response = client_for("comm_a").get(reverse("core:org_unit_edit", args=[world.community_a.code]))
    assert response.status_code == 403 and "无权访问" in response.content.decode()


def test_admin_site_edits_through_the_service(world: World, client_for: ClientFor) -> None:
    from jiedao.audit.models import AuditEvent

    client = client_for("admin")
    url = f"/admin/core/orgunit/{world.community_a.pk}/change/"
    assert client.get(url).status_code == 200
    assert client.get("/admin/core/orgunit/add/").status_code == 403
    data = {
        "name": world.community_a.name,
        "short_name": "陇一",
        "code": world.community_a.code,
        "population": "7300",
        "households": "",
        "area_km2": "",
        "sort_order": "0",
        "is_active": "on",
        "boundary": "null",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[-2000:]
    world.community_a.refresh_from_db()
    assert world.community_a.population == 7300 and world.community_a.version == 2
    assert AuditEvent.objects.filter(kind="org.change", object_id=str(world.community_a.pk)).exists()
