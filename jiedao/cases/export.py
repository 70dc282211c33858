"""The .xlsx export of a filtered case list: openpyxl's write-only workbook fed row by row from a database
iterator (memory stays flat however many rows), then streamed to the client in chunks. Phones are masked
unless the user asked for them and may reveal them on that case."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from datetime import datetime
from typing import IO, Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.cases.clock import light_of
from jiedao.cases.models import Case, Light
from jiedao.core import xlsx
from jiedao.core.permissions import can
from jiedao.core.xlsx import naive

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
        naive(case.received_at),
        naive(case.due_at),
        case.deadline_rule,
        str(lead) if lead else "",
        _("匿名") if case.anonymous else case.requester_name,
        phone,
        case.description,
        case.get_outcome_display() if case.outcome else "",
        case.reply,
        case.get_rating_display() if case.rating else "",
        naive(case.closed_at),
    ]


def export_queryset(queryset: QuerySet[Case]) -> QuerySet[Case]:
    return queryset.select_related("category__parent", "org_unit", "lead_unit", "lead_department").order_by(
        "-received_at", "-id"
    )


def write_workbook(cases: Iterable[Case], user: Any, reveal: bool, out: IO[bytes]) -> int:
    """Write the cases as one sheet into `out`; returns the number of rows."""
    now = timezone.now()
    return xlsx.write(_("工单"), headers(), (row_for(case, reveal, user, now) for case in cases), out)


def build(queryset: QuerySet[Case], user: Any, reveal: bool) -> tuple[IO[bytes], int]:
    """The workbook in a spooled temporary file (in memory while small), rewound, and its row count."""
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115  # closed by the stream
    count = write_workbook(export_queryset(queryset).iterator(chunk_size=ITERATOR_CHUNK), user, reveal, out)
    out.seek(0)
    return out, count


chunks = xlsx.chunks
