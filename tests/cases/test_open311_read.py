"""Open311 GeoReport v2, reading: discovery, services, service definitions, requests and tokens, in JSON
(checked against the official schemas) and XML (parsed back); nothing confidential or personal goes out."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from jsonschema import Draft7Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from jiedao.cases.models import Case, Category
from tests.world import World

pytestmark = pytest.mark.django_db

SCHEMAS = Path(settings.BASE_DIR).parent / "shared" / "open311" / "georeport-v2"
PHONE = "13812345678"
ID_NUMBER = "41010419900101123X"


def validator(name: str) -> Draft7Validator:
    """A validator for one of the official schemas, with its relative $refs resolved in the same folder. A
    missing folder fails (CI provides shared/ beside the repository)."""
    assert SCHEMAS.is_dir(), f"the Open311 schemas are missing: {SCHEMAS}"
    resources = [
        (path.name, Resource.from_contents(json.loads(path.read_text()), default_specification=DRAFT7))
        for path in SCHEMAS.glob("*.json")
    ]
    assert len(resources) == 5, resources
    registry: Registry[Any] = Registry().with_resources(resources)
    schema = json.loads((SCHEMAS / name).read_text())
    return Draft7Validator(schema, registry=registry, format_checker=FormatChecker())


def get_json(url: str, schema: str | None = None, expect: int = 200, **params: Any) -> Any:
    response = Client().get(url, params)
    assert response.status_code == expect, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    data = json.loads(response.content)
    if schema:
        errors = list(validator(schema).iter_errors(data))
        assert not errors, [e.message for e in errors]
    return data


def get_xml(url: str, expect: int = 200, **params: Any) -> ET.Element:
    response = Client().get(url, params)
    assert response.status_code == expect
    assert response["Content-Type"].startswith("text/xml")
    return ET.fromstring(response.content)


def url(name: str, fmt: str = "json", **kwargs: Any) -> str:
    return reverse(f"open311:{name}", kwargs={"fmt": fmt, **kwargs})


def test_schema_folder_and_refs_resolve() -> None:
    bad = [{"service_code": 5, "service_name": "x", "metadata": "no", "type": "realtime"}]
    assert list(validator("services.json").iter_errors(bad))  # the $ref to service.json is followed


def test_discovery(world: World) -> None:
    data = get_json(url("discovery"))
    endpoint = data["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2")
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}
    root = get_xml(url("discovery", "xml"))
    assert root.tag == "discovery"
    assert [f.text for f in root.findall("./endpoints/endpoint/formats/format")] == [
        "text/xml",
        "application/json",
    ]


def test_services_are_public_active_leaves(world: World, catalog: dict[str, Category]) -> None:
    catalog["infra-cover"].is_active = False
    catalog["infra-cover"].save()
    data = get_json(url("services"), "services.json")
    by_code = {s["service_code"]: s for s in data}
    assert "infra-light" in by_code and by_code["infra-light"]["group"] == "市政设施"
    assert by_code["infra-light"]["metadata"] is False and by_code["infra-water"]["metadata"] is True
    assert by_code["infra-light"]["type"] == "realtime" and by_code["infra-light"]["keywords"] == "路灯"
    assert "infra" not in by_code  # not a leaf
    assert "petition-land" not in by_code  # not public
    assert "infra-cover" not in by_code  # not active
    root = get_xml(url("services", "xml"))
    assert root.tag == "services"
    codes = [s.findtext("service_code") for s in root.findall("service")]
    assert codes == [s["service_code"] for s in data]
    water = next(s for s in root.findall("service") if s.findtext("service_code") == "infra-water")
    assert water.findtext("metadata") == "true" and water.findtext("service_name") == "道路积水"


def test_service_definition(world: World, catalog: dict[str, Category]) -> None:
    data = get_json(url("service_definition", code="infra-water"), "service-definition.json")
    assert data["service_code"] == "infra-water"
    attrs = {a["code"]: a for a in data["attributes"]}
    assert attrs["depth_cm"]["datatype"] == "number" and attrs["depth_cm"]["required"] is True
    assert attrs["passable"]["values"] == [
        {"key": "yes", "name": "可通行"},
        {"key": "no", "name": "不可通行"},
    ]
    assert [a["order"] for a in data["attributes"]] == [1, 2]
    assert all(a["variable"] is True for a in data["attributes"])
    root = get_xml(url("service_definition", "xml", code="infra-water"))
    assert root.tag == "service_definition"
    keys = [v.findtext("key") for v in root.findall("./attributes/attribute/values/value")]
    assert keys == ["yes", "no"]


@pytest.mark.parametrize("code", ["no-such-thing", "petition-land", "infra"])
def test_unknown_or_hidden_service_definition_is_404(
    world: World, catalog: dict[str, Category], code: str
) -> None:
    data = get_json(url("service_definition", code=code), expect=404)
    assert data[0]["code"] == 404 and data[0]["description"]
    root = get_xml(url("service_definition", "xml", code=code), expect=404)
    assert root.tag == "errors" and root.findtext("./error/code") == "404"


@pytest.fixture
def cases(world: World, make_case: Callable[..., Case], catalog: dict[str, Category]) -> dict[str, Case]:
    text = f"楼下有人占道卖菜，联系我 {PHONE}，身份证 {ID_NUMBER}，我叫王先生"
    return {
        "open": make_case("handling", description=text),
        "closed": make_case("closed", category=catalog["infra-light"], description="路灯坏了好几天了"),
        "confidential": make_case("handling", confidential=True, description="保密的事情不得公开"),
        "old": make_case(
            "registered", description="一百天前的旧诉求", now=timezone.now() - timedelta(days=100)
        ),
        "petition": make_case(
            "registered",
            category=catalog["petition-social"],
            petition_type="claim",
            description="低保申请的信访事项",
        ),
    }


def test_requests_default_window_and_privacy(world: World, cases: dict[str, Case]) -> None:
    data = get_json(url("requests"), "requests.json")
    ids = [r["service_request_id"] for r in data]
    assert cases["open"].number in ids and cases["closed"].number in ids
    assert cases["old"].number not in ids  # older than 90 days
    assert cases["confidential"].number not in ids and cases["petition"].number not in ids
    body = json.dumps(data, ensure_ascii=False)
    for secret in (PHONE, ID_NUMBER, "王先生", "保密的事情", "1234", "5678"):
        assert secret not in body, secret
    item = next(r for r in data if r["service_request_id"] == cases["open"].number)
    assert item["status"] == "open" and item["service_code"] == "city-stall"
    assert item["agency_responsible"] == world.grid_a.name
    assert item["expected_datetime"] and item["requested_datetime"]
    assert "***********" in item["description"]
    closed = next(r for r in data if r["service_request_id"] == cases["closed"].number)
    assert closed["status"] == "closed" and closed["status_notes"] == "已劝离摊贩，恢复通行。"


def test_requests_filters(world: World, cases: dict[str, Case]) -> None:
    def ids(**params: Any) -> set[str]:
        return {r["service_request_id"] for r in get_json(url("requests"), "requests.json", **params)}

    assert ids(status="open") == {cases["open"].number}
    assert ids(status="closed") == {cases["closed"].number}
    assert ids(service_code="infra-light") == {cases["closed"].number}
    assert ids(service_code="infra-light,city-stall") == {cases["open"].number, cases["closed"].number}
    start = (timezone.now() - timedelta(days=120)).date().isoformat()
    end = (timezone.now() - timedelta(days=50)).isoformat()
    assert ids(start_date=start, end_date=end) == {cases["old"].number}
    wanted = f"{cases['old'].number},{cases['confidential'].number},{cases['open'].number}"
    assert ids(service_request_id=wanted, status="closed") == {cases["old"].number, cases["open"].number}
    bad = get_json(url("requests"), expect=400, start_date="yesterday")
    assert bad[0]["code"] == 400
    assert get_json(url("requests"), expect=400, status="pending")[0]["code"] == 400


def test_requests_xml(world: World, cases: dict[str, Case]) -> None:
    root = get_xml(url("requests", "xml"))
    assert root.tag == "service_requests"
    numbers = {r.findtext("service_request_id") for r in root.findall("request")}
    assert cases["open"].number in numbers and cases["confidential"].number not in numbers
    assert PHONE.encode() not in ET.tostring(root)


def test_one_request_and_token(world: World, cases: dict[str, Case]) -> None:
    number = cases["open"].number
    data = get_json(url("request", number=number), "requests.json")
    assert [r["service_request_id"] for r in data] == [number]
    assert get_xml(url("request", "xml", number=number)).findtext("./request/service_request_id") == number
    for hidden in ("confidential", "petition"):
        missing = get_json(url("request", number=cases[hidden].number), expect=404)
        assert missing[0]["code"] == 404
        assert get_json(url("token", token=cases[hidden].number), expect=404)[0]["code"] == 404
    token = get_json(url("token", token=number))
    assert token == [{"service_request_id": number, "token": number}]
    root = get_xml(url("token", "xml", token=number))
    assert root.tag == "service_requests" and root.findtext("./request/token") == number
