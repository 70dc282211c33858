"""Who may do what in expropriation (registered with `jiedao.core.permissions`, plus the project's people).

Decided here (the issue leaves it open):
- Reading (`relocation.view`): staff in the project's scope (leaders, departments, the community or village
  where the land is, its grid workers, the district, auditors) and everybody working on the project. The
  community's staff and grid workers meet these households every day; the auditor checks the figures.
  Volunteers and residents see nothing: valuations and owners' phones are not theirs to read.
- Acting on a household (stage step, visit log, reminders, documents, reveal the phone) is for the people
  working on it: its 包户人, the members and leader of its team, the project's leader, and the leaders
  (班子成员) and administrators in scope (`relocation.manage`), who supervise. A staff member in scope who is
  not on the project reads only: the team's work is the team's.
- Moving a household back (with a reason) is for the team leader, the project leader and the leaders in
  scope, not for an ordinary member: it undoes counted progress.
- Creating and changing projects, teams, the checklist, importing households and assigning 包户 are
  `relocation.manage` (leaders, administrators) or the project's own leader.
- Exporting is for staff in scope except grid workers and auditors (the list holds valuations of a whole
  project; a grid worker works household by household, the auditor reads on screen).
"""

from __future__ import annotations

from typing import Any

from jiedao.core.models import Role
from jiedao.core.permissions import STAFF_READERS, can, is_unrestricted, register

R = Role
WORKERS = {R.LEADER, R.DEPARTMENT_STAFF, R.COMMUNITY_STAFF, R.GRID_WORKER, R.ADMINISTRATOR}
MANAGERS = {R.LEADER, R.ADMINISTRATOR}

register(
    {
        "relocation.view": STAFF_READERS,
        "relocation.work": WORKERS,
        "relocation.manage": MANAGERS,
        "relocation.export": STAFF_READERS - {R.GRID_WORKER, R.AUDITOR},
    }
)


def _active(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def _team_ids(user: Any, project: Any) -> tuple[set[int], set[int]]:
    """(teams the user leads, teams the user is a member of) in `project`, cached on the user per project."""
    cache: dict[int, tuple[set[int], set[int]]] = user.__dict__.setdefault("_relocation_teams", {})
    found = cache.get(project.pk)
    if found is None:
        from jiedao.relocation.models import Team

        led = set(Team.objects.filter(project=project, leader=user).values_list("pk", flat=True))
        member = set(Team.objects.filter(project=project, members=user).values_list("pk", flat=True))
        found = cache[project.pk] = (led, member)
    return found


def forget(user: Any) -> None:
    user.__dict__.pop("_relocation_teams", None)


def participates(user: Any, project: Any) -> bool:
    if not _active(user):
        return False
    if project.leader_id == user.pk:
        return True
    led, member = _team_ids(user, project)
    return bool(led or member)


def may_view(user: Any, project: Any) -> bool:
    return can(user, "relocation.view", project) or participates(user, project)


def may_manage(user: Any, project: Any) -> bool:
    """Change the project, its teams and checklist, import households, assign 包户."""
    if not _active(user):
        return False
    return can(user, "relocation.manage", project) or project.leader_id == user.pk


def may_work(user: Any, household: Any) -> bool:
    """Step forward, log a visit, set reminders, upload documents, reveal the phone."""
    if not _active(user):
        return False
    project = household.project
    if is_unrestricted(user) or may_manage(user, project):
        return True
    if not can(user, "relocation.work"):
        return False
    if household.staff_id == user.pk:
        return True
    led, member = _team_ids(user, project)
    return household.team_id is not None and household.team_id in (led | member)


def may_step_back(user: Any, household: Any) -> bool:
    if not _active(user):
        return False
    project = household.project
    if is_unrestricted(user) or may_manage(user, project):
        return True
    led, _member = _team_ids(user, project)
    return household.team_id is not None and household.team_id in led
