"""Open311 GeoReport v2, creating requests: api_key, service code, the place from lat/long inside the
client's area, attributes; CSRF-free but validated; plus the command that makes a client."""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from jiedao.cases.models import Case, Category, Channel, Open311Client
from jiedao.cases.open311.geo import contains, unit_at
from jiedao.core.models import OrgUnit
from tests.world import World

pytestmark = pytest.mark.django_db

KEY = "test-open311-key-0123456789"
TEXT = "路口井盖缺失，有人差点掉下去"


def square(lon: float, lat: float, half: float) -> dict[str, Any]:
    ring = [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
    ]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def _set(unit: OrgUnit, boundary: dict[str, Any]) -> None:
    OrgUnit.objects.filter(pk=unit.pk).update(boundary=boundary)


@pytest.fixture
def mapped(world: World, catalog: dict[str, Category]) -> World:
    """Community A around (113.68, 34.74) with grid_a in its west half; community B to the east."""
    _set(world.community_a, square(113.68, 34.74, 0.01))
    _set(
        world.grid_a,
        {
            "type": "Polygon",
            "coordinates": [
                [[113.67, 34.73], [113.68, 34.73], [113.68, 34.75], [113.67, 34.75], [113.67, 34.73]]
            ],
        },
    )
    _set(world.community_b, square(113.72, 34.74, 0.01))
    _set(world.grid_b, square(113.72, 34.74, 0.005))
    return world


@pytest.fixture
def client_a(mapped: World) -> Open311Client:
    return Open311Client.objects.create(
        name="12345 热线",
        key_hash=hashlib.sha256(KEY.encode()).hexdigest(),
        key_prefix=KEY[:8],
        org_unit=mapped.community_a,
    )


def post(data: dict[str, Any], fmt: str = "json") -> Any:
    return Client(enforce_csrf_checks=True).post(reverse("open311:requests", kwargs={"fmt": fmt}), data)


def form(**overrides: Any) -> dict[str, Any]:
    data = {
        "api_key": KEY,
        "service_code": "infra-light",
        "lat": "34.74",
        "long": "113.675",
        "description": TEXT,
        "address_string": "陇海东路与长江路口",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_point_in_polygon() -> None:
    box = square(0, 0, 1)
    assert contains(box, 0.5, 0.5) and not contains(box, 1.5, 0)
    holed = {"type": "Polygon", "coordinates": [box["coordinates"][0], square(0, 0, 0.2)["coordinates"][0]]}
    assert contains(holed, 0.5, 0.5) and not contains(holed, 0.1, 0.1)
    multi = {"type": "MultiPolygon", "coordinates": [box["coordinates"], square(5, 5, 1)["coordinates"]]}
    assert contains(multi, 5.2, 4.9) and not contains(multi, 3, 3)
    assert contains({"type": "Feature", "geometry": box}, 0, 0.9)
    assert not contains(None, 0, 0) and not contains({"type": "Polygon", "coordinates": [[["x"]]]}, 0, 0)


def test_unit_at_prefers_the_grid(mapped: World) -> None:
    assert unit_at(113.675, 34.74, mapped.subdistrict) == mapped.grid_a
    assert unit_at(113.685, 34.74, mapped.subdistrict) == mapped.community_a  # east half: no grid drawn
    assert unit_at(113.72, 34.74, mapped.community_a) is None  # community B is outside


@pytest.mark.parametrize("key", [None, "", "wrong-key"])
def test_missing_or_wrong_key_is_403(client_a: Open311Client, key: str | None) -> None:
    response = post(form(api_key=key))
    assert response.status_code == 403
    assert json.loads(response.content)[0]["code"] == 403
    xml = post(form(api_key=key), "xml")
    assert xml.status_code == 403 and ET.fromstring(xml.content).findtext("./error/code") == "403"
    assert not Case.objects.filter(description=TEXT).exists()


def test_inactive_client_is_403(client_a: Open311Client) -> None:
    Open311Client.objects.filter(pk=client_a.pk).update(is_active=False)
    assert post(form()).status_code == 403


@pytest.mark.parametrize("code", ["", "no-such-service", "petition-land", "infra"])
def test_missing_or_unknown_service_code_is_400(client_a: Open311Client, code: str) -> None:
    response = post(form(service_code=code))
    assert response.status_code == 400
    assert json.loads(response.content)[0]["code"] == 400
    assert not Case.objects.filter(description=TEXT).exists()


@pytest.mark.parametrize(
    ("lat", "long"),
    [("34.74", "113.72"), ("39.9", "116.4"), (None, None), ("north", "113.675"), ("99", "113")],
)
def test_point_outside_the_clients_area_is_400(client_a: Open311Client, lat: Any, long: Any) -> None:
    response = post(form(lat=lat, long=long))
    assert response.status_code == 400, response.content
    assert json.loads(response.content)[0]["code"] == 400
    assert not Case.objects.filter(description=TEXT).exists()


def test_create_without_phone_is_anonymous(client_a: Open311Client, mapped: World) -> None:
    response = post(form())
    assert response.status_code == 200, response.content
    data = json.loads(response.content)
    case = Case.objects.get(description=TEXT)
    assert data == [
        {"service_request_id": case.number, "service_notice": data[0]["service_notice"], "account_id": None}
    ]
    assert case.channel == Channel.API and case.org_unit == mapped.grid_a and case.anonymous
    assert case.address == "陇海东路与长江路口" and (case.latitude, case.longitude) == (34.74, 113.675)


def test_create_with_person_and_attributes_keeps_them_private(client_a: Open311Client, mapped: World) -> None:
    response = post(
        form(
            service_code="infra-water",
            first_name="敏",
            last_name="周",
            phone="13666668888",
            email="zhou@example.org",
            **{"attribute[depth_cm]": "25", "attribute[passable]": "no"},
            media_url="https://img.example.org/a.jpg",
        ),
        "xml",
    )
    assert response.status_code == 200, response.content
    root = ET.fromstring(response.content)
    assert root.tag == "service_requests"
    number = root.findtext("./request/service_request_id") or ""
    case = Case.objects.get(number=number)
    assert case.requester_name == "周 敏" and case.requester_phone == "13666668888" and not case.anonymous
    assert case.extra == {"depth_cm": 25.0, "passable": "no"}
    assert "https://img.example.org/a.jpg" in case.description
    shown = (
        Client().get(reverse("open311:request", kwargs={"fmt": "json", "number": number})).content.decode()
    )
    assert number in shown
    for secret in ("13666668888", "周 敏", "zhou@example.org", "8888"):
        assert secret not in shown


def test_bad_attribute_is_400(client_a: Open311Client) -> None:
    response = post(form(service_code="infra-water", **{"attribute[passable]": "maybe"}))
    assert response.status_code == 400
    assert "积水深度" in json.loads(response.content)[0]["description"]


def test_command_creates_a_client_and_prints_the_key_once(mapped: World) -> None:
    out = io.StringIO()
    call_command("open311_client", "城管系统", "--unit", mapped.community_a.code, stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    client = Open311Client.objects.get(name="城管系统")
    assert client.key_hash == hashlib.sha256(key.encode()).hexdigest() and key not in client.key_hash
    assert client.org_unit == mapped.community_a
    response = Client().post(reverse("open311:requests", kwargs={"fmt": "json"}), form(api_key=key))
    assert response.status_code == 200
