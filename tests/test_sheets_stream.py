"""jiedao.core.sheets, streaming: SheetRows gives the rows read_rows gives (the same columns, the same row
numbers) one at a time; iter_body_rows is body_rows over a stream; header_names reads a merged two-row
header; a large CSV is read without holding its rows."""

from __future__ import annotations

import tracemalloc
from itertools import islice
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from jiedao.core.sheets import (
    SheetFileError,
    SheetRows,
    body_rows,
    csv_encoding,
    find_header,
    header_names,
    iter_body_rows,
    read_rows,
)
from tests.test_sheets import SYNONYMS, roster


def streamed(path: Path) -> list[list[object]]:
    with SheetRows(path) as rows:
        return [list(row) for row in rows]


def test_workbook_rows_are_those_read_rows_gives(tmp_path: Path) -> None:
    path = roster(tmp_path)
    assert streamed(path) == read_rows(path)
    with SheetRows(path) as rows:
        assert rows.size == len(read_rows(path)) == 8


def test_a_sheet_that_starts_below_and_right_of_a1_keeps_its_column_indexes(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet["C3"], sheet["D3"], sheet["E3"] = "姓名", "身份证号", "手机"
    sheet["C5"], sheet["D5"], sheet["E5"] = "王秀英", "410104195302121239", 13812345678
    sheet["F6"] = "备注"
    path = tmp_path / "offset.xlsx"
    workbook.save(path)
    rows = streamed(path)
    assert rows == read_rows(path)
    assert rows[2][2:5] == ["姓名", "身份证号", "手机"] and rows[5][5] == "备注"
    found = find_header(rows, SYNONYMS)
    assert found == (2, {"name": 2, "id_number": 3, "phone": 4})


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_each_encoding(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "people.csv"
    text = '居民名册\n姓名,身份证号,手机\n王秀英,410104195302121239,13812345678\n"李\n建国",x,"1,2"\n'
    path.write_bytes(text.encode(encoding))
    assert streamed(path) == read_rows(path)
    assert streamed(path)[3] == ["李\n建国", "x", "1,2"]  # a quoted line break and comma stay in the cell
    assert csv_encoding(path) == ("gb18030" if encoding == "gb18030" else "utf-8-sig", 5)


def test_csv_without_a_final_line_break_counts_its_last_line(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("姓名,手机\n王秀英,13812345678", encoding="utf-8")
    assert csv_encoding(path) == ("utf-8-sig", 2)
    assert streamed(path) == [["姓名", "手机"], ["王秀英", "13812345678"]]


def test_unreadable_files_are_refused_before_any_row(tmp_path: Path) -> None:
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_bytes("姓名\n".encode() + b"\xff\xfe\xfa\x80\x81")
    with pytest.raises(SheetFileError, match="编码"):
        SheetRows(bad_csv)
    damaged = tmp_path / "damaged.xlsx"
    damaged.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(SheetFileError, match="无法读取"):
        SheetRows(damaged)


def test_a_csv_the_reader_cannot_take_says_which_line(tmp_path: Path) -> None:
    path = tmp_path / "huge-cell.csv"
    path.write_text("a,b\n1,2\n3," + "4" * 200_000 + "\n", encoding="utf-8")  # past csv's field limit
    with SheetRows(path) as rows, pytest.raises(SheetFileError, match="第 3 行"):
        list(rows)


def test_iter_body_rows_is_body_rows_over_a_stream(tmp_path: Path) -> None:
    path = roster(tmp_path)
    rows = read_rows(path)
    with SheetRows(path) as stream:
        assert list(iter_body_rows(stream, 3, 7)) == body_rows(rows, 3, 7)
    assert [n for n, _cells in iter_body_rows(iter(rows), 3, 6)] == [5, 7, 8]
    spare: list[list[Any]] = [
        ["序号", "姓名", "备注"],
        [1, "王秀英", ""],
        [2, " ", None],
        [3, None, "已迁出"],
        [4, 0, ""],
    ]
    assert [n for n, _c in iter_body_rows(spare, 0, 3)] == [2, 3, 4, 5]
    assert [n for n, _c in iter_body_rows(spare, 0, 3, columns=[1])] == [2, 5]  # numbered spare rows skipped
    assert [c for _n, c in iter_body_rows([["a", "b", "c"], ["x"]], 0, 3, columns=[0, 2])] == [["x", "", ""]]


def test_header_names_of_a_merged_two_row_header(tmp_path: Path) -> None:
    rows = read_rows(roster(tmp_path))
    assert header_names(rows, 3) == ["序号", "姓名 （必填）", "公民身份号码*", "手机", "出生年月", "现住址"]
    assert header_names([["姓名", "  联系\n电话 "]], 0) == ["姓名", "联系 电话"]


def test_a_large_csv_is_read_without_holding_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "large.csv"
    line = "王秀英,410104195302121239,13812345678,陇海花园 3号楼 1单元 301,汉族\n"
    with path.open("w", encoding="utf-8") as out:
        out.write("姓名,身份证号,手机,住址,民族\n")
        for _ in range(200_000):
            out.write(line)
    tracemalloc.start()
    try:
        with SheetRows(path) as rows:
            assert rows.size == 200_001
            count = sum(1 for _row in rows)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 200_001
    assert peak < 20_000_000  # the rows as lists would take well over 100 MB
    with SheetRows(path) as rows:
        assert list(islice(rows, 2))[1][0] == "王秀英"
