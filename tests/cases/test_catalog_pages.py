"""The catalogue pages: category tree, dispatch table (versioned) and deadline policies; reading for staff,
changes for administrators only, through catalog_services with audit events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from jiedao.audit.models import AuditEvent
from jiedao.cases import catalog_services, routing, services
from jiedao.cases.models import Case, Category, CategoryField, DeadlinePolicy, DispatchRule
from tests.world import World

pytestmark = pytest.mark.django_db


def test_leader_reads_the_catalogue_without_edit_buttons(
    world: World, client_for: Callable[[str], Client], catalog: dict[str, Category]
) -> None:
    catalog_services.add_rule(
        world["admin"], category=catalog["city-stall"], area=world.community_a, target_unit=world.grid_a
    )
    client = client_for("leader")
    page = client.get("/cases/catalog/categories/").content.decode()
    assert "占道经营" in page and "经营品类" in page and "积水深度（厘米）" in page
    assert 'data-testid="policies-infra-water"' in page
    assert 'data-testid="category-add"' not in page and "/edit/" not in page
    page = client.get("/cases/catalog/dispatch/").content.decode()
    assert "陇一社区第1网格" in page and 'data-testid="rule-add"' not in page
    page = client.get("/cases/catalog/deadlines/").content.decode()
    assert 'data-testid="policy-table"' in page and 'data-testid="policy-add"' not in page
    # Another sub-district's leader reads the categories but not this sub-district's dispatch rules.
    page = client_for("other_leader").get("/cases/catalog/dispatch/").content.decode()
    assert "陇一社区第1网格" not in page
    assert client_for("volunteer").get("/cases/catalog/categories/").status_code == 403


def test_admin_sees_edit_pages(world: World, client_for: Callable[[str], Client], catalog: Any) -> None:
    client = client_for("admin")
    page = client.get("/cases/catalog/categories/").content.decode()
    assert 'data-testid="category-add"' in page and "/cases/catalog/categories/city-stall/edit/" in page
    field = CategoryField.objects.get(category__code="city-stall", code="goods")
    for url in (
        "/cases/catalog/categories/add/",
        "/cases/catalog/categories/city-stall/edit/",
        "/cases/catalog/categories/city-stall/fields/add/",
        f"/cases/catalog/fields/{field.pk}/edit/",
        "/cases/catalog/deadlines/add/",
        f"/cases/catalog/deadlines/{DeadlinePolicy.objects.first().pk}/edit/",  # type: ignore[union-attr]
        "/cases/catalog/dispatch/add/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
    assert "fruit=果蔬" in client.get(f"/cases/catalog/fields/{field.pk}/edit/").content.decode()


def test_non_admins_cannot_change_the_catalogue(
    world: World, client_for: Callable[[str], Client], catalog: Any
) -> None:
    rule = catalog_services.add_rule(
        world["admin"], category=catalog["city-stall"], area=world.community_a, target_unit=world.grid_a
    )
    for username in ("leader", "comm_a"):
        client = client_for(username)
        assert (
            client.post("/cases/catalog/categories/add/", {"code": "x", "name": "新类别"}).status_code == 403
        )
        assert (
            client.post("/cases/catalog/categories/city/edit/", {"code": "city", "name": "改"}).status_code
            == 403
        )
        assert client.post("/cases/catalog/categories/city/fields/add/", {"code": "f"}).status_code == 403
        assert client.post("/cases/catalog/deadlines/add/", {"amount": 1}).status_code == 403
        assert client.post("/cases/catalog/dispatch/add/", {}).status_code == 403
        assert client.post(f"/cases/catalog/dispatch/{rule.pk}/edit/", {}).status_code == 404
        assert client.post(f"/cases/catalog/dispatch/{rule.pk}/retire/").status_code == 404
    assert not Category.objects.filter(code="x").exists()
    assert Category.objects.get(code="city").name == "城市管理"
    rule.refresh_from_db()
    assert rule.valid_to is None and DispatchRule.objects.count() == 1


def test_admin_adds_and_edits_categories_and_fields(
    world: World, client_for: Callable[[str], Client], catalog: Any
) -> None:
    client = client_for("admin")
    city = catalog["city"]
    response = client.post(
        "/cases/catalog/categories/add/",
        {"code": "city-noise", "name": "施工噪音", "parent": city.pk, "is_public": "on", "sort_order": 5},
    )
    assert response.status_code == 302
    noise = Category.objects.get(code="city-noise")
    assert noise.parent == city and noise.is_public and not noise.is_hazard
    assert AuditEvent.objects.filter(kind="case.catalog", data__what="category").exists()
    response = client.post(
        "/cases/catalog/categories/city-noise/fields/add/",
        {
            "code": "hours",
            "label": "施工时段",
            "datatype": "singlevaluelist",
            "choices_lines": "night=夜间\nday=白天",
        },
    )
    assert response.status_code == 302
    field = noise.fields.get(code="hours")
    assert field.choices == [{"key": "night", "name": "夜间"}, {"key": "day", "name": "白天"}]
    # Extra fields are asked for at intake.
    assert services.validate_extra(noise, {"hours": "night"}) == {"hours": "night"}
    # Bad choice lines: a message naming the line, and what was typed stays in the form.
    response = client.post(
        f"/cases/catalog/fields/{field.pk}/edit/",
        {
            "code": "hours",
            "label": "施工时段X",
            "datatype": "singlevaluelist",
            "choices_lines": "night=夜间\n白天",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200 and "第 2 行" in page and "施工时段X" in page
    field.refresh_from_db()
    assert field.label == "施工时段"
    # A duplicate code is refused on the field.
    response = client.post(
        "/cases/catalog/categories/add/", {"code": "city", "name": "重复", "sort_order": 0}
    )
    assert response.status_code == 200 and "已被其他类别使用" in response.content.decode()
    # A category cannot sit under its own child.
    response = client.post(
        "/cases/catalog/categories/city/edit/",
        {"code": "city", "name": "城市管理", "parent": noise.pk, "sort_order": 0},
    )
    assert response.status_code == 200 and "上级类别不能是它自己或它的下级" in response.content.decode()
    assert Category.objects.get(code="city").parent is None


def test_admin_edits_policies_with_validation(
    world: World, client_for: Callable[[str], Client], catalog: Any
) -> None:
    client = client_for("admin")
    data = {"category": catalog["city-stall"].pk, "priority": "", "amount": 5, "unit": "days"}
    data |= {"response_hours": 6, "remind_before_hours": 12}
    assert client.post("/cases/catalog/deadlines/add/", data).status_code == 302
    policy = DeadlinePolicy.objects.get(category=catalog["city-stall"])
    assert (policy.amount, policy.unit) == (5, "days")
    response = client.post("/cases/catalog/deadlines/add/", data)
    assert response.status_code == 200 and "已经存在" in response.content.decode()
    # The default row (no category) too: NULL escapes the database constraint, the service catches it.
    response = client.post("/cases/catalog/deadlines/add/", {**data, "category": "", "priority": "normal"})
    assert response.status_code == 200 and "已有办理时限" in response.content.decode()
    assert DeadlinePolicy.objects.filter(category__isnull=True, priority="normal").count() == 1
    response = client.post(f"/cases/catalog/deadlines/{policy.pk}/edit/", {**data, "amount": 0})
    assert response.status_code == 200 and "时限须大于 0" in response.content.decode()
    assert (
        client.post(f"/cases/catalog/deadlines/{policy.pk}/edit/", {**data, "amount": 2}).status_code == 302
    )
    policy.refresh_from_db()
    assert policy.amount == 2


def test_dispatch_rule_versioning_drives_routing(
    world: World, client_for: Callable[[str], Client], make_case: Any, catalog: Any
) -> None:
    client = client_for("admin")
    response = client.post(
        "/cases/catalog/dispatch/add/",
        {
            "category": catalog["city"].pk,
            "area": world.community_a.pk,
            "target_unit": world.subdistrict.pk,
            "note": "初版",
        },
    )
    assert response.status_code == 302
    first = DispatchRule.objects.get()
    case = make_case("accepted")
    assert routing.route(case).rule == first and routing.route(case).unit == world.subdistrict
    dispatched = services.dispatch(world["comm_a"], case, version=case.version)
    assert dispatched.dispatch_rule == first

    response = client.post(
        f"/cases/catalog/dispatch/{first.pk}/edit/",
        {"target_department": world.dept_xinfang.pk, "note": "改派"},
    )
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.valid_to is not None
    second = DispatchRule.objects.get(valid_to__isnull=True)
    assert (second.version, second.target_department, second.target_unit) == (2, world.dept_xinfang, None)
    assert second.category == first.category and second.org_unit == first.org_unit
    other = make_case("accepted", description="另一处占道经营的摊贩")
    assert routing.route(other).rule == second and routing.route(other).department == world.dept_xinfang
    assert Case.objects.get(pk=case.pk).dispatch_rule == first  # the old case keeps its rule
    assert AuditEvent.objects.filter(kind="case.catalog", data__what="rule_change").exists()
    page = client_for("leader").get("/cases/catalog/dispatch/").content.decode()
    assert f'data-testid="old-rule-{first.pk}"' in page and f'data-testid="rule-{second.pk}"' in page
    # A superseded row cannot be changed again.
    assert (
        client.post(f"/cases/catalog/dispatch/{first.pk}/edit/", {"target_unit": world.grid_a.pk}).status_code
        == 404
    )

    assert client.post(f"/cases/catalog/dispatch/{second.pk}/retire/").status_code == 302
    assert not DispatchRule.objects.filter(valid_to__isnull=True).exists()
    assert routing.route(other).rule is None and routing.route(other).unit == world.community_a


def test_dispatch_rule_validation(world: World, client_for: Callable[[str], Client], catalog: Any) -> None:
    client = client_for("admin")
    base = {"category": catalog["city-stall"].pk, "area": world.community_a.pk}
    response = client.post("/cases/catalog/dispatch/add/", base)
    assert "选择且只选择一个" in response.content.decode()
    response = client.post(
        "/cases/catalog/dispatch/add/",
        {**base, "target_unit": world.grid_a.pk, "target_department": world.dept_xinfang.pk},
    )
    assert "选择且只选择一个" in response.content.decode()
    response = client.post("/cases/catalog/dispatch/add/", {**base, "target_unit": world.other_grid.pk})
    page = response.content.decode()
    assert response.status_code == 200 and "承办单位须在" in page and "陇海马路街道办事处" in page
    assert not DispatchRule.objects.exists()
    assert (
        client.post("/cases/catalog/dispatch/add/", {**base, "target_unit": world.grid_a.pk}).status_code
        == 302
    )
    response = client.post("/cases/catalog/dispatch/add/", {**base, "target_unit": world.grid_a2.pk})
    assert "已有现行规则" in response.content.decode()
    assert DispatchRule.objects.count() == 1
