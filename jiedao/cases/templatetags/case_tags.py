"""Template filters of the cases module."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import dateformat, timezone

register = template.Library()


@register.filter
def deadline(value: datetime | None, fmt: str = "Y-m-d H:i") -> str:
    """A deadline as people read it: a period that ends at midnight ends "24:00" of the day before (民法典
    §203: the last day ends at 24:00), so 2026-11-27 00:00 shows as 2026-11-26 24:00, and as 2026-11-26 when
    only the date is shown."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    if (local.hour, local.minute, local.second) != (0, 0, 0):
        return dateformat.format(local, fmt)
    day_before = local - timedelta(days=1)
    if "H" not in fmt:
        return dateformat.format(day_before, fmt)
    date_part = fmt.split("H", 1)[0].strip()
    return f"{dateformat.format(day_before, date_part)} 24:00".strip()
