"""Exporting a list as .xlsx (台账): openpyxl's write-only workbook fed row by row from a database iterator
(memory stays flat however many rows), spooled to a temporary file and streamed to the client in chunks.
Shared by every module's export."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import IO, Any

from django.http import StreamingHttpResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

CHUNK_BYTES = 64 * 1024
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def naive(value: datetime | None) -> datetime | None:
    """Excel has no time zones: local wall-clock time."""
    if value is None or timezone.is_naive(value):
        return value
    return timezone.localtime(value).replace(tzinfo=None)


def cell(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    """Text stays text: a value starting with "=" would otherwise be written as a formula."""
    if isinstance(value, str):
        out = WriteOnlyCell(sheet, value=value)
        out.data_type = "s"
        return out
    if isinstance(value, datetime):
        return naive(value)
    return value


def write(title: str, header: Sequence[Any], rows: Iterable[Sequence[Any]], out: IO[bytes]) -> int:
    """One sheet with a frozen header row into `out`; returns the number of rows."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=re.sub(r"[\\/*?:\[\]]", "_", title)[:31] or "Sheet1")
    sheet.freeze_panes = "A2"
    sheet.append(list(header))
    count = 0
    for row in rows:
        sheet.append([cell(sheet, v) for v in row])
        count += 1
    book.save(out)
    return count


def build(title: str, header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> tuple[IO[bytes], int]:
    """The workbook in a spooled temporary file (in memory while small), rewound, and its row count."""
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115  # closed by the stream
    count = write(title, header, rows, out)
    out.seek(0)
    return out, count


def chunks(out: IO[bytes]) -> Iterator[bytes]:
    try:
        while block := out.read(CHUNK_BYTES):
            yield block
    finally:
        out.close()


def response(out: IO[bytes], filename: str) -> StreamingHttpResponse:
    streamed = StreamingHttpResponse(chunks(out), content_type=XLSX_TYPE)
    streamed["Content-Disposition"] = f'attachment; filename="{filename}"'
    return streamed
