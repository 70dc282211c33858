"""Route guards of the cases module: intake area."""

from __future__ import annotations

from typing import Any

from tests.cases.guards_util import case_in_grid_a
from tests.guard import Guard
from tests.world import World


def _case(world: World) -> dict[str, Any]:
    return {"number": case_in_grid_a(world).number}


GUARDS: dict[str, Guard] = {
    # Registering cases needs "case.create": a volunteer (and an auditor) may not.
    "cases:intake": Guard(outsider="volunteer"),
    "cases:intake_fields": Guard(outsider="volunteer"),
    "cases:similar": Guard(outsider="volunteer"),
    "cases:report": Guard(outsider="auditor"),
    # A case in grid_a: grid_b's worker must not see its similar cases nor link it.
    "cases:case_similar": Guard(kwargs=_case, outsider="grid_b"),
    "cases:case_link": Guard(kwargs=_case, outsider="grid_b", method="post"),
    # Importing 12345 transfer orders needs "case.import" (department staff, leaders, district, admin).
    "cases:import": Guard(outsider="grid_b"),
    "cases:import_template": Guard(outsider="grid_b"),
    "cases:import_errors": Guard(outsider="comm_a"),
}
PUBLIC: dict[str, str] = {}
