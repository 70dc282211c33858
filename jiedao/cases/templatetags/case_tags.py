"""Template filters of the cases module."""

from __future__ import annotations

from datetime import datetime

from django import template

from jiedao.cases.clock import format_deadline

register = template.Library()


@register.filter
def deadline(value: datetime | None, fmt: str = "Y-m-d H:i") -> str:
    return format_deadline(value, fmt)
