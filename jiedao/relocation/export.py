"""The .xlsx export of a filtered household list (core.xlsx: write-only workbook fed from an iterator,
streamed). Phones stay masked: a full number is revealed one household at a time, logged."""

from __future__ import annotations

from typing import IO, Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from jiedao.core import xlsx
from jiedao.relocation.models import ExpropriationHousehold

ITERATOR_CHUNK = 500


def headers() -> list[str]:
    return [
        _("户号"),
        _("产权人"),
        _("联系电话"),
        _("房屋坐落"),
        _("面积（平方米）"),
        _("评估金额（元）"),
        _("工作组"),
        _("包户人"),
        _("环节"),
        _("态度"),
        _("最近走访"),
        _("缺少材料数"),
        _("摸底日期"),
        _("评估日期"),
        _("协商日期"),
        _("签约日期"),
        _("腾房日期"),
        _("拆除日期"),
        _("备注"),
    ]


def row_for(h: ExpropriationHousehold) -> list[Any]:
    return [
        h.number,
        h.owner_name,
        h.phone_mask,
        h.address,
        float(h.area) if h.area is not None else None,
        float(h.valuation) if h.valuation is not None else None,
        h.team.name if h.team else "",
        str(h.staff) if h.staff else "",
        h.get_stage_display(),
        h.get_attitude_display() if h.attitude else "",
        h.last_visit_on,
        h.missing_documents,
        h.surveyed_on,
        h.valued_on,
        h.negotiating_on,
        h.signed_on,
        h.vacated_on,
        h.demolished_on,
        h.note,
    ]


def build(queryset: QuerySet[ExpropriationHousehold]) -> tuple[IO[bytes], int]:
    rows = (
        row_for(h)
        for h in queryset.select_related("team", "staff")
        .order_by("number")
        .iterator(chunk_size=ITERATOR_CHUNK)
    )
    return xlsx.build(_("被征收户"), headers(), rows)
