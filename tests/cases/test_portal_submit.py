"""The residents' portal: submitting a request without an account."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from jiedao.cases.models import Attachment, Case, Category, Channel
from tests.world import World

pytestmark = pytest.mark.django_db

TEXT = "小区门口路灯连续三晚不亮，晚上很黑"


@pytest.fixture(autouse=True)
def _isolated(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    cache.clear()


def _form(world: World, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "李阿姨",
        "phone": "13912345678",
        "category": "infra-light",
        "description": TEXT,
        "subdistrict": world.subdistrict.code,
        "community": world.community_a.code,
        "grid": world.grid_a.code,
        "address": "陇海东路 18 号院",
        "longitude": "113.68",
        "latitude": "34.74",
        "key": str(uuid.uuid4()),
        "website": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    return SimpleUploadedFile("light.png", buffer.getvalue(), content_type="image/png")


def test_form_offers_public_leaf_categories_and_units(world: World, catalog: dict[str, Category]) -> None:
    response = Client().get(reverse("portal:submit"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="infra-light"' in html
    assert 'value="petition-land"' not in html  # not a public category
    assert 'value="infra"' not in html  # not a leaf
    assert f'value="{world.subdistrict.code}"' in html and f'value="{world.other_subdistrict.code}"' in html
    # Communities come with the chosen sub-district (tests/cases/test_portal_places.py).
    assert f'value="{world.community_a.code}"' not in html
    assert re.search(r'name="key" value="[0-9a-f-]{36}"', html)
    assert "staff" not in html and world["comm_a"].full_name not in html


def test_happy_path_creates_one_online_case(world: World, catalog: dict[str, Category]) -> None:
    client = Client(REMOTE_ADDR="10.1.1.1")
    data = _form(world)
    data["photos"] = [_png()]
    response = client.post(reverse("portal:submit"), data)
    assert response.status_code == 302
    case = Case.objects.get(description=TEXT)
    assert response["Location"] == reverse("portal:submitted", kwargs={"number": case.number})
    assert case.channel == Channel.ONLINE
    assert case.org_unit == world.grid_a
    assert case.requester_phone == "13912345678" and case.phone_last4 == "5678"
    assert case.submit_ip == "10.1.1.1"
    assert (case.longitude, case.latitude) == (113.68, 34.74)
    assert Attachment.objects.filter(case=case, kind="photo").count() == 1
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert case.number in page.content.decode()
    assert "后四位" in page.content.decode()


def test_submitted_page_only_for_the_submitting_session(world: World, catalog: dict[str, Category]) -> None:
    client = Client()
    response = client.post(reverse("portal:submit"), _form(world))
    number = Case.objects.get(description=TEXT).number
    other = Client()
    assert other.get(response["Location"]).status_code == 404
    assert other.get(reverse("portal:submitted", kwargs={"number": number})).status_code == 404
    staff = Client()
    staff.force_login(world["grid_b"])
    assert staff.get(response["Location"]).status_code == 404


def test_missing_phone_is_refused_and_input_kept(world: World, catalog: dict[str, Category]) -> None:
    response = Client().post(reverse("portal:submit"), _form(world, phone=""))
    assert response.status_code == 400
    html = response.content.decode()
    assert "请留下联系电话" in html
    assert TEXT in html and "陇海东路 18 号院" in html
    assert not Case.objects.filter(description=TEXT).exists()


@pytest.mark.parametrize("phone", ["1391234567", "23912345678", "12345", "0371-123"])
def test_bad_phone_is_refused(world: World, catalog: dict[str, Category], phone: str) -> None:
    response = Client().post(reverse("portal:submit"), _form(world, phone=phone))
    assert response.status_code == 400
    assert "电话号码格式不对" in response.content.decode()
    assert not Case.objects.filter(description=TEXT).exists()


@pytest.mark.parametrize("phone", ["0371-66661234", "037166661234", "139 1234 5678", "+8613912345678"])
def test_landline_and_spaced_mobile_accepted(world: World, catalog: dict[str, Category], phone: str) -> None:
    response = Client().post(reverse("portal:submit"), _form(world, phone=phone))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Case.objects.get(description=TEXT).phone_last4 in ("1234", "5678")


def test_anonymous_needs_no_phone_and_keeps_none(world: World, catalog: dict[str, Category]) -> None:
    client = Client()
    response = client.post(reverse("portal:submit"), _form(world, phone="", anonymous="on"))
    assert response.status_code == 302
    case = Case.objects.get(description=TEXT)
    assert case.anonymous and case.requester_phone == "" and case.requester_name == ""
    page = client.get(response["Location"]).content.decode()
    assert case.number in page and "无法在本网站查询进度" in page
    assert reverse("portal:case", kwargs={"number": case.number}) not in page


def test_non_image_photo_refused_with_text_kept(world: World, catalog: dict[str, Category]) -> None:
    data = _form(world)
    data["photos"] = [SimpleUploadedFile("virus.jpg", b"MZ not really a picture", content_type="image/jpeg")]
    response = Client().post(reverse("portal:submit"), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "virus.jpg" in html and "不是可识别的图片" in html
    assert TEXT in html and "李阿姨" in html and "13912345678" in html
    assert not Case.objects.filter(description=TEXT).exists()


def test_same_key_twice_makes_one_case(world: World, catalog: dict[str, Category]) -> None:
    client = Client()
    data = _form(world)
    first = client.post(reverse("portal:submit"), data)
    second = client.post(reverse("portal:submit"), data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Case.objects.filter(description=TEXT).count() == 1


def test_honeypot_makes_no_case(world: World, catalog: dict[str, Category]) -> None:
    response = Client().post(reverse("portal:submit"), _form(world, website="http://spam.example"))
    assert response.status_code == 400
    assert not Case.objects.filter(description=TEXT).exists()


def test_rate_limit_per_phone(world: World, catalog: dict[str, Category], settings: Any) -> None:
    settings.PORTAL_RATE_PER_PHONE = 2
    for i in range(2):
        ok = Client(REMOTE_ADDR=f"10.0.0.{i + 1}").post(
            reverse("portal:submit"), _form(world, description=f"{TEXT} 第{i}次")
        )
        assert ok.status_code == 302
    response = Client(REMOTE_ADDR="10.0.0.9").post(reverse("portal:submit"), _form(world))
    assert response.status_code == 429
    html = response.content.decode()
    assert "这个电话号码在一小时内提交的诉求已达上限" in html
    assert TEXT in html  # the typed text is kept
    assert not Case.objects.filter(description=TEXT).exists()
    other_phone = Client(REMOTE_ADDR="10.0.0.9").post(
        reverse("portal:submit"), _form(world, phone="13700001234")
    )
    assert other_phone.status_code == 302


def test_rate_limit_per_ip(world: World, catalog: dict[str, Category], settings: Any) -> None:
    settings.PORTAL_RATE_PER_IP = 2
    client = Client(REMOTE_ADDR="10.2.2.2")
    for i in range(2):
        ok = client.post(
            reverse("portal:submit"), _form(world, phone=f"1390000000{i}", description=f"{TEXT}{i}")
        )
        assert ok.status_code == 302
    response = client.post(reverse("portal:submit"), _form(world, phone="13900000009"))
    assert response.status_code == 429
    assert "您所在网络一小时内提交的诉求已达上限" in response.content.decode()
    assert Client(REMOTE_ADDR="10.3.3.3").post(reverse("portal:submit"), _form(world)).status_code == 302


def test_required_extra_field_of_category(world: World, catalog: dict[str, Category]) -> None:
    response = Client().post(reverse("portal:submit"), _form(world, category="infra-water"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "积水深度" in html and 'name="extra_depth_cm"' in html
    ok = Client().post(
        reverse("portal:submit"),
        _form(world, category="infra-water", extra_depth_cm="30", extra_passable="no"),
    )
    assert ok.status_code == 302
    assert Case.objects.get(description=TEXT).extra == {"depth_cm": 30.0, "passable": "no"}


def test_category_fields_fragment(world: World, catalog: dict[str, Category]) -> None:
    html = Client().get(reverse("portal:category_fields"), {"category": "infra-water"}).content.decode()
    assert 'name="extra_passable"' in html and "不可通行" in html
    assert (
        Client().get(reverse("portal:category_fields"), {"category": "petition-land"}).content.strip() == b""
    )


def test_grid_outside_community_refused(world: World, catalog: dict[str, Category]) -> None:
    response = Client().post(reverse("portal:submit"), _form(world, grid=world.grid_b.code))
    assert response.status_code == 400
    assert "所选网格不属于所选社区/村" in response.content.decode()


def test_community_without_grid_files_at_community(
    world: World, catalog: dict[str, Category], client_for: Callable[[str], Client]
) -> None:
    response = Client().post(reverse("portal:submit"), _form(world, grid=""))
    assert response.status_code == 302
    assert Case.objects.get(description=TEXT).org_unit == world.community_a
