"""GET /api/v1/search/: the same search for API clients, scoped, documented in the OpenAPI schema."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from jiedao.people.models import Resident
from tests.search.conftest import id_number
from tests.world import World

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.search.urls")]

URL = "/api/v1/search/"


def api(world: World, who: str) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=world[who])
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def people(world: World, make_resident: Callable[..., Resident]) -> str:
    number = id_number("19580303", 58)
    make_resident("杨帆", address="陇海花园6号楼", id_number=number)
    make_resident("乙网格杨帆", unit=world.grid_b, actor="comm_b")
    return number


def test_results(world: World, people: str) -> None:
    response = api(world, "grid_a").get(URL, {"q": "yangfan"})
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "yangfan"
    assert [(r["kind"], r["title"]) for r in body["results"]] == [("resident", "杨帆")]
    row = body["results"][0]
    assert set(row) == {"kind", "kind_label", "object_id", "title", "subtitle", "url", "exact"}
    assert people not in row["subtitle"] and row["subtitle"].endswith("陇海花园6号楼")


def test_exact_identity_number(world: World, people: str) -> None:
    rows = api(world, "comm_a").get(URL, {"q": people}).json()["results"]
    assert [(r["title"], r["exact"]) for r in rows] == [("杨帆", "id_number")]
    assert api(world, "comm_b").get(URL, {"q": people}).json()["results"] == []


def test_scope_kinds_and_limit(world: World, people: str) -> None:
    assert [r["title"] for r in api(world, "grid_b").get(URL, {"q": "杨帆"}).json()["results"]] == [
        "乙网格杨帆"
    ]
    assert api(world, "other_leader").get(URL, {"q": "杨帆"}).json()["results"] == []
    assert len(api(world, "leader").get(URL, {"q": "杨帆"}).json()["results"]) == 2
    assert len(api(world, "leader").get(URL, {"q": "杨帆", "limit": "1"}).json()["results"]) == 1
    assert api(world, "leader").get(URL, {"q": "杨帆", "kind": "case"}).json()["results"] == []
    both = api(world, "leader").get(f"{URL}?q=杨帆&kind=case&kind=resident").json()["results"]
    assert len(both) == 2


def test_refusals_and_bad_input(world: World) -> None:
    assert APIClient().get(URL, {"q": "x"}).status_code in (401, 403)
    assert api(world, "volunteer").get(URL, {"q": "x"}).status_code == 403
    client = api(world, "grid_a")
    bad: list[dict[str, str]] = [
        {"q": "x", "kind": "nonsense"},
        {"q": "x", "limit": "0"},
        {"q": "x", "limit": "51"},
        {"q": "x", "limit": "many"},
        {},
        {"q": "x" * 101},
    ]
    for params in bad:
        response = client.get(URL, params)
        assert response.status_code == 400, params
    assert client.get(URL, {"q": ""}).json()["results"] == []


def test_documented_in_the_schema() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"][URL]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"q", "kind", "limit"}
    assert set(operation["responses"]) >= {"200", "400", "401", "403"}
    hit = schema["components"]["schemas"]["SearchHit"]["properties"]
    assert set(hit) == {"kind", "kind_label", "object_id", "title", "subtitle", "url", "exact"}


def test_the_endpoint_conforms_to_its_schema(world: World, people: str) -> None:
    """Generated queries (any text, kinds, limits) as a signed-in leader: never a server error, always as
    documented, never a record of the other sub-district."""
    import schemathesis
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections
    from hypothesis import HealthCheck, given, settings

    from jiedao.wsgi import application

    schema = schemathesis.openapi.from_dict(
        SchemaGenerator(urlconf="tests.search.urls").get_schema(request=None, public=True)
    )
    schema.app = application
    schema.config.generation.update(allow_x00=False)
    token, _ = Token.objects.get_or_create(user=world["leader"])
    operation = schema["/api/v1/search/"]["GET"]

    @given(case=operation.as_strategy())
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: schemathesis.Case) -> None:
        response = case.call(headers={"Authorization": f"Token {token.key}"})
        assert response.status_code in (200, 400), response.text
        # as in tests/test_api_schema.py: ignored_auth corrupts the session cookie while the valid token still
        # authenticates; negative_data_rejection counts an empty kind= as invalid (a form reads it as "none")
        case.validate_response(
            response,
            excluded_checks=[schemathesis.checks.ignored_auth, schemathesis.checks.negative_data_rejection],
        )
        if response.status_code == 200:
            assert world.other_subdistrict.name not in response.text

    # the WSGI app's request signals would close the test's connection mid-transaction (as in
    # tests/test_api_schema.py)
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        check()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
