"""Scope (a grid worker never sees another grid's points in lists, map data, API or the board) and the pages
as people use them: the check form, the board, the summary, import and export."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from django.test import Client
from openpyxl import Workbook, load_workbook
from rest_framework.authtoken.models import Token

from jiedao.patrol import services
from jiedao.patrol.models import CheckStatus, EventCheck, EventLevel, HazardKind, HazardPoint
from tests.patrol.helpers import Points, png
from tests.world import World

pytestmark = pytest.mark.django_db
ClientFor = Callable[[str], Client]


def test_grid_worker_sees_only_their_grid(world: World, points: Points, client_for: ClientFor) -> None:
    client = client_for("grid_b")
    page = client.get("/patrol/points/").content.decode()
    assert "测试陇海路涵洞" in page and "测试陇海路积水点" not in page and "测试南仓街危房" not in page
    data = client.get("/patrol/map/data.json").json()
    assert {p["name"] for p in data["points"]} == {"测试陇海路涵洞"}  # the retired billboard is off the map
    assert {f["properties"]["code"] for f in data["boundaries"]["features"]} <= {world.grid_b.code}
    assert client.get(f"/patrol/points/{points.a1.pk}/").status_code == 404
    assert client.get(f"/patrol/map/data.json?unit={world.community_a.code}").status_code == 404
    token, _ = Token.objects.get_or_create(user=world["grid_b"])
    api = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    names = {r["name"] for r in api.get("/api/v1/hazard-points/").json()["results"]}
    assert names == {"测试陇海路涵洞", "测试已拆广告牌"}
    assert api.get(f"/api/v1/hazard-points/{points.a1.pk}/").status_code == 404


def test_community_and_leader_scope(world: World, points: Points, client_for: ClientFor) -> None:
    data = client_for("comm_a").get(f"/patrol/map/data.json?unit={world.community_a.code}").json()
    assert {p["name"] for p in data["points"]} == {"测试陇海路积水点", "测试新郑里危树", "测试南仓街危房"}
    leader = client_for("leader").get("/patrol/map/data.json?kind=waterlog&risk=high").json()
    assert {p["name"] for p in leader["points"]} == {"测试陇海路积水点"}
    other = client_for("other_leader").get("/patrol/points/").content.decode()
    assert "测试二里岗积水点" in other and "测试陇海路积水点" not in other


def test_event_seen_by_affected_grid_workers_only(
    world: World, points: Points, client_for: ClientFor
) -> None:
    event = services.declare_event(
        world["leader"],
        kind="暴雨红色预警",
        level=EventLevel.RED,
        areas=[world.community_a],
        point_kinds=list(HazardKind.objects.all()),
    )
    assert client_for("grid_a").get(f"/patrol/events/{event.pk}/").status_code == 200
    assert client_for("grid_b").get(f"/patrol/events/{event.pk}/").status_code == 404
    assert client_for("other_leader").get(f"/patrol/events/{event.pk}/").status_code == 404
    board = client_for("grid_a").get(f"/patrol/events/{event.pk}/board/").content.decode()
    assert "陇一社区第1网格" in board and "陇一社区第2网格" not in board
    mine = client_for("grid_a").get(f"/patrol/events/{event.pk}/mine/").content.decode()
    assert "测试陇海路积水点" in mine and "测试南仓街危房" not in mine
    token, _ = Token.objects.get_or_create(user=world["grid_a"])
    api = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    checks = api.get(f"/api/v1/emergency-events/{event.pk}/checks/").json()
    assert {c["point_name"] for c in checks} == {"测试陇海路积水点", "测试新郑里危树"}
    figures = Client(
        HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=world['leader'])[0].key}"
    ).get(f"/api/v1/emergency-events/{event.pk}/figures/")
    assert figures.json()["total"] == 3


def test_check_page_and_conflict_message(world: World, points: Points, client_for: ClientFor) -> None:
    event = services.declare_event(
        world["leader"],
        kind="暴雨红色预警",
        level=EventLevel.RED,
        areas=[world.grid_a],
        point_kinds=list(HazardKind.objects.all()),
    )
    check = EventCheck.objects.get(event=event, point=points.a2)
    url = f"/patrol/events/{event.pk}/checks/{check.pk}/"
    worker = client_for("grid_a")
    assert worker.get(url).status_code == 200
    response = worker.post(url, {"status": "hazard", "note": "树干开裂", "photo": png()})
    assert response.status_code == 302
    check.refresh_from_db()
    assert check.status == CheckStatus.HAZARD and check.case is not None and check.photo
    assert worker.get(f"/patrol/photos/check/{check.pk}/").status_code == 200
    assert client_for("grid_b").get(f"/patrol/photos/check/{check.pk}/").status_code == 404
    night = Client()
    night.force_login(points.night)
    late = night.post(url, {"status": "ok"}, follow=True).content.decode()
    assert "已由" in late
    bad = worker.post(
        f"/patrol/events/{event.pk}/checks/{EventCheck.objects.get(event=event, point=points.a1).pk}/",
        {"status": "hazard", "note": "积水", "photo": io.BytesIO(b"not an image")},
    )
    assert bad.status_code == 200 and "积水" in bad.content.decode()  # what was typed is kept


def test_declare_close_and_summary_pages(world: World, points: Points, client_for: ClientFor) -> None:
    leader = client_for("leader")
    assert leader.get("/patrol/events/new/").status_code == 200
    kinds = [str(k.pk) for k in HazardKind.objects.all()]
    response = leader.post(
        "/patrol/events/new/",
        {
            "kind": "暴雨红色预警",
            "level": "red",
            "areas": [str(world.community_a.pk)],
            "point_kinds": kinds,
            "idempotency_key": "abc",
        },
    )
    assert response.status_code == 302
    event_url = response["Location"]
    assert (
        leader.post(
            "/patrol/events/new/",
            {
                "kind": "暴雨红色预警",
                "level": "red",
                "areas": [str(world.community_a.pk)],
                "point_kinds": kinds,
                "idempotency_key": "abc",
            },
        )["Location"]
        == event_url
    )
    event_id = int(event_url.rstrip("/").split("/")[-1])
    assert EventCheck.objects.filter(event_id=event_id).count() == 3
    page = leader.get(event_url).content.decode()
    assert "0 / 3" in page
    assert client_for("grid_a").post(f"/patrol/events/{event_id}/close/", {}).status_code == 403
    closed = leader.post(f"/patrol/events/{event_id}/close/", {"summary_note": "平稳"}, follow=True)
    assert "应急事件总结" in closed.content.decode()
    export = leader.get(f"/patrol/events/{event_id}/summary.xlsx")
    book = load_workbook(io.BytesIO(b"".join(export.streaming_content)))  # type: ignore[attr-defined]
    values = [row for row in book.active.iter_rows(values_only=True)]
    assert ("排查点位", 3) in [v[:2] for v in values] and ("已排查", 0) in [v[:2] for v in values]


def test_import_all_or_nothing_and_export(world: World, points: Points, client_for: ClientFor) -> None:
    def sheet(rows: list[list[object]]) -> io.BytesIO:
        book = Workbook()
        ws = book.active
        ws.append(["隐患点台账"])
        ws.append(services.IMPORT_HEADER)
        for row in rows:
            ws.append(row)
        out = io.BytesIO()
        book.save(out)
        out.seek(0)
        out.name = "points.xlsx"
        return out

    comm = client_for("comm_a")
    bad = comm.post(
        "/patrol/points/import/",
        {
            "file": sheet(
                [
                    ["新积水点", "积水点", world.grid_a.code, "路口", 113.68, 34.73, "高风险", "", ""],
                    ["", "不存在的类型", world.grid_b.code, "", "abc", 34.7, "极高", "", ""],
                ]
            )
        },
    ).content.decode()
    assert "类型“不存在的类型”不存在" in bad and "风险等级“极高”无效" in bad and "缺少点位名称" in bad
    assert "网格“410104004002001”不存在或不在您的管辖范围内" in bad
    assert not HazardPoint.objects.filter(name="新积水点").exists()
    ok = comm.post(
        "/patrol/points/import/",
        {
            "file": sheet(
                [
                    ["新积水点", "积水点", world.grid_a.code, "路口", 113.68, 34.73, "高风险", "grid_a", ""],
                    ["新危树", "tree", world.grid_a2.name, "", "", "", "", "", "备注"],
                ]
            )
        },
    )
    assert ok.status_code == 302
    assert HazardPoint.objects.get(name="新积水点").responsible == world["grid_a"]
    export = comm.get("/patrol/points/export.xlsx?kind=waterlog")
    book = load_workbook(io.BytesIO(b"".join(export.streaming_content)))  # type: ignore[attr-defined]
    names = [r[0] for r in book.active.iter_rows(min_row=2, values_only=True)]
    assert set(names) == {"新积水点", "测试陇海路积水点"}


def test_point_form(world: World, points: Points, client_for: ClientFor) -> None:
    comm = client_for("comm_a")
    response = comm.post(
        "/patrol/points/new/",
        {
            "org_unit": world.grid_a.pk,
            "kind": HazardKind.objects.get(code="collapse").pk,
            "name": "新塌陷点",
            "risk": "high",
            "latitude": 34.73,
            "longitude": 113.68,
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    point = HazardPoint.objects.get(name="新塌陷点")
    edit = comm.post(
        f"/patrol/points/{point.pk}/edit/",
        {
            "org_unit": world.grid_a.pk,
            "kind": point.kind_id,
            "name": "新塌陷点",
            "risk": "low",
            "version": 0,
        },
    )
    assert "已被他人修改" in edit.content.decode()
    assert client_for("comm_b").get(f"/patrol/points/{point.pk}/edit/").status_code == 404
