"""`{{ value|deadline:"Y-m-d H:i" }}`: a deadline as people read it (a period ending at midnight ends at 24:00
of the day before; see `jiedao.core.workdays.format_deadline`)."""

from __future__ import annotations

from datetime import datetime

from django import template

from jiedao.core.workdays import format_deadline

register = template.Library()


@register.filter
def deadline(value: datetime | None, fmt: str = "Y-m-d H:i") -> str:
    return format_deadline(value, fmt)
