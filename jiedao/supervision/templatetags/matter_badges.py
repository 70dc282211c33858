"""A matter's status badge and colour light, as tags (they are on every row of the list)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag
def matter_status(matter: Any) -> SafeString:
    """Needs `matter.status_color` (set by the views' `decorate`)."""
    return format_html(
        '<span class="badge bg-{}-lt text-nowrap" data-testid="matter-status">{}</span>',
        matter.status_color,
        matter.get_status_display(),
    )


@register.simple_tag
def matter_light(matter: Any, compact: bool = False) -> SafeString:
    """Needs `matter.light_now`, `light_label` and `light_color` (set by `decorate`). `compact`: the dot only,
    its label kept for screen readers. Closed matters show nothing."""
    if matter.light_now == "none":
        return SafeString("")
    return format_html(
        '<span class="d-inline-flex align-items-center gap-1 text-nowrap" title="{label}" '
        'data-light="{light}">'
        '<span class="status-dot{animated} status-{color}" aria-hidden="true"></span>'
        '<span class="{label_class}">{label}</span></span>',
        label=matter.light_label,
        light=matter.light_now,
        animated=" status-dot-animated" if matter.light_now == "red" else "",
        color=matter.light_color,
        label_class="visually-hidden" if compact else "small text-secondary",
    )
