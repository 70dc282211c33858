"""Who may do what with people and places (registered with `jiedao.core.permissions`).

Decided here (the issue leaves it open): community staff and grid workers keep the rosters; they and the
administrators may reveal an identity number or a phone (the grid worker calls and visits the residents of
the grid). Leaders, department staff, auditors and the district see the rosters masked; a reveal is for the
people who work with the resident."""

from __future__ import annotations

from jiedao.core.models import Role
from jiedao.core.permissions import STAFF_READERS, register

R = Role
KEEPERS = {R.COMMUNITY_STAFF, R.GRID_WORKER, R.ADMINISTRATOR}

register(
    {
        "place.view": STAFF_READERS,
        "place.change": KEEPERS,
        "resident.view": STAFF_READERS,
        "resident.change": KEEPERS,
        "resident.reveal": KEEPERS,
        "resident.export": STAFF_READERS - {R.AUDITOR},
        "organisation.view": STAFF_READERS,
        "organisation.change": KEEPERS,
        "care.view": STAFF_READERS,
        "care.change": {R.COMMUNITY_STAFF, R.ADMINISTRATOR},
        "care.visit": {R.COMMUNITY_STAFF, R.GRID_WORKER},
        "people_import.view": {R.COMMUNITY_STAFF, R.ADMINISTRATOR},
        "people_import.create": {R.COMMUNITY_STAFF, R.ADMINISTRATOR},
    }
)
