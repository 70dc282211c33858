"""Reading the spreadsheets offices keep (台账): the rows of a workbook or CSV, the header row found among
title rows by the names its columns go by, and the cell values people type (full-width digits, dates written
1953年2月 or 1953.02, Excel serial numbers). Shared by every import (12345 transfers, people, places).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

from django.utils import timezone
from django.utils.translation import gettext as _

EXCEL_EPOCH = datetime(1899, 12, 30)
#: How far down a header row is looked for (title rows, notes and merged group titles come first).
HEADER_SEARCH_ROWS = 20
SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日%H:%M",
)
#: Dates as people write them: 1953-02-01, 1953/2/1, 1953.2.1, 1953年2月1日, 19530201; without a day
#: (1953年2月, 1953.02, 1953-2) the first of the month.
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*(?:[-/.月]\s*(\d{1,2})\s*日?|月)?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


class SheetFileError(Exception):
    """The file as a whole cannot be used (unreadable, no header row, a required column missing)."""


def read_rows(source: Path | str | BinaryIO, name: str = "") -> list[list[Any]]:
    """The first sheet's rows (.xlsx, .xlsm, .xls, .ods through python-calamine; .csv in UTF-8 or GB18030)."""
    name = (name or str(getattr(source, "name", source))).lower()
    if name.endswith(".csv"):
        raw = Path(source).read_bytes() if isinstance(source, Path | str) else source.read()
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise SheetFileError(_("无法识别该 CSV 文件的编码，请另存为 UTF-8 或 Excel 工作簿。"))
        return [list(row) for row in csv.reader(io.StringIO(text))]
    from python_calamine import CalamineWorkbook

    try:
        if isinstance(source, Path | str):
            workbook = CalamineWorkbook.from_path(str(source))
        else:
            workbook = CalamineWorkbook.from_filelike(source)
        data = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own error types for damaged or foreign files
        raise SheetFileError(_("无法读取该文件，请上传 Excel 工作簿（.xlsx、.xls）或 CSV 文件。")) from exc
    return [list(row) for row in data]


def header_key(cell: Any) -> str:
    """A header cell as compared with column names: no spaces or line breaks, no required-marks (*) or notes
    in brackets (姓名（必填）), full-width forms folded."""
    text = unicodedata.normalize("NFKC", str(cell if cell is not None else ""))
    text = re.sub(r"\s+", "", text)
    text = re.sub(r"\([^)]*\)", "", text).strip("*")
    return text


def find_header(
    rows: Sequence[Sequence[Any]],
    synonyms: Mapping[str, Iterable[str]],
    *,
    min_matches: int = 3,
    search_rows: int = HEADER_SEARCH_ROWS,
) -> tuple[int, dict[str, int]] | None:
    """The index of the row among the first `search_rows` that names the most known columns (at least
    `min_matches`), with the column index of each field. A header cell left empty because it is merged with
    the cell above it (a two-row header) takes that cell's name."""
    names = {header_key(alias): field for field, aliases in synonyms.items() for alias in aliases}
    best: tuple[int, dict[str, int]] | None = None
    for index, row in enumerate(rows[:search_rows]):
        above = rows[index - 1] if index else []
        columns: dict[str, int] = {}
        for col, cell in enumerate(row):
            key = header_key(cell)
            if not key and col < len(above):
                key = header_key(above[col])
            field = names.get(key)
            if field is not None and field not in columns:
                columns[field] = col
        if len(columns) >= min_matches and (best is None or len(columns) > len(best[1])):
            best = (index, columns)
    return best


