"""The search index's write side (contract used by the modules; implemented by the search app).

- `refresh(objs)`: (re)write the entries of these saved objects.
- `refresh_ids(model, ids)`: the same for rows written in bulk (imports, demo data), by primary key.
- `remove(objs)`: drop their entries.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def refresh(objs: Iterable[Any]) -> None:
    return None


def refresh_ids(model: type, ids: Iterable[int]) -> None:
    return None


def remove(objs: Iterable[Any]) -> None:
    return None
