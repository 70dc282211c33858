"""The case's status badge and its red/yellow/green light, as tags: they are on every row of the case list,
where a template include per row cost more than the rest of the row."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag
def case_status(case: Any) -> SafeString:
    """Needs `case.status_color` (set by the views' `_decorate`)."""
    return format_html(
        '<span class="badge bg-{}-lt text-nowrap" data-testid="case-status">{}</span>',
        case.status_color,
        case.get_status_display(),
    )


@register.simple_tag
def case_light(case: Any, compact: bool = False) -> SafeString:
    """Needs `case.light_now`, `light_label` and `light_color` (set by `_decorate`). `compact`: the dot only,
    its label kept for screen readers."""
    return format_html(
        '<span class="d-inline-flex align-items-center gap-1 text-nowrap" title="{label}">'
        '<span class="status-dot{animated} status-{color}" aria-hidden="true"></span>'
        '<span class="{label_class}">{label}</span></span>',
        label=case.light_label,
        animated=" status-dot-animated" if case.light_now == "red" else "",
        color=case.light_color,
        label_class="visually-hidden" if compact else "small text-secondary",
    )
