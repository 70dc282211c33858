"""The module navigation: each module registers its entries with the action a user needs to see them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.functional import Promise

from jiedao.core.permissions import can


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str | Promise
    url_name: str
    icon: str
    order: int
    visible: Callable[[Any], bool]


_ITEMS: list[NavItem] = []


def register(item: NavItem) -> None:
    if any(existing.key == item.key for existing in _ITEMS):
        raise ValueError(f"navigation item {item.key!r} registered twice")
    _ITEMS.append(item)
    _ITEMS.sort(key=lambda i: i.order)


def requires(action: str) -> Callable[[Any], bool]:
    return lambda user: can(user, action)


def items_for(user: Any, current_path: str) -> list[dict[str, Any]]:
    """The entries the user may see; the one whose URL is the longest prefix of the current path is active
    (so /cases/measures/ marks 三率统计, not also 工单 at /cases/)."""
    urls = [(item, reverse(item.url_name)) for item in _ITEMS if item.visible(user)]

    def matches(url: str) -> bool:
        return current_path == url if url == "/" else current_path.startswith(url)

    active = max((url for _item, url in urls if matches(url)), key=len, default=None)
    return [
        {"key": item.key, "label": item.label, "url": url, "icon": item.icon, "active": url == active}
        for item, url in urls
    ]
