"""The cases module's route guards, gathered from one file per area (each area's owner keeps its own)."""

from __future__ import annotations

from tests.cases import guards_api, guards_intake, guards_measures, guards_public, guards_staff
from tests.guard import Guard

GUARDS: dict[str, Guard] = {}
PUBLIC: dict[str, str] = {}
for module in (guards_staff, guards_intake, guards_measures, guards_public, guards_api):
    GUARDS.update(module.GUARDS)
    PUBLIC.update(module.PUBLIC)
