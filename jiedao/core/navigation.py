"""The module navigation: each module registers its entries with the action a user needs to see them.

An entry may name a menu group (`GROUPS`): the header shows a group as one dropdown, so a leader's twenty
entries fit one line. A group the user can open only one entry of shows that entry as a plain link.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from jiedao.core.permissions import can


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str | Promise
    url_name: str
    icon: str
    order: int
    visible: Callable[[Any], bool]
    group: str = ""


@dataclass(frozen=True)
class NavGroup:
    key: str
    label: str | Promise
    icon: str


#: The header's dropdown menus, by the work they hold (entries name one in `NavItem.group`).
GROUPS: dict[str, NavGroup] = {
    group.key: group
    for group in (
        NavGroup("cases", _("工单"), "clipboard-list"),
        NavGroup("people", _("人口房屋"), "users"),
        NavGroup("safety", _("巡查应急"), "alert-triangle"),
        NavGroup("projects", _("项目督办"), "building-skyscraper"),
        NavGroup("system", _("系统"), "settings"),
    )
}


_ITEMS: list[NavItem] = []


def register(item: NavItem) -> None:
    if any(existing.key == item.key for existing in _ITEMS):
        raise ValueError(f"navigation item {item.key!r} registered twice")
    if item.group and item.group not in GROUPS:
        raise ValueError(f"navigation item {item.key!r} names an unknown group {item.group!r}")
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
        {
            "key": item.key,
            "label": item.label,
            "url": url,
            "icon": item.icon,
            "active": url == active,
            "group": item.group,
        }
        for item, url in urls
    ]


def menu(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The header's menu from `items_for`'s entries: each group at the place of its first entry, holding its
    entries in order; a group with a single entry is that entry."""
    members: dict[str, list[dict[str, Any]]] = {}
    for entry in items:
        if entry["group"]:
            members.setdefault(entry["group"], []).append(entry)
    shown: list[dict[str, Any]] = []
    for entry in items:
        children = members.get(entry["group"]) if entry["group"] else None
        if not children or len(children) == 1:
            shown.append(entry)
        elif children[0] is entry:
            group = GROUPS[entry["group"]]
            shown.append(
                {
                    "key": group.key,
                    "label": group.label,
                    "icon": group.icon,
                    "active": any(child["active"] for child in children),
                    "children": children,
                }
            )
    return shown