def is_blank(row: Sequence[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in row)


def body_rows(rows: Sequence[Sequence[Any]], header_index: int, width: int) -> list[tuple[int, list[Any]]]:
    """(row number as the spreadsheet shows it, cells padded to `width`) of the non-blank rows below the
    header."""
    body = []
    for number, row in enumerate(rows[header_index + 1 :], start=header_index + 2):
        if not is_blank(row):
            body.append((number, list(row) + [""] * (width - len(row))))
    return body


#: Full-width digits, Latin letters and the ideographic space, to ASCII. Not punctuation: a Chinese text
#: keeps its ，：（）.
_WIDTH = {
    **{0xFF10 + i: 0x30 + i for i in range(10)},
    **{0xFF21 + i: 0x41 + i for i in range(26)},
    **{0xFF41 + i: 0x61 + i for i in range(26)},
    0x3000: 0x20,
}


def fold_width(text: str) -> str:
    return text.translate(_WIDTH)


def cell_text(value: Any) -> str:
    """A cell as text: full-width digits, letters and spaces folded, surrounding space removed, a whole number
    stored as a float without its ".0"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return fold_width(str(value)).strip()


def parse_date(value: Any) -> date | None:
    """A date cell: a date or datetime (calamine converts date-formatted cells), an Excel serial number, or
    text as people write it (see _DATE). None when it is none of these."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    serial = _serial(value)
    if serial is not None:
        return serial.date()
    if isinstance(value, int | float):  # a number that is no serial date
        return None
    match = _DATE.match(text := cell_text(value)) or _COMPACT_DATE.match(text)
    if match is None:
        return None
    year, month, day = int(match.group(1)), int(match.group(2)), int(match.group(3) or 1)
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_datetime(value: Any) -> datetime | None:
    """A date/time cell (as parse_date, with a time of day when it has one); naive values are local time."""
    result = value if isinstance(value, datetime) else _serial(value)
    if result is None:
        text = cell_text(value)
        for fmt in DATETIME_FORMATS:
            try:
                result = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        else:
            day = parse_date(value)
            result = datetime.combine(day, time(0, 0)) if day is not None else None
    if result is None:
        return None
    return timezone.make_aware(result) if timezone.is_naive(result) else result


#: An Excel serial written as text: five digits (1927–2173), a fraction for the time of day. Four digits are
#: a year ("1953"), eight a date (19530201), not serials.
_SERIAL_TEXT = re.compile(r"\d{5}(?:\.\d+)?")


def _serial(value: Any) -> datetime | None:
    """The date and time of an Excel serial number (a number in a cell, or its text), else None."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and _SERIAL_TEXT.fullmatch(cell_text(value)):
        number = float(cell_text(value))
    else:
        return None
    if not 1 <= number < 2958466:  # up to 9999-12-31
        return None
    return (EXCEL_EPOCH + timedelta(days=number)).replace(microsecond=0)


def write_rows(title: str, header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> bytes:
    """An .xlsx of one sheet (openpyxl's write-only mode): the error workbooks of the imports."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    sheet.append(list(header))
    for row in rows:
        sheet.append([_cell_out(v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _cell_out(value: Any) -> Any:
    if isinstance(value, datetime | date | time | int | float | str) or value is None:
        return value
    return str(value)


# ---------------------------------------------------------------------------------------------------------
# Streaming: the rows of a large sheet one at a time (imports of hundreds of thousands of rows), for callers
# that must not hold every row as Python lists. Same cells as read_rows gives, row for row.

#: Bytes read at a time when a CSV file's encoding is checked and its lines counted.
SCAN_BLOCK = 1 << 20


class SheetRows:
    """The first sheet's rows of a workbook (.xlsx, .xlsm, .xls, .ods) or CSV file, one list of cells at a
    time, as `read_rows` would give them (the same rows, the same columns, row 1 first).

    A CSV file is read through `csv.reader` over the decoded text stream; its encoding (UTF-8, else GB18030)
    is settled first by decoding the whole file block by block, so a file that is not valid in either is
    refused before any row is used. A workbook is opened with calamine, which keeps the sheet's cells in its
    own compact form, and its rows are turned into Python lists one at a time (`iter_rows`).

    `size` is the number of rows for progress: a workbook's row count; a CSV file's line count (a quoted cell
    with a line break in it counts twice).
    """

    def __init__(self, source: Path | str, name: str = "") -> None:
        self.path = Path(source)
        self.name = (name or self.path.name).lower()
        self.size = 0
        self._workbook: Any = None
        self._sheet: Any = None
        self._encoding = ""
        if self.name.endswith(".csv"):
            self._encoding, self.size = csv_encoding(self.path)
        else:
            from python_calamine import CalamineWorkbook

            try:
                self._workbook = CalamineWorkbook.from_path(str(self.path))
                self._sheet = self._workbook.get_sheet_by_index(0)
            except Exception as exc:  # calamine raises its own error types for damaged or foreign files
                self.close()
                raise _unreadable() from exc
            end = self._sheet.end
            self.size = end[0] + 1 if end else 0

    def __iter__(self) -> Iterator[list[Any]]:
        if self._encoding:
            yield from self._csv_rows()
        elif self._sheet is not None:
            yield from self._sheet_rows()

    def _csv_rows(self) -> Iterator[list[Any]]:
        with self.path.open(encoding=self._encoding, newline="") as text:
            reader = csv.reader(text)
            try:
                yield from reader
            except csv.Error as exc:
                raise SheetFileError(
                    _("CSV 文件第 %(line)d 行无法读取（%(error)s），请用 Excel 另存为 .xlsx 后上传。")
                    % {"line": reader.line_num, "error": exc}
                ) from exc

    def _sheet_rows(self) -> Iterator[list[Any]]:
        # calamine's iter_rows starts at row 1 but at the sheet's first used column: put the empty columns
        # before it back, so that column indexes are those of read_rows (and of the header).
        start = self._sheet.start
        pad = [""] * start[1] if start else []
        try:
            for row in self._sheet.iter_rows():
                yield pad + row if pad else row
        except Exception as exc:
            raise _unreadable() from exc

    def close(self) -> None:
        if self._workbook is not None:
            with contextlib.suppress(Exception):  # already closed
                self._workbook.close()
            self._workbook = self._sheet = None

    def __enter__(self) -> SheetRows:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _unreadable() -> SheetFileError:
    return SheetFileError(_("无法读取该文件，请上传 Excel 工作簿（.xlsx、.xls）或 CSV 文件。"))


def csv_encoding(path: Path | str) -> tuple[str, int]:
    """The encoding a CSV file decodes in (read_rows' order: UTF-8 with or without BOM, then GB18030) and its
    number of lines, from one pass over the bytes in blocks. SheetFileError when neither decodes it."""
    for encoding in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        lines = 0
        last = b""
        try:
            with Path(path).open("rb") as raw:
                while block := raw.read(SCAN_BLOCK):
                    decoder.decode(block)
                    lines += block.count(b"\n")
                    last = block
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        if last and not last.endswith(b"\n"):
            lines += 1  # the last line has no line break
        return encoding, lines
    raise SheetFileError(_("无法识别该 CSV 文件的编码，请另存为 UTF-8 或 Excel 工作簿。"))


def header_names(rows: Sequence[Sequence[Any]], header_index: int) -> list[str]:
    """The name of each column of the header row, as written (line breaks and runs of spaces made one
    space); a cell left empty because it is merged with the one above (a two-row header) takes that name."""
    row = rows[header_index]
    above = rows[header_index - 1] if header_index else []
    names = []
    for col, cell in enumerate(row):
        text = cell_text(cell)
        if not text and col < len(above):
            text = cell_text(above[col])
        names.append(" ".join(text.split()))
    return names


def iter_body_rows(
    rows: Iterable[Sequence[Any]],
    header_index: int,
    width: int,
    columns: Sequence[int] | None = None,
) -> Iterator[tuple[int, list[Any]]]:
    """body_rows, streaming: (row number as the spreadsheet shows it, cells padded to `width`) of the
    non-blank rows below the header, where `rows` yields the sheet's rows from its first row on. With
    `columns`, a row counts as blank when those columns are (a numbered spare row of a template, a note in a
    column nobody reads)."""
    for number, row in enumerate(rows, start=1):
        if number <= header_index + 1:
            continue
        cells = list(row) + [""] * (width - len(row)) if len(row) < width else list(row)
        if columns is None:
            if is_blank(cells):
                continue
        elif not _any_value(cells, columns):
            continue
        yield number, cells


def _any_value(cells: Sequence[Any], columns: Sequence[int]) -> bool:
    for i in columns:
        value = cells[i]
        if value is None or value == "":
            continue
        if not isinstance(value, str) or value.strip():
            return True
    return False
