"""jiedao.core.sheets on sheets shaped like the ones offices keep: title rows, merged two-row headers,
required-marks and notes in header names, full-width digits, numbers where text was meant, dates written every
way, blank rows, CSV in GB18030."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from django.utils import timezone
from openpyxl import Workbook

from jiedao.core.sheets import (
    SheetFileError,
    body_rows,
    cell_text,
    find_header,
    header_key,
    parse_date,
    parse_datetime,
    read_rows,
    write_rows,
)

SYNONYMS = {
    "name": ["姓名", "名字"],
    "id_number": ["身份证号", "公民身份号码", "证件号码"],
    "phone": ["联系电话", "手机"],
    "birth_date": ["出生日期", "出生年月"],
    "address": ["住址", "现住址", "地址"],
}


def roster(path: Path) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["陇海东路第一社区 居民信息台账（2026年）"])
    sheet.merge_cells("A1:F1")
    sheet.append(["填表人：张三", None, None, None, "日期：2026.11"])
    sheet.append(["序号", "基本信息", None, "联系方式", "出生年月", "现住址"])
    sheet.append([None, "姓名\n（必填）", "公民身份号码*", "手机", None, None])
    sheet.merge_cells("A3:A4")
    sheet.merge_cells("E3:E4")
    sheet.merge_cells("F3:F4")
    sheet.append(
        [1, "王 秀 英", "410104195302121239", "１３８１２３４５６７８", "1953年2月", "东明路 ３ 号院"]
    )
    sheet.append([None, None, None, None, None, None])
    sheet.append([2, "李建国", 4.10104195511031e17, 13912345678, 20397, "陇海东路 12 号"])
    sheet.append([3, "赵敏", "41010419600101002x", "0371-66881234", "1960.01.01", ""])
    path = path / "roster.xlsx"
    workbook.save(path)
    return path


def test_header_found_below_title_rows_and_through_merged_cells(tmp_path: Path) -> None:
    rows = read_rows(roster(tmp_path))
    found = find_header(rows, SYNONYMS)
    assert found is not None
    index, columns = found
    assert index == 3  # the second header row; 出生年月 and 现住址 are merged down from the row above
    assert columns == {"name": 1, "id_number": 2, "phone": 3, "birth_date": 4, "address": 5}
    body = body_rows(rows, index, 6)
    assert [number for number, _cells in body] == [5, 7, 8]  # the blank row 6 is skipped
    first = body[0][1]
    assert cell_text(first[3]) == "13812345678" and cell_text(first[5]) == "东明路 3 号院"
    assert parse_date(first[4]) == date(1953, 2, 1)
    second = body[1][1]
    assert isinstance(second[2], float)  # the ID number Excel turned into a number: the caller says so
    assert cell_text(second[3]) == "13912345678" and parse_date(second[4]) == date(1955, 11, 4)


def test_header_keys() -> None:
    assert header_key(" 姓名\n（必填） ") == "姓名" and header_key("公民身份号码*") == "公民身份号码"
    assert find_header([["a", "b"], ["姓名", "手机"]], SYNONYMS) is None  # fewer than three known columns
    assert find_header([["姓名", "手机"]], SYNONYMS, min_matches=2) == (0, {"name": 0, "phone": 1})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1953年2月", date(1953, 2, 1)),
        ("1953年2月1日", date(1953, 2, 1)),
        ("1953.02", date(1953, 2, 1)),
        ("1953.2.1", date(1953, 2, 1)),
        ("1953/2/1", date(1953, 2, 1)),
        ("1953-02-01", date(1953, 2, 1)),
        ("19530201", date(1953, 2, 1)),
        ("１９５３年２月", date(1953, 2, 1)),
        (19391, date(1953, 2, 1)),
        ("19391", date(1953, 2, 1)),
        ("1953年2月30日", None),
        ("1953", None),  # a year alone is not a date, nor an Excel serial (1905-05-06)
        ("不详", None),
        ("", None),
    ],
)
def test_dates_as_people_write_them(text: object, expected: date | None) -> None:
    assert parse_date(text) == expected


def test_date_times() -> None:
    assert timezone.localtime(parse_datetime(45658)).date().isoformat() == "2025-01-01"
    assert timezone.localtime(parse_datetime("45658.25")).hour == 6
    assert parse_datetime("2026-01-02 09:30") is not None and parse_datetime("2026年1月2日") is not None
    assert parse_datetime("不是日期") is None


def test_width_folding_leaves_chinese_punctuation() -> None:
    assert cell_text("ＡＢ１２　路，３号（东）") == "AB12 路，3号（东）"
    assert cell_text(12.0) == "12" and cell_text(None) == ""


def test_csv_in_gb18030_and_utf8(tmp_path: Path) -> None:
    text = "姓名,身份证号,手机\n王秀英,410104195302121239,13812345678\n"
    for encoding in ("gb18030", "utf-8-sig"):
        path = tmp_path / f"r-{encoding}.csv"
        path.write_bytes(text.encode(encoding))
        assert read_rows(path)[1] == ["王秀英", "410104195302121239", "13812345678"]
    assert read_rows(io.BytesIO(text.encode("gb18030")), "upload.CSV")[1][0] == "王秀英"


def test_unreadable_files(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a workbook")
    with pytest.raises(SheetFileError):
        read_rows(broken)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes([0x81, 0x30, 0xFF, 0xFF]) * 4)
    with pytest.raises(SheetFileError):
        read_rows(binary)


def test_write_rows_round_trip(tmp_path: Path) -> None:
    data = write_rows("错误行", ["行号", "姓名", "错误"], [[5, "王秀英", "身份证号校验位不符"]])
    path = tmp_path / "errors.xlsx"
    path.write_bytes(data)
    assert read_rows(path) == [["行号", "姓名", "错误"], [5.0, "王秀英", "身份证号校验位不符"]]
