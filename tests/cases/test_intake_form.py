"""Staff intake: the fast form for phone, letter, visit and 12345 intake."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from jiedao.cases import uploads
from jiedao.cases.models import Case, Category, Status
from tests.world import World

pytestmark = pytest.mark.django_db


def png_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def intake_data(world: World, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "channel": "phone",
        "category": "infra-water",
        "org_unit": str(world.grid_a.pk),
        "address": "陇海东路下穿通道",
        "description": "下穿通道积水很深，车辆无法通过，请尽快排水",
        "requester_name": "李女士",
        "requester_phone": "13912345678",
        "priority": "urgent",
        "extra_depth_cm": "40",
        "extra_passable": "no",
        "idempotency_key": "key-0001",
    }
    data.update(overrides)
    return data


def test_intake_page_offers_only_units_in_scope(world: World, client_for: Callable[[str], Client]) -> None:
    page = client_for("comm_a").get("/cases/new/")
    assert page.status_code == 200
    html = page.content.decode()
    assert world.grid_a.name in html
    assert world.grid_b.name not in html  # community B is outside comm_a's scope
    assert 'name="idempotency_key"' in html
    assert "立即受理" in html  # comm_a may accept


def test_category_fields_partial_lists_the_extra_fields(
    world: World, catalog: dict[str, Category], client_for: Callable[[str], Client]
) -> None:
    html = client_for("comm_a").get("/cases/new/fields/?category=infra-water").content.decode()
    assert 'name="extra_depth_cm"' in html and 'type="number"' in html
    assert 'name="extra_passable"' in html and "不可通行" in html
    multi = client_for("comm_a").get("/cases/new/fields/?category=safety-house").content.decode()
    assert 'type="checkbox" name="extra_cracks"' in multi
    assert 'name="extra_' not in client_for("comm_a").get("/cases/new/fields/?category=city").content.decode()


def test_staff_intake_creates_a_case_with_extra_fields(
    world: World, catalog: dict[str, Category], client_for: Callable[[str], Client]
) -> None:
    response = client_for("comm_a").post("/cases/new/", intake_data(world, accept="on"))
    case = Case.objects.get(description__startswith="下穿通道积水")
    assert response.status_code == 302 and response["Location"] == f"/cases/{case.number}/"
    assert case.extra == {"depth_cm": 40.0, "passable": "no"}
    assert case.org_unit == world.grid_a and case.channel == "phone" and case.priority == "urgent"
    assert case.status == Status.ACCEPTED and case.created_by == world["comm_a"]


def test_missing_required_extra_field_keeps_every_value(
    world: World, catalog: dict[str, Category], client_for: Callable[[str], Client]
) -> None:
    data = intake_data(world, extra_depth_cm="", extra_passable="no", requester_name="<b>李女士</b>")
    response = client_for("comm_a").post("/cases/new/", data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "请填写“积水深度（厘米）”。" in html
    assert "下穿通道积水很深，车辆无法通过，请尽快排水" in html
    assert 'value="13912345678"' in html and 'value="陇海东路下穿通道"' in html
    assert 'value="no" selected' in html  # the extra field's answer is kept
    assert "&lt;b&gt;李女士&lt;/b&gt;" in html and "<b>李女士</b>" not in html
    assert not Case.objects.filter(description__startswith="下穿通道积水").exists()


def test_non_image_photo_is_refused_and_text_kept(
    world: World, catalog: dict[str, Category], client_for: Callable[[str], Client]
) -> None:
    fake = SimpleUploadedFile("scene.jpg", b"this is not a picture", content_type="image/jpeg")
    response = client_for("comm_a").post("/cases/new/", {**intake_data(world), "photos": [fake]})
    assert response.status_code == 200
    html = response.content.decode()
    assert "“scene.jpg”不是可识别的图片" in html
    assert "下穿通道积水很深" in html
    assert 'data-testid="files-lost"' in html
    assert not Case.objects.filter(description__startswith="下穿通道积水").exists()


def test_oversized_photo_is_refused_with_its_size(
    world: World,
    catalog: dict[str, Category],
    client_for: Callable[[str], Client],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(uploads, "MAX_PHOTO_BYTES", 10)
    big = SimpleUploadedFile("big.png", png_bytes(), content_type="image/png")
    response = client_for("comm_a").post("/cases/new/", {**intake_data(world), "photos": [big]})
    html = response.content.decode()
    assert response.status_code == 200 and "照片“big.png”" in html and "超过上限" in html
    assert "下穿通道积水很深" in html
    assert not Case.objects.filter(description__startswith="下穿通道积水").exists()


def test_good_photo_is_attached(
    world: World,
    catalog: dict[str, Category],
    client_for: Callable[[str], Client],
    settings: Any,
    tmp_path: Any,
) -> None:
    settings.MEDIA_ROOT = tmp_path
    photo = SimpleUploadedFile("ok.png", png_bytes(), content_type="image/png")
    client_for("comm_a").post("/cases/new/", {**intake_data(world), "photos": [photo]})
    case = Case.objects.get(description__startswith="下穿通道积水")
    assert [(a.kind, a.content_type) for a in case.attachments.all()] == [("photo", "image/png")]


def test_same_idempotency_key_makes_one_case(
    world: World, catalog: dict[str, Category], client_for: Callable[[str], Client]
) -> None:
    client = client_for("comm_a")
    first = client.post("/cases/new/", intake_data(world))
    second = client.post("/cases/new/", intake_data(world))
    assert Case.objects.filter(description__startswith="下穿通道积水").count() == 1
    assert first["Location"] == second["Location"]
    client.post("/cases/new/", intake_data(world, idempotency_key="key-0002"))
    assert Case.objects.filter(description__startswith="下穿通道积水").count() == 2


def test_unit_outside_scope_is_refused(
    world: World, catalog: dict[str, Category], client_for: Callable[[str], Client]
) -> None:
    response = client_for("comm_a").post("/cases/new/", intake_data(world, org_unit=str(world.grid_b.pk)))
    assert response.status_code == 200
    assert "下穿通道积水很深" in response.content.decode()
    assert not Case.objects.filter(description__startswith="下穿通道积水").exists()


def test_grid_worker_cannot_accept_at_once(
    world: World, catalog: dict[str, Category], client_for: Callable[[str], Client]
) -> None:
    client = client_for("grid_a")
    assert "立即受理" not in client.get("/cases/new/").content.decode()
    client.post("/cases/new/", intake_data(world, accept="on"))
    case = Case.objects.get(description__startswith="下穿通道积水")
    assert case.status == Status.REGISTERED  # the accept box is not theirs; ignored


def test_accusation_needs_the_accused(
    world: World, catalog: dict[str, Category], client_for: Callable[[str], Client]
) -> None:
    client = client_for("dept_xinfang")
    data = intake_data(
        world,
        category="petition-conduct",
        channel="visit",
        description="社区工作人员办事推诿，多次来访无人答复",
        petition_type="accusation",
    )
    for key in ("extra_depth_cm", "extra_passable"):
        data.pop(key)
    response = client.post("/cases/new/", data)
    assert "检举控告类信访件须注明被检举控告的单位或科室。" in response.content.decode()
    data["accused_unit"] = str(world.community_a.pk)
    response = client.post("/cases/new/", data)
    case = Case.objects.get(description__startswith="社区工作人员办事推诿")
    assert case.accused_unit == world.community_a and case.confidential
    assert case.leader_in_charge == world["leader"]  # the leader whose 联系点 is community A


@pytest.mark.parametrize("persona", ["volunteer", "auditor"])
def test_readers_without_create_are_refused(
    world: World, catalog: dict[str, Category], client_for: Callable[[str], Client], persona: str
) -> None:
    client = client_for(persona)
    assert client.get("/cases/new/").status_code == 403
    assert client.post("/cases/new/", intake_data(world)).status_code == 403
    assert client.get("/cases/report/").status_code == 403
    assert not Case.objects.filter(description__startswith="下穿通道积水").exists()
