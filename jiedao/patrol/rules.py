"""Who may do what with hazard points, patrols and emergencies (registered with `jiedao.core.permissions`).

Decided here (the issue leaves the detail open): leaders (and the district, administrators) declare and close
emergencies; department staff may too, but only those of the sub-district's 应急管理办公室 (department code
`yingji`, checked by `may_declare`). Grid workers check the points of their grids; community staff see and
record in their community (and may check points there too, standing in for a grid worker); hazard points are
kept by community staff and grid workers.
"""

from __future__ import annotations

from typing import Any

from jiedao.core.models import Department, Role
from jiedao.core.permissions import STAFF_READERS, can, departments_of, is_unrestricted, register, roles_of

R = Role
EMERGENCY_DEPARTMENT = "yingji"
DECLARERS = {R.LEADER, R.DEPARTMENT_STAFF, R.DISTRICT_STAFF, R.ADMINISTRATOR}
KEEPERS = {R.COMMUNITY_STAFF, R.GRID_WORKER, R.LEADER, R.ADMINISTRATOR}

register(
    {
        "hazard.view": STAFF_READERS,
        "hazard.change": KEEPERS,
        "hazard.import": {R.COMMUNITY_STAFF, R.LEADER, R.ADMINISTRATOR},
        "hazard.export": STAFF_READERS,
        "emergency.view": STAFF_READERS,
        "emergency.declare": DECLARERS,
        "emergency.close": DECLARERS,
        "emergency.check": {R.GRID_WORKER, R.COMMUNITY_STAFF, R.ADMINISTRATOR},
        "emergency.record": {R.GRID_WORKER, R.COMMUNITY_STAFF, R.LEADER, R.DEPARTMENT_STAFF, R.ADMINISTRATOR},
        "patrol.view": STAFF_READERS,
        "patrol.plan": {R.COMMUNITY_STAFF, R.LEADER, R.ADMINISTRATOR},
        "patrol.record": {R.GRID_WORKER, R.COMMUNITY_STAFF, R.ADMINISTRATOR},
    }
)


def may_declare(user: Any, unit: Any = None) -> bool:
    """Leaders, the district and administrators; department staff only of the 应急管理办公室."""
    if is_unrestricted(user):
        return True
    if not can(user, "emergency.declare", unit):
        return False
    roles = roles_of(user)
    if roles & {R.LEADER, R.DISTRICT_STAFF, R.ADMINISTRATOR}:
        return True
    depts = departments_of(user)
    return bool(depts) and Department.objects.filter(pk__in=depts, code=EMERGENCY_DEPARTMENT).exists()
