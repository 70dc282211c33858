"""Route guards of the cases module: api area."""

from __future__ import annotations

from tests.guard import Guard

GUARDS: dict[str, Guard] = {}
PUBLIC: dict[str, str] = {}
