"""我的待办: every module contributes the open items a user has to act on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.functional import Promise


@dataclass(frozen=True)
class WorkItem:
    module: str | Promise
    title: str
    url: str
    due_at: datetime | None = None
    note: str | Promise = ""
    level: str = "info"  # info | warning | danger: how urgent it is


Provider = Callable[[Any], list[WorkItem]]
_PROVIDERS: list[tuple[str, Provider]] = []


def register(name: str, provider: Provider) -> None:
    if any(existing == name for existing, _ in _PROVIDERS):
        raise ValueError(f"work-list provider {name!r} registered twice")
    _PROVIDERS.append((name, provider))


def items_for(user: Any) -> list[WorkItem]:
    items: list[WorkItem] = []
    for _name, provider in _PROVIDERS:
        items.extend(provider(user))
    far_future = datetime.max.replace(tzinfo=None)

    def key(item: WorkItem) -> tuple[int, datetime]:
        if item.due_at is None:
            return (1, far_future)
        return (0, item.due_at.replace(tzinfo=None))

    return sorted(items, key=key)
