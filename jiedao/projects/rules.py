"""Who may do what with key projects and meetings (registered with `jiedao.core.permissions`).

Decided here (the issue leaves it open): leaders and department staff (经济发展办, 城建办 …) keep the ledger
and the meetings; community staff see the projects that stand in their community and may add progress notes
there (they are on the ground); the district and auditors read. Grid workers, volunteers and residents see
nothing: the ledger holds investment figures and internal problems that are not theirs to act on, and their
own work reaches a project through cases and supervised matters instead."""

from __future__ import annotations

from jiedao.core.models import Role
from jiedao.core.permissions import register

R = Role
KEEPERS = {R.LEADER, R.DEPARTMENT_STAFF, R.ADMINISTRATOR}
READERS = KEEPERS | {R.COMMUNITY_STAFF, R.DISTRICT_STAFF, R.AUDITOR}

register(
    {
        "project.view": READERS,
        "project.change": KEEPERS,
        "project.progress": KEEPERS | {R.COMMUNITY_STAFF},
        "project.export": READERS,
        "meeting.view": READERS,
        "meeting.change": KEEPERS,
    }
)
