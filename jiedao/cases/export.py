"""The .xlsx export of a filtered case list: openpyxl's write-only workbook fed row by row from a database
iterator (memory stays flat however many rows), then streamed to the client in chunks. Phones are masked
unless the user asked for them and may reveal them on that case."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO, Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from jiedao.cases.clock import light_of
from jiedao.cases.models import Case, Light
from jiedao.core.permissions import can

CHUNK_BYTES = 64 * 1024
ITERATOR_CHUNK = 500


def headers() -> list[str]:
    return [
        _("编号"),
        _("标题"),
        _("类别"),
        _("所在单元"),
        _("地址"),
        _("渠道"),
        _("紧急程度"),
        _("信访类型"),
        _("状态"),
        _("红黄绿灯"),
        _("收到时间"),
        _("办理时限"),
        _("时限依据"),
        _("主办单位/科室"),
        _("诉求人"),
        _("联系电话"),
        _("内容"),
        _("办理结果"),
        _("答复意见"),
        _("评价"),
        _("结案时间"),
    ]


def _naive(value: datetime | None) -> datetime | None:
    """Excel has no time zones: local wall-clock time."""
    return timezone.localtime(value).replace(tzinfo=None) if value is not None else None


def _cell(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    """Text stays text: a value starting with "=" would otherwise be written as a formula."""
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value


def row_for(case: Case, reveal: bool, user: Any, now: datetime) -> list[Any]:
    phone = case.requester_phone if reveal and can(user, "case.reveal", case) else case.masked_phone
    lead = case.lead_department or case.lead_unit
    return [
        case.number,
        case.title,
        case.category.full_name,
        case.org_unit.name,
        case.address,
        case.get_channel_display(),
        case.get_priority_display(),
        case.get_petition_type_display() if case.petition_type else "",
        case.get_status_display(),
        str(Light(light_of(case, now)).label),
        _naive(case.received_at),
        _naive(case.due_at),
        case.deadline_rule,
        str(lead) if lead else "",
        _("匿名") if case.anonymous else case.requester_name,
        phone,
        case.description,
        case.get_outcome_display() if case.outcome else "",
        case.reply,
        case.get_rating_display() if case.rating else "",
        _naive(case.closed_at),
    ]


def export_queryset(queryset: QuerySet[Case]) -> QuerySet[Case]:
    return queryset.select_related("category__parent", "org_unit", "lead_unit", "lead_department").order_by(
        "-received_at", "-id"
    )


def write_workbook(cases: Iterable[Case], user: Any, reveal: bool, out: IO[bytes]) -> int:
    """Write the cases as one sheet into `out`; returns the number of rows."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=_("工单"))
    sheet.freeze_panes = "A2"
    sheet.append(headers())
    now = timezone.now()
    count = 0
    for case in cases:
        sheet.append([_cell(sheet, v) for v in row_for(case, reveal, user, now)])
        count += 1
    book.save(out)
    return count


def build(queryset: QuerySet[Case], user: Any, reveal: bool) -> tuple[IO[bytes], int]:
    """The workbook in a spooled temporary file (in memory while small), rewound, and its row count."""
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115  # closed by the stream
    count = write_workbook(export_queryset(queryset).iterator(chunk_size=ITERATOR_CHUNK), user, reveal, out)
    out.seek(0)
    return out, count


def chunks(out: IO[bytes]) -> Iterator[bytes]:
    try:
        while block := out.read(CHUNK_BYTES):
            yield block
    finally:
        out.close()
