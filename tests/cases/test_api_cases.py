"""The cases REST API: scope, filters shared with the list page, masked phones, the workflow steps and their
refusals (403 role, 400 state, 409 stale version, 404 out of scope)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.test.client import RequestFactory

from jiedao.cases import api, services
from jiedao.cases.filters import CaseFilterSet
from jiedao.cases.models import Case, Status
from jiedao.core.models import Department
from tests.world import World

pytestmark = pytest.mark.django_db

Make = Callable[..., Case]


def _post(client: Client, url: str, data: dict[str, Any]) -> Any:
    return client.post(url, data, content_type="application/json")


def _step(client: Client, case: Case, name: str, **data: Any) -> Any:
    case.refresh_from_db()
    return _post(client, f"/api/v1/cases/{case.number}/actions/{name}/", {"version": case.version, **data})


def test_cases_are_scoped_in_every_endpoint(
    world: World, client_for: Callable[[str], Client], make_case: Make
) -> None:
    case = make_case("handling")
    assert case.number in {c["number"] for c in client_for("grid_a").get("/api/v1/cases/").json()["results"]}
    assert client_for("leader").get(f"/api/v1/cases/{case.number}/").json()["status"] == "handling"
    for outsider in ("grid_b", "other_leader"):
        client = client_for(outsider)
        assert client.get("/api/v1/cases/").json()["count"] == 0, outsider
        for suffix in ("", "steps/", "actions/"):
            response = client.get(f"/api/v1/cases/{case.number}/{suffix}")
            assert response.status_code == 404, (outsider, suffix, response.status_code)
        response = _step(client, case, "comment", note="看不到也要能写？")
        assert response.status_code == 404, outsider
        response = _step(client, case, "report", note="不该成功")
        assert response.status_code == 404, outsider
    case.refresh_from_db()
    assert case.status == Status.HANDLING and not case.steps.filter(action="comment").exists()


def test_api_filters_equal_the_list_filters(
    world: World, client_for: Callable[[str], Client], make_case: Make, catalog: Any
) -> None:
    make_case("handling")
    make_case(
        "registered", category=catalog["env-garbage"], priority="urgent", description="垃圾堆积三天未清运"
    )
    make_case("closed", org_unit=world.community_a, description="路灯不亮已经一周了")
    services.create_case(
        world["leader"],
        channel="grid",
        category=catalog["city-stall"],
        org_unit=world.grid_b,
        description="新郑路小区门口占道经营",
    )
    assert api.CaseViewSet.filterset_class is CaseFilterSet
    client = client_for("leader")
    leader = world["leader"]
    queries: list[dict[str, Any]] = [
        {},
        {"status": ["registered"]},
        {"status": ["registered", "handling"]},
        {"open": "true"},
        {"open": "false"},
        {"category": "city"},
        {"category": "env"},
        {"priority": "urgent"},
        {"unit": world.community_a.code},
        {"unit": world.grid_b.code},
        {"q": "垃圾"},
        {"lead_unit": world.grid_a.code},
        {"box": "unit"},
        {"ordering": "-received"},
    ]
    request = RequestFactory().get("/cases/")
    request.user = leader
    for query in queries:
        data = client.get("/api/v1/cases/", query).json()
        expected = CaseFilterSet(query, queryset=Case.objects.visible_to(leader), request=request).qs
        assert [c["number"] for c in data["results"]] == [c.number for c in expected], query
    # Not a tautology: the filters narrow the list.
    assert client.get("/api/v1/cases/", {"status": "registered"}).json()["count"] == 2
    assert client.get("/api/v1/cases/", {"unit": world.grid_b.code}).json()["count"] == 1
    response = client.get("/api/v1/cases/", {"status": "nonsense"})
    assert response.status_code == 400 and "status" in response.json()


def test_phone_masked_unless_caller_may_reveal(
    world: World, client_for: Callable[[str], Client], make_case: Make
) -> None:
    case = make_case("handling", requester_phone="13812345678")
    masked = client_for("grid_a").get(f"/api/v1/cases/{case.number}/").json()
    assert masked["requester_phone"] == "138****5678"
    listed = client_for("grid_a").get("/api/v1/cases/").json()["results"][0]
    assert listed["requester_phone"] == "138****5678"
    full = client_for("comm_a").get(f"/api/v1/cases/{case.number}/").json()
    assert full["requester_phone"] == "13812345678"
    assert (
        client_for("auditor").get(f"/api/v1/cases/{case.number}/").json()["requester_phone"] == "138****5678"
    )


def test_main_line_through_the_api(world: World, client_for: Callable[[str], Client], catalog: Any) -> None:
    comm_a, grid_a = client_for("comm_a"), client_for("grid_a")
    response = _post(
        comm_a,
        "/api/v1/cases/",
        {
            "channel": "phone",
            "category": "city-stall",
            "org_unit": world.grid_a.code,
            "description": "新郑里路口有人占道摆摊卖水果",
            "requester_phone": "13900001234",
            "extra": {"goods": "fruit"},
        },
    )
    assert response.status_code == 201, response.json()
    number = response.json()["number"]
    assert response.json()["status"] == "registered" and response.json()["extra"] == {"goods": "fruit"}
    case = Case.objects.get(number=number)
    names = {a["name"] for a in comm_a.get(f"/api/v1/cases/{number}/actions/").json()}
    assert {"accept", "refuse", "comment"} <= names
    assert "accept" not in {a["name"] for a in grid_a.get(f"/api/v1/cases/{number}/actions/").json()}

    assert _step(comm_a, case, "accept", note="受理").json()["status"] == "accepted"
    body = _step(comm_a, case, "dispatch", lead_unit=world.grid_a.code, note="请网格员处置").json()
    assert body["status"] == "dispatched" and body["lead_unit"] == world.grid_a.code
    assert _step(grid_a, case, "sign").json()["handler"] == "grid_a"
    assert _step(grid_a, case, "report", note="已劝离摊贩").json()["status"] == "reported"
    assert _step(comm_a, case, "verify", note="现场核实").json()["status"] == "verified"
    body = _step(comm_a, case, "close", outcome="resolved", reply="已劝离，恢复通行。").json()
    assert body["status"] == "closed" and body["outcome"] == "resolved"
    body = _step(comm_a, case, "rate", rating="satisfied", comment="满意").json()
    assert body["status"] == "rated" and body["rating"] == "satisfied"

    steps = comm_a.get(f"/api/v1/cases/{number}/steps/").json()
    assert [s["action"] for s in steps] == [
        "create",
        "accept",
        "dispatch",
        "sign",
        "report",
        "verify",
        "close",
        "rate",
    ]
    assert steps[3]["label"] == "签收"


def test_refusals_map_to_403_400_409(
    world: World, client_for: Callable[[str], Client], make_case: Make
) -> None:
    case = make_case("registered")
    # Wrong role: a grid worker may not accept.
    response = _step(client_for("grid_a"), case, "accept")
    assert response.status_code == 403 and "受理" in response.json()["detail"]
    # Wrong state: nothing to sign yet.
    response = _step(client_for("comm_a"), case, "sign")
    assert response.status_code == 400 and "待受理" in response.json()["detail"]
    # Missing input the service asks for.
    response = _step(client_for("comm_a"), case, "refuse", reason="")
    assert response.status_code == 400 and "理由" in response.json()["detail"]
    # Bad body: the serializer's field messages.
    response = _post(client_for("comm_a"), f"/api/v1/cases/{case.number}/actions/accept/", {"note": "x"})
    assert response.status_code == 400 and "version" in response.json()
    # Stale version: someone else accepted first.
    seen = case.version
    services.accept(world["leader"], case, version=seen)
    response = _post(client_for("comm_a"), f"/api/v1/cases/{case.number}/actions/accept/", {"version": seen})
    assert response.status_code == 409 and case.number in response.json()["detail"]
    case.refresh_from_db()
    assert case.status == Status.ACCEPTED and case.steps.filter(action="accept").count() == 1
    # An unknown target code is a 400 on that field, not a crash.
    response = _step(client_for("comm_a"), case, "dispatch", lead_unit="no-such-unit")
    assert response.status_code == 400 and "lead_unit" in response.json()
    # A unit the caller cannot see is unknown to them.
    response = _step(client_for("comm_a"), case, "dispatch", lead_unit=world.grid_b.code)
    assert response.status_code == 400 and "lead_unit" in response.json()


def test_side_steps_through_the_api(
    world: World, client_for: Callable[[str], Client], make_case: Make
) -> None:
    case = make_case("handling")
    other = make_case("accepted", description="同一摊贩又来占道经营了")
    leader, grid_a = client_for("leader"), client_for("grid_a")
    assert _step(leader, case, "comment", note="请尽快处理").status_code == 200
    assert case.steps.filter(action="comment", note="请尽快处理").exists()
    assert _step(leader, case, "whistle", departments=["xinfang"], note="请信访办到场").status_code == 200
    response = _step(client_for("dept_xinfang"), case, "report_in", note="已到场")
    assert response.status_code == 200, response.json()
    response = _step(grid_a, case, "request_extension", days=3, reason="摊贩反复出现，需联合执法")
    assert response.status_code == 200, response.json()
    before = Case.objects.get(pk=case.pk).due_at
    assert _step(leader, case, "decide_extension", approve=True, note="同意").status_code == 200
    assert Case.objects.get(pk=case.pk).due_at != before
    response = _step(leader, other, "merge", into=case.number, note="重复诉求")
    assert response.status_code == 200 and response.json()["status"] == "merged"
    response = _step(leader, case, "merge", into="GC000000000000")
    assert response.status_code == 400 and "into" in response.json()


def test_dispatch_to_a_department_by_code(
    world: World, client_for: Callable[[str], Client], make_case: Make
) -> None:
    case = make_case("accepted")
    body = _step(
        client_for("leader"), case, "dispatch", lead_department="xinfang", co_units=[world.grid_a.code]
    )
    assert body.status_code == 200, body.json()
    assert body.json()["lead_department"] == "xinfang"
    assert case.assignments.filter(role="co", unit=world.grid_a).exists()


def test_community_staff_dispatch_to_the_sub_district_departments_as_on_the_case_page(
    world: World, client_for: Callable[[str], Client], make_case: Make
) -> None:
    """The API offers the same departments as the dispatch form: those of the case's sub-district, which a
    community's staff otherwise do not see; another sub-district's department is unknown here."""
    case = make_case("accepted")
    body = _step(client_for("comm_a"), case, "dispatch", lead_department="xinfang")
    assert body.status_code == 200, body.json()
    assert body.json()["lead_department"] == "xinfang"
    other = make_case("accepted")
    Department.objects.create(org_unit=world.other_subdistrict, code="elsewhere", name="别处科室")
    response = _step(client_for("comm_a"), other, "dispatch", lead_department="elsewhere")
    assert response.status_code == 400 and "lead_department" in response.json()


def test_create_refusals(world: World, client_for: Callable[[str], Client], catalog: Any) -> None:
    body = {"channel": "phone", "category": "city-stall", "org_unit": world.grid_a.code, "description": "短"}
    response = _post(client_for("comm_a"), "/api/v1/cases/", body)
    assert response.status_code == 400 and "5" in response.json()["detail"]
    response = _post(
        client_for("comm_a"), "/api/v1/cases/", {**body, "category": "nope", "description": "x" * 9}
    )
    assert response.status_code == 400 and "category" in response.json()
    # A place outside the caller's scope is unknown to them.
    response = _post(
        client_for("comm_a"),
        "/api/v1/cases/",
        {**body, "org_unit": world.grid_b.code, "description": "x" * 9},
    )
    assert response.status_code == 400 and "org_unit" in response.json()
    assert _post(client_for("volunteer"), "/api/v1/cases/", body).status_code == 403
    assert _post(client_for("auditor"), "/api/v1/cases/", body).status_code == 403
    assert not Case.objects.exists()
    response = _post(
        client_for("comm_a"),
        "/api/v1/cases/",
        {**body, "description": "路口井盖缺失很危险", "category": "city", "requester_phone": "13900001111"},
    )
    assert response.status_code == 400 and "具体" in response.json()["detail"]


def test_category_tree_and_dispatch_rules(
    world: World, client_for: Callable[[str], Client], catalog: Any
) -> None:
    from jiedao.cases import catalog_services

    data = client_for("grid_a").get("/api/v1/case-categories/").json()
    codes = [c["code"] for c in data["results"]]
    assert "city" in codes and "infra-water" in codes
    water = client_for("grid_a").get("/api/v1/case-categories/infra-water/").json()
    assert water["parent"] == "infra" and {f["code"] for f in water["fields"]} == {"depth_cm", "passable"}
    assert client_for("volunteer").get("/api/v1/case-categories/").status_code == 403
    rule = catalog_services.add_rule(
        world["admin"], category=catalog["city-stall"], area=world.community_a, target_unit=world.grid_a
    )
    rows = client_for("leader").get("/api/v1/dispatch-rules/").json()["results"]
    assert [(r["category"], r["area"], r["target_unit"]) for r in rows] == [
        ("city-stall", world.community_a.code, world.grid_a.code)
    ]
    assert client_for("other_leader").get("/api/v1/dispatch-rules/").json()["count"] == 0
    assert client_for("other_leader").get(f"/api/v1/dispatch-rules/{rule.pk}/").status_code == 404
    catalog_services.change_rule(world["admin"], rule, target_unit=world.grid_a2, target_department=None)
    rows = client_for("leader").get("/api/v1/dispatch-rules/").json()["results"]
    assert [(r["target_unit"], r["version"]) for r in rows] == [(world.grid_a2.code, 2)]
