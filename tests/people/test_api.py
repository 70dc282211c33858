"""People API: scoped lists, masked personal data (reveal only through the logged endpoint), writes through
the services with 403 out of scope and 409 on a stale version."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.test import Client

from jiedao.audit.models import AuditEvent
from jiedao.people.models import Resident
from tests.people.helpers import id_number, resident
from tests.world import World

pytestmark = pytest.mark.django_db

NUMBER = id_number(date(1948, 8, 8), 21)


def _post(client: Client, url: str, data: dict) -> Any:
    return client.post(url, json.dumps(data), content_type="application/json")


def test_residents_are_scoped_and_masked(world: World, client_for: Callable[[str], Client]) -> None:
    mine = resident(world["comm_a"], world.grid_a, "张三", id_number=NUMBER, phone="13811112222")
    resident(world["comm_b"], world.grid_b, "李四")
    body = client_for("grid_a").get("/api/v1/residents/").json()
    names = [r["name"] for r in body["results"]]
    assert names == ["张三"]
    text = json.dumps(body, ensure_ascii=False)
    assert NUMBER not in text and "13811112222" not in text and "138****2222" in text
    assert client_for("other_leader").get("/api/v1/residents/").json()["results"] == []
    assert client_for("volunteer").get("/api/v1/residents/").status_code == 403
    assert client_for("comm_b").get(f"/api/v1/residents/{mine.pk}/").status_code == 404
    assert Client().get("/api/v1/residents/").status_code in (401, 403)
    by_pinyin = client_for("leader").get("/api/v1/residents/", {"q": "zs"}).json()["results"]
    assert [r["name"] for r in by_pinyin] == ["张三"]


def test_reveal_endpoint_is_permitted_and_logged(world: World, client_for: Callable[[str], Client]) -> None:
    mine = resident(world["comm_a"], world.grid_a, "张三", id_number=NUMBER)
    url = f"/api/v1/residents/{mine.pk}/reveal/"
    response = _post(client_for("grid_a"), url, {"field": "id_number"})
    assert response.status_code == 200 and response.json() == {"field": "id_number", "value": NUMBER}
    assert _post(client_for("leader"), url, {"field": "id_number"}).status_code == 403
    assert _post(client_for("comm_b"), url, {"field": "id_number"}).status_code == 404
    assert _post(client_for("grid_a"), url, {"field": "password"}).status_code == 400
    assert AuditEvent.objects.filter(kind="people.reveal").count() == 1


def test_writes_go_through_the_services(world: World, client_for: Callable[[str], Client]) -> None:
    client = client_for("grid_a")
    response = _post(
        client,
        "/api/v1/residents/",
        {"org_unit": world.grid_a.code, "name": "王五", "id_number": NUMBER, "phone": "13900001111"},
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert (
        "id_number" not in created
        and created["id_mask"].startswith("410104")
        and created["birth_date"] == "1948-08-08"
    )
    assert AuditEvent.objects.filter(kind="people.create").exists()
    bad = _post(
        client,
        "/api/v1/residents/",
        {"org_unit": world.grid_a.code, "name": "错号", "id_number": "410104194808082"},
    )
    assert bad.status_code == 400 and "id_number" in bad.json()
    outside = _post(client, "/api/v1/residents/", {"org_unit": world.grid_b.code, "name": "越界"})
    assert outside.status_code == 403
    assert (
        _post(
            client_for("leader"), "/api/v1/compounds/", {"org_unit": world.grid_a.code, "name": "x"}
        ).status_code
        == 403
    )
    url = f"/api/v1/residents/{created['id']}/"
    ok = client.patch(
        url, json.dumps({"note": "新", "version": created["version"]}), content_type="application/json"
    )
    assert ok.status_code == 200 and ok.json()["version"] == created["version"] + 1
    stale = client.patch(
        url, json.dumps({"note": "旧", "version": created["version"]}), content_type="application/json"
    )
    assert stale.status_code == 409
    assert Resident.objects.get(pk=created["id"]).note == "新"


def test_places_and_organisations(world: World, client_for: Callable[[str], Client]) -> None:
    client = client_for("comm_a")
    compound = _post(
        client,
        "/api/v1/compounds/",
        {"org_unit": world.grid_a.code, "name": "陇海花园", "kind": "commercial"},
    )
    assert compound.status_code == 201
    building = _post(
        client, "/api/v1/buildings/", {"compound": compound.json()["id"], "name": "1号楼", "floors": 6}
    )
    assert building.status_code == 201 and building.json()["org_unit"] == world.grid_a.code
    dwelling = _post(client, "/api/v1/dwellings/", {"building": building.json()["id"], "number": "101"})
    assert dwelling.json()["address"] == "陇海花园 1号楼 101"
    org = _post(
        client,
        "/api/v1/organisations/",
        {
            "org_unit": world.grid_a.code,
            "name": "某公司",
            "kind": "enterprise",
            "credit_code": "91110000600037341X",
        },
    )
    assert org.status_code == 400 and "credit_code" in org.json()
    assert client_for("comm_b").get("/api/v1/compounds/").json()["results"] == []
    assert len(client_for("leader").get("/api/v1/dwellings/").json()["results"]) == 1
