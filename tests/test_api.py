from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from tests.world import World

pytestmark = pytest.mark.django_db


def test_org_units_scoped_and_filtered(world: World, client_for: Callable[[str], Client]) -> None:
    data = client_for("comm_a").get("/api/v1/org-units/").json()
    assert {u["code"] for u in data["results"]} == {
        world.community_a.code,
        world.grid_a.code,
        world.grid_a2.code,
    }
    grid = next(u for u in data["results"] if u["code"] == world.grid_a.code)
    assert grid["parent"] == world.community_a.code
    data = (
        client_for("leader")
        .get("/api/v1/org-units/", {"kind": "grid", "under": world.community_b.code})
        .json()
    )
    assert {u["code"] for u in data["results"]} == {world.grid_b.code, world.grid_b2.code}


def test_token_auth(world: World) -> None:
    token = Token.objects.create(user=world["grid_a"])
    response = Client().get("/api/v1/org-units/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    assert [u["code"] for u in response.json()["results"]] == [world.grid_a.code]


def test_users_show_only_memberships_in_scope(world: World, client_for: Callable[[str], Client]) -> None:
    data = client_for("comm_a").get("/api/v1/users/").json()
    names = {u["username"] for u in data["results"]}
    assert names == {"comm_a", "grid_a", "volunteer"}
    data = client_for("district").get("/api/v1/users/", {"role": "leader"}).json()
    assert {u["username"] for u in data["results"]} == {"leader", "other_leader"}


def test_departments_scoped(world: World, client_for: Callable[[str], Client]) -> None:
    assert client_for("other_leader").get("/api/v1/departments/").json()["count"] == 0
    data = client_for("leader").get("/api/v1/departments/").json()
    assert {d["code"] for d in data["results"]} == {"xinfang", "dangjian"}


def test_schema_lists_every_endpoint(world: World, client_for: Callable[[str], Client]) -> None:
    response = client_for("leader").get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/v1/org-units/", "/api/v1/departments/", "/api/v1/users/"} <= set(paths)
    assert client_for("leader").get("/api/docs/").status_code == 200


def test_invalid_token_is_refused(world: World) -> None:
    response = Client().get("/api/v1/org-units/", HTTP_AUTHORIZATION="Token not-a-real-token")
    assert response.status_code == 401
    assert Client().get("/api/v1/org-units/").status_code in (401, 403)


def test_api_errors_are_json(world: World, client_for: Callable[[str], Client]) -> None:
    client = client_for("leader")
    for url in (
        "/api/v1/departments/1.5e-3/",
        "/api/v1/no-such-thing/",
        f"/api/v1/org-units/{world.other_grid.code}/",
    ):
        response = client.get(url)
        assert response.status_code == 404 and response["Content-Type"] == "application/json", url
        assert "detail" in response.json()
    assert client.get("/api/v1/org-units/", {"page": 99}).status_code == 404


def test_bad_filter_value_is_a_400_with_field_message(
    world: World, client_for: Callable[[str], Client]
) -> None:
    response = client_for("leader").get("/api/v1/org-units/", {"kind": "xyz"})
    assert response.status_code == 400 and "kind" in response.json()
