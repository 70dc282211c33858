"""How a route is protected: shared by tests/test_routes.py and the per-module guard lists."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.world import World


@dataclass(frozen=True)
class Guard:
    """How a route is protected.

    kwargs: URL arguments naming an object the `outsider` may not touch.
    outsider: a logged-in persona that must get 403/404 (or, with `hidden`, a page without that text).
    hidden: text of an object outside the outsider's scope that a scoped list must not show.
    method: "get" or "post".
    """

    kwargs: Callable[[World], dict[str, Any]] = field(default=lambda w: {})
    outsider: str | None = "grid_b"
    hidden: Callable[[World], str] | None = None
    method: str = "get"
    api: bool = False
    accept: str = ""
