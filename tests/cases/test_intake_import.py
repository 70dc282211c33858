"""Import of 12345 transfer orders: template, dry run with every row's errors, all-or-nothing commit."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from jiedao.audit.models import AuditEvent
from jiedao.cases import importer, services
from jiedao.cases.models import Case, Category, Channel, Status
from jiedao.core.sheets import find_header
from tests.world import World

pytestmark = pytest.mark.django_db

HEADER = [
    "转办编号",
    "来电时间",
    "诉求人",
    "联系电话",
    "诉求类别",
    "所在社区/网格",
    "详细地址",
    "诉求内容",
    "紧急程度",
]


def xlsx(rows: list[list[Any]], title: str | None = "2026年1月12345转办工单") -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    if title:
        sheet.append([title])
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def good_rows() -> list[list[Any]]:
    return [
        [
            "Z001",
            datetime(2026, 1, 5, 9, 30),
            "王先生",
            "13800000001",
            "占道经营",
            "陇海东路第一社区",
            "陇海东路 1 号",
            "门口流动摊贩占道经营，影响通行",
            "一般",
        ],
        ["Z002", 46023.5, "", 13800000002, "垃圾清运", "陇一社区第1网格", "", "小区垃圾三天无人清运", "紧急"],
        [
            "Z003",
            "2026/01/07 08:00",
            "李女士",
            "0371-66668888",
            "路灯损坏",
            "410104004001002",
            "二号路",
            "路灯连续一周不亮，夜间出行不便",
            "",
        ],
    ]


def upload(client: Client, content: bytes, name: str = "orders.xlsx") -> Any:
    return client.post("/cases/import/", {"file": SimpleUploadedFile(name, content)})


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_import_happy_path(
    world: World, catalog: dict[str, Category], client_for: Callable[[str], Client]
) -> None:
    client = client_for("dept_xinfang")
    preview = upload(client, xlsx(good_rows()))
    assert preview.status_code == 200
    html = preview.content.decode()
    assert 'data-testid="count-total">3<' in html and 'data-testid="count-errors">0<' in html
    assert 'data-testid="import-commit"' in html
    assert Case.objects.filter(channel=Channel.HOTLINE).count() == 0  # a dry run writes nothing
    token = preview.context["token"]
    done = client.post("/cases/import/", {"action": "commit", "token": token})
    assert done.status_code == 302
    cases = {c.extra["hotline_number"]: c for c in Case.objects.filter(channel=Channel.HOTLINE)}
    assert sorted(cases) == ["Z001", "Z002", "Z003"]
    assert all(c.status == Status.ACCEPTED for c in cases.values())
    assert cases["Z001"].org_unit == world.community_a and cases["Z001"].requester_name == "王先生"
    assert cases["Z002"].org_unit == world.grid_a and cases["Z002"].requester_phone == "13800000002"
    assert cases["Z002"].priority == "urgent" and cases["Z003"].org_unit == world.grid_a2
    local = timezone.localtime(cases["Z002"].received_at)
    assert (local.year, local.month, local.day, local.hour) == (2026, 1, 1, 12)  # Excel serial 46023.5
    assert timezone.localtime(cases["Z001"].received_at).hour == 9
    event = AuditEvent.objects.get(kind="case.import")
    assert event.data["created"] == 3 and event.actor == world["dept_xinfang"]
    assert not list(Path(importer_dir(client)).glob("*.xlsx"))  # the temp file is gone
    page = client.get("/cases/import/").content.decode()
    assert cases["Z001"].number in page
    # Committing the same upload again (a double click) writes nothing more.
    client.post("/cases/import/", {"action": "commit", "token": token})
    assert Case.objects.filter(channel=Channel.HOTLINE).count() == 3


def importer_dir(client: Client) -> Path:
    from django.conf import settings

    return Path(settings.MEDIA_ROOT) / "imports"


def test_every_row_error_is_listed(
    world: World, catalog: dict[str, Category], client_for: Callable[[str], Client]
) -> None:
    services.import_case_row(
        world["dept_xinfang"],
        category=catalog["city-stall"],
        org_unit=world.grid_a,
        description="先前已经导入的一件转办工单",
        hotline_number="OLD-1",
    )
    rows = [
        [
            "A1",
            "2026-01-05 10:00",
            "甲",
            "13800000001",
            "不存在的类别",
            "陇一社区第1网格",
            "",
            "内容足够长的诉求",
            "",
        ],
        ["A2", "2026-01-05 10:00", "乙", "12345", "占道经营", "中博社区第1网格", "", "内容足够长的诉求", ""],
        ["A3", "2026-01-05 10:00", "丙", "13800000003", "占道经营", "陇一社区第1网格", "", "", ""],
        [
            "A4",
            "2026-01-05 10:00",
            "丁",
            "138-abc",
            "占道经营",
            "陇一社区第1网格",
            "",
            "内容足够长的诉求",
            "",
        ],
        ["A5", "昨天下午", "戊", "", "占道经营", "陇一社区第1网格", "", "内容足够长的诉求", ""],
        ["A5", "2026-01-05 10:00", "己", "", "占道经营", "陇一社区第1网格", "", "内容足够长的诉求", ""],
        ["OLD-1", "2026-01-05 10:00", "庚", "", "占道经营", "陇一社区第1网格", "", "内容足够长的诉求", ""],
        ["A8", "2026-01-05 10:00", "辛", "", "道路积水", "陇一社区第1网格", "", "内容足够长的诉求", "很急"],
    ]
    response = upload(client_for("dept_xinfang"), xlsx(rows))
    errors = [(e.row, e.column, e.message) for e in response.context["checked"].errors]
    assert (3, "诉求类别", "未知的诉求类别“不存在的类别”（按名称或代码匹配）。") in errors
    assert any(r == 4 and c == "所在社区/网格" and "不在您的管辖范围内" in m for r, c, m in errors)
    assert (5, "诉求内容", "缺少诉求内容。") in errors
    assert (6, "联系电话", "电话号码“138-abc”格式不对。") in errors
    assert any(r == 7 and c == "来电时间" and "昨天下午" in m for r, c, m in errors)
    assert (8, "转办编号", "转办编号 A5 与第 7 行重复。") in errors
    assert any(r == 9 and c == "转办编号" and "已导入过" in m for r, c, m in errors)
    assert any(r == 10 and c == "紧急程度" for r, c, m in errors)
    assert any(r == 10 and c == "诉求类别" and "积水深度" in m for r, c, m in errors)  # required extra field
    html = response.content.decode()
    assert 'data-testid="count-errors">8<' in html and 'data-testid="import-commit"' not in html
    assert "未知的诉求类别“不存在的类别”" in html


def test_one_bad_row_writes_nothing(
    world: World, catalog: dict[str, Category], client_for: Callable[[str], Client]
) -> None:
    client = client_for("dept_xinfang")
    rows = good_rows()
    rows[2][4] = "没有这个类别"
    preview = upload(client, xlsx(rows))
    assert preview.context["error_count"] == 1
    response = client.post("/cases/import/", {"action": "commit", "token": preview.context["token"]})
    assert response.status_code == 200 and "未导入任何数据" in response.content.decode()
    assert Case.objects.filter(channel=Channel.HOTLINE).count() == 0


def test_a_refusal_during_commit_rolls_back_every_row(
    world: World, catalog: dict[str, Category], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "orders.xlsx"
    path.write_bytes(xlsx(good_rows()))
    checked = importer.validate(importer.parse_workbook(path), world["dept_xinfang"])
    assert checked.ok
    real = services.import_case_row
    calls = []

    def flaky(actor: Any, **fields: Any) -> Case:
        calls.append(fields["hotline_number"])
        if len(calls) == 3:
            from django.core.exceptions import ValidationError

            raise ValidationError("模拟失败")
        return real(actor, **fields)

    monkeypatch.setattr(services, "import_case_row", flaky)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="第 5 行无法导入"):
        importer.commit(checked, world["dept_xinfang"])
    assert calls == ["Z001", "Z002", "Z003"]
    assert Case.objects.filter(channel=Channel.HOTLINE).count() == 0


def test_header_detection_with_the_transfer_columns() -> None:
    rows = [["某某街道转办单"], [], ["编号", "日期", "内容", "社区", "类别"], ["1", "2", "3", "4", "5"]]
    found = find_header(rows, importer.SYNONYMS)
    assert found is not None and found[0] == 2
    assert found[1] == {"hotline_number": 0, "received_at": 1, "description": 2, "unit": 3, "category": 4}


def test_file_without_header_or_not_xlsx(
    world: World, catalog: dict[str, Category], client_for: Callable[[str], Client]
) -> None:
    client = client_for("dept_xinfang")
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["随便", "什么"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = upload(client, buffer.getvalue())
    assert "没有找到表头行" in response.content.decode()
    response = upload(client, b"not a workbook", name="fake.xlsx")
    assert "无法读取该文件" in response.content.decode()
    response = upload(client, b"a,b", name="orders.csv")
    assert ".xlsx" in response.content.decode()


def test_template_downloads_and_round_trips(
    world: World, catalog: dict[str, Category], client_for: Callable[[str], Client], tmp_path: Path
) -> None:
    client = client_for("dept_xinfang")
    response = client.get("/cases/import/template.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    path = tmp_path / "template.xlsx"
    path.write_bytes(response.content)
    sheet = importer.parse_workbook(path)
    assert sheet.header_row == 2 and sheet.headers == HEADER
    assert importer.validate(sheet, world["dept_xinfang"]).ok  # the example row is a valid row


def test_error_rows_download(
    world: World, catalog: dict[str, Category], client_for: Callable[[str], Client]
) -> None:
    from python_calamine import CalamineWorkbook

    client = client_for("dept_xinfang")
    rows = good_rows()
    rows[1][5] = "没有这个社区"
    upload(client, xlsx(rows))
    response = client.get("/cases/import/errors.xlsx")
    assert response.status_code == 200
    data = CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_index(0).to_python()
    assert data[0][-1] == "错误" and len(data) == 2
    assert data[1][0] == 4 and "没有这个社区" in str(data[1][-1])


@pytest.mark.parametrize("persona", ["grid_b", "comm_a", "volunteer"])
def test_import_needs_the_import_permission(
    world: World, catalog: dict[str, Category], client_for: Callable[[str], Client], persona: str
) -> None:
    client = client_for(persona)
    assert client.get("/cases/import/").status_code == 403
    assert client.get("/cases/import/template.xlsx").status_code == 403
    assert upload(client, xlsx(good_rows())).status_code == 403
    assert Case.objects.filter(channel=Channel.HOTLINE).count() == 0


def test_units_outside_the_importers_scope_are_unknown(
    world: World, catalog: dict[str, Category], client_for: Callable[[str], Client]
) -> None:
    rows = good_rows()
    rows[0][5] = world.other_community.name  # 二里岗街道: outside dept_xinfang's sub-district
    response = upload(client_for("dept_xinfang"), xlsx(rows))
    assert response.context["error_count"] == 1
