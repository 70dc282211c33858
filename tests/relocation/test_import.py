"""Importing the household list: header found among title rows, every row checked, all or nothing, per-row
errors listed, check-only, the template."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from jiedao.relocation import importer
from jiedao.relocation.models import ExpropriationHousehold
from tests.relocation.helpers import Setup
from tests.world import World

pytestmark = pytest.mark.django_db

HEADER = ["户号", "产权人", "联系电话", "房屋坐落", "面积（平方米）", "评估金额", "工作组", "包户人"]


def sheet(rows: list[list[Any]], title_rows: int = 1) -> io.BytesIO:
    book = Workbook()
    ws = book.active
    assert ws is not None
    for _ in range(title_rows):
        ws.append(["陇海村被征收户摸底清单（2025年6月）"])
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return out


GOOD: list[list[Any]] = [
    ["C-1", "张三", "13800001111", "东街1号", 88.5, 700000, "一组", "网格员 赵强"],
    ["C-2", "李四", "", "东街2号", "120", "", "二组", "dept_xinfang"],
    ["C-3", "王五", "0371-66881234", "东街3号", None, None, "", ""],
]


def test_good_file_imports_every_row(world: World, setup: Setup) -> None:
    result = importer.run(world["leader"], setup.project, sheet(GOOD), "list.xlsx", commit=True)
    assert result.ok and result.committed and result.created == 3
    c1 = ExpropriationHousehold.objects.get(project=setup.project, number="C-1")
    assert c1.phone_mask == "138****1111" and "13800001111" not in c1.phone_token
    assert c1.team == setup.team1 and c1.staff == world["grid_a"] and c1.missing_documents == 2
    assert ExpropriationHousehold.objects.get(number="C-2").staff == world["dept_xinfang"]
    assert c1.history.count() == 1


def test_one_bad_row_imports_nothing_and_lists_every_error(world: World, setup: Setup) -> None:
    rows: list[list[Any]] = [
        *GOOD,
        ["C-1", "重复", "", "", "", "", "", ""],  # duplicate number in the file
        ["A-1", "已有", "", "", "", "", "", ""],  # number already in the project
        ["C-6", "", "1234", "", "abc", "-5", "九组", "不存在的人"],
        ["C-7", "赵六", "", "", "", "", "二组", "网格员 赵强"],  # not a member of 二组
    ]
    result = importer.run(world["leader"], setup.project, sheet(rows, title_rows=2), "list.xlsx", commit=True)
    assert not result.committed and result.rows == 7
    errors = {e.row: " ".join(e.messages) for e in result.errors}
    assert set(errors) == {7, 8, 9, 10}  # two title rows, the header on row 3, data from row 4
    assert "与第 4 行重复" in errors[7]
    assert "本项目已有" in errors[8]
    for text in ("产权人为空", "电话号码", "面积", "评估金额", "九组", "不存在的人"):
        assert text in errors[9], text
    assert "不是“二组”的成员" in errors[10]
    assert not ExpropriationHousehold.objects.filter(number__startswith="C-").exists()


def test_check_only_writes_nothing(world: World, setup: Setup) -> None:
    result = importer.run(world["leader"], setup.project, sheet(GOOD), "list.xlsx", commit=False)
    assert result.ok and not result.committed
    assert not ExpropriationHousehold.objects.filter(number__startswith="C-").exists()


def test_file_without_header_is_refused(world: World, setup: Setup) -> None:
    result = importer.run(world["leader"], setup.project, io.BytesIO(b"not a sheet"), "x.xlsx", commit=True)
    assert result.file_error
    bad = Workbook()
    ws = bad.active
    assert ws is not None
    ws.append(["甲", "乙", "丙"])
    out = io.BytesIO()
    bad.save(out)
    out.seek(0)
    assert "户号" in importer.run(world["leader"], setup.project, out, "x.xlsx", commit=True).file_error


def test_import_page_shows_row_errors_and_the_template_round_trips(
    world: World, setup: Setup, client_for
) -> None:
    client: Client = client_for("leader")
    url = reverse("relocation:import", kwargs={"pk": setup.project.pk})
    upload = SimpleUploadedFile("bad.xlsx", sheet([["A-1", "重复户", "", "", "", "", "", ""]]).getvalue())
    page = client.post(url, {"file": upload}).content.decode()
    assert 'data-testid="import-error"' in page and "本项目已有" in page
    template = client.get(reverse("relocation:import_template", kwargs={"pk": setup.project.pk})).content
    upload = SimpleUploadedFile("template.xlsx", template)
    response = client.post(url, {"file": upload})
    assert response.status_code == 302
    assert ExpropriationHousehold.objects.filter(
        project=setup.project, number="ZB-001", owner_name="王建国"
    ).exists()


def test_only_managers_import(world: World, setup: Setup) -> None:
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        importer.run(world["comm_a"], setup.project, sheet(GOOD), "list.xlsx", commit=True)
