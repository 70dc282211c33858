"""Route guards of the cases module: measures area."""

from __future__ import annotations

from tests.guard import Guard

GUARDS: dict[str, Guard] = {}
PUBLIC: dict[str, str] = {}
