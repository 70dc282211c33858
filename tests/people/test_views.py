"""People pages: every list, detail, form and export is scoped (an out-of-scope persona sees nothing);
personal data is masked on every page and export unless revealed, and every reveal is logged."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from jiedao.audit.models import AuditEvent
from jiedao.people import services
from jiedao.people.models import Compound, Household, Organisation, Resident
from tests.people.helpers import dwelling, id_number, resident
from tests.world import World

pytestmark = pytest.mark.django_db

NUMBER = id_number(date(1950, 6, 1), 17)
PHONE = "13812345678"


@pytest.fixture
def people(world: World) -> dict[str, object]:
    home = dwelling(world["comm_a"], world.grid_a)
    household = services.create(world["comm_a"], Household, {"dwelling": home, "number": "H-001"})
    zhang = resident(
        world["comm_a"],
        world.grid_a,
        "张三",
        id_number=NUMBER,
        phone=PHONE,
        household=household,
        relation="head",
        dwelling=home,
    )
    other = resident(world["comm_b"], world.grid_b, "李四", id_number=id_number(date(1990, 1, 1)))
    org = services.create(
        world["comm_a"],
        Organisation,
        {"org_unit": world.grid_a, "name": "陇海社区卫生服务站", "kind": "institution"},
    )
    return {"zhang": zhang, "other": other, "household": household, "home": home, "org": org}


def _xlsx_rows(response: Any) -> list[tuple[object, ...]]:
    content = b"".join(response.streaming_content)
    sheet = load_workbook(io.BytesIO(content), read_only=True).active
    return [tuple(r) for r in sheet.iter_rows(values_only=True)]


def test_resident_list_is_scoped_and_masked(people: dict, client_for: Callable[[str], Client]) -> None:
    url = reverse("people:resident_list")
    page = client_for("grid_a").get(url).content.decode()
    assert "张三" in page and "李四" not in page
    assert NUMBER not in page and PHONE not in page and "138****5678" in page
    assert "李四" in client_for("comm_b").get(url).content.decode()
    assert "张三" not in client_for("comm_b").get(url).content.decode()
    leader = client_for("leader").get(url).content.decode()
    assert "张三" in leader and "李四" in leader and NUMBER not in leader
    assert client_for("other_leader").get(url).status_code == 200
    assert "张三" not in client_for("other_leader").get(url).content.decode()
    assert client_for("volunteer").get(url).status_code == 403
    assert Client().get(url).status_code == 302


def test_filters_search_by_name_pinyin_and_exact_id(
    people: dict, client_for: Callable[[str], Client]
) -> None:
    client = client_for("comm_a")
    url = reverse("people:resident_list")
    for q in ("张三", "zhangsan", "zs", NUMBER, PHONE):
        assert "张三" in client.get(url, {"q": q}).content.decode(), q
    assert "张三" not in client.get(url, {"q": "wangwu"}).content.decode()
    assert "张三" in client.get(url, {"tag": "elderly_65"}).content.decode()
    assert "张三" not in client.get(url, {"age_max": "40"}).content.decode()


def test_detail_pages_are_scoped(people: dict, client_for: Callable[[str], Client]) -> None:
    zhang = people["zhang"]
    for key, obj in (
        ("resident", zhang),
        ("household", people["household"]),
        ("dwelling", people["home"]),
        ("building", people["home"].building),
        ("compound", people["home"].building.compound),
        ("organisation", people["org"]),
    ):
        url = reverse(f"people:{key}_detail", args=[obj.pk])
        assert client_for("grid_a").get(url).status_code == 200, key
        assert client_for("comm_b").get(url).status_code == 404, key
        assert client_for("other_leader").get(url).status_code == 404, key
    page = client_for("leader").get(reverse("people:resident_detail", args=[zhang.pk])).content.decode()
    assert (
        NUMBER not in page and 'data-testid="reveal-id_number"' not in page
    )  # leaders see the roster masked


def test_reveal_shows_the_value_once_and_logs_it(people: dict, client_for: Callable[[str], Client]) -> None:
    zhang = people["zhang"]
    page = client_for("grid_a").get(reverse("people:resident_detail", args=[zhang.pk])).content.decode()
    assert NUMBER not in page and 'data-testid="reveal-id_number"' in page
    url = reverse("people:resident_reveal", args=[zhang.pk, "id_number"])
    response = client_for("grid_a").post(url)
    assert response.status_code == 200 and NUMBER in response.content.decode()
    assert AuditEvent.objects.filter(kind="people.reveal", object_id=str(zhang.pk)).count() == 1
    assert client_for("leader").post(url).status_code == 403
    assert client_for("comm_b").post(url).status_code == 404
    assert client_for("grid_a").get(url).status_code == 405
    assert AuditEvent.objects.filter(kind="people.reveal", object_id=str(zhang.pk)).count() == 1


def test_export_is_masked_unless_revealed_and_logged(
    people: dict, client_for: Callable[[str], Client]
) -> None:
    url = reverse("people:resident_export")
    rows = _xlsx_rows(client_for("comm_a").get(url))
    flat = str(rows)
    assert "张三" in flat and "李四" not in flat and NUMBER not in flat and PHONE not in flat
    revealed = _xlsx_rows(client_for("comm_a").get(url, {"reveal": "1"}))
    assert NUMBER in str(revealed) and PHONE in str(revealed)
    events = AuditEvent.objects.filter(kind="people.export").order_by("seq")
    assert [e.data["revealed"] for e in events] == [False, True]
    assert client_for("leader").get(url, {"reveal": "1"}).status_code == 403
    assert NUMBER not in str(_xlsx_rows(client_for("leader").get(url)))
    assert "张三" not in str(_xlsx_rows(client_for("other_leader").get(url)))
    filtered = _xlsx_rows(client_for("comm_a").get(url, {"q": "wangwu"}))
    assert len(filtered) == 1  # the header only: the page's filters apply


def test_every_list_and_export_renders(people: dict, client_for: Callable[[str], Client]) -> None:
    for key in ("resident", "household", "compound", "building", "dwelling", "organisation", "care"):
        assert client_for("comm_a").get(reverse(f"people:{key}_list")).status_code == 200, key
        rows = _xlsx_rows(client_for("comm_a").get(reverse(f"people:{key}_export")))
        assert rows, key
        assert "陇海" not in str(_xlsx_rows(client_for("other_leader").get(reverse(f"people:{key}_export"))))


def test_create_and_edit_through_the_forms(world: World, client_for: Callable[[str], Client]) -> None:
    client = client_for("grid_a")
    url = reverse("people:compound_create")
    response = client.post(url, {"org_unit": world.grid_a.pk, "name": "金海花园", "kind": "commercial"})
    compound = Compound.objects.get(name="金海花园")
    assert response.status_code == 302 and compound.org_unit == world.grid_a
    # a unit outside the user's scope is not offered
    response = client.post(url, {"org_unit": world.grid_b.pk, "name": "越界小区", "kind": "other"})
    assert response.status_code == 400 and not Compound.objects.filter(name="越界小区").exists()
    url = reverse("people:resident_create")
    response = client.post(
        url, {"org_unit": world.grid_a.pk, "name": "赵六", "id_number": "410104195001011234"}
    )
    assert response.status_code == 400 and "身份证号" in response.content.decode()
    response = client.post(
        url,
        {"org_unit": world.grid_a.pk, "name": "赵六", "id_number": NUMBER, "residence_type": "registered"},
    )
    zhao = Resident.objects.get(name="赵六")
    assert response.status_code == 302 and zhao.id_mask.startswith("410104")
    edit = reverse("people:resident_edit", args=[zhao.pk])
    form = client.get(edit).content.decode()
    assert NUMBER not in form
    data = {
        "org_unit": world.grid_a.pk,
        "name": "赵六",
        "residence_type": "habitual",
        "version": zhao.version,
    }
    assert client.post(edit, data).status_code == 302
    zhao.refresh_from_db()
    assert zhao.residence_type == "habitual" and zhao.id_mask  # the empty box left the ID number as it was
    stale = client.post(edit, {**data, "note": "旧版本"})
    assert stale.status_code == 400 and "已被他人修改" in stale.content.decode()
    assert client_for("comm_b").get(edit).status_code == 404
    assert client_for("leader").get(url).status_code == 403


def test_tags_move_out_and_care_pages(
    people: dict, world: World, client_for: Callable[[str], Client]
) -> None:
    zhang = people["zhang"]
    client = client_for("comm_a")
    client.post(reverse("people:resident_tag", args=[zhang.pk]), {"tag": tag_id("empty_nest")})
    page = client.get(reverse("people:resident_detail", args=[zhang.pk])).content.decode()
    assert "空巢老人" in page and "65岁以上老人" in page
    response = client.post(
        reverse("people:care_add", args=[zhang.pk]),
        {"reason": "空巢老人", "visit_every_days": "30", "since": "2026-01-01", "worker": world["grid_a"].pk},
    )
    assert response.status_code == 302
    care_url = response["Location"]
    assert "care-overdue" in client.get(care_url).content.decode()
    care_pk = int(care_url.rstrip("/").rsplit("/", 1)[1])
    response = client_for("grid_a").post(
        reverse("people:care_visit", args=[care_pk]), {"visited_on": "2026-11-20", "summary": "身体硬朗"}
    )
    assert response.status_code == 302
    page = client_for("grid_a").get(care_url).content.decode()
    assert "身体硬朗" in page and "care-overdue" not in page
    assert client_for("grid_b").get(care_url).status_code == 404
    assert client_for("grid_b").post(reverse("people:care_visit", args=[care_pk]), {}).status_code == 404
    response = client.post(
        reverse("people:resident_move_out", args=[zhang.pk]),
        {"version": Resident.objects.get(pk=zhang.pk).version, "moved_out": "2026-11-01"},
    )
    assert Resident.objects.get(pk=zhang.pk).moved_out == date(2026, 11, 1)


def tag_id(code: str) -> int:
    from jiedao.people.models import Tag

    return Tag.objects.get(code=code).pk
