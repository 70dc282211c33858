"""Route guards of the projects module, for tests/test_routes.py: every page, export, form, action and API
route refuses anonymous users and an out-of-scope persona (other_leader, the other sub-district's leader,
for a project and meeting of 陇海; comm_b for a project of community A; grid_b or the volunteer, who hold no
projects action, for the lists)."""

from __future__ import annotations

from typing import Any

from tests.guard import Guard
from tests.projects import helpers
from tests.world import World


def _p(world: World) -> dict[str, Any]:
    return {"pk": helpers.project(world).pk}


def _m(world: World) -> dict[str, Any]:
    return {"pk": helpers.meeting(world).pk}


def _milestone(world: World) -> dict[str, Any]:
    p = helpers.full_project(world)
    return {"pk": p.pk, "milestone_pk": p.milestones.first().pk}  # type: ignore[union-attr]


def _problem(world: World) -> dict[str, Any]:
    p = helpers.full_project(world)
    return {"pk": p.pk, "problem_pk": p.problems.first().pk}  # type: ignore[union-attr]


def _attachment(world: World) -> dict[str, Any]:
    p = helpers.full_project(world)
    return {"pk": p.pk, "attachment_pk": p.attachments.first().pk}  # type: ignore[union-attr]


def _decision(world: World) -> dict[str, Any]:
    d = helpers.decision(world)
    return {"pk": d.meeting_id, "decision_pk": d.pk}


GUARDS: dict[str, Guard] = {
    "projects:project_list": Guard(outsider="other_leader", hidden=lambda w: helpers.project(w).name),
    "projects:my_projects": Guard(outsider="grid_b"),
    "projects:project_export": Guard(outsider="volunteer"),
    "projects:project_create": Guard(outsider="comm_a"),
    "projects:project_detail": Guard(kwargs=_p, outsider="comm_b"),
    "projects:project_edit": Guard(kwargs=_p, outsider="comm_a"),
    "projects:investment_edit": Guard(kwargs=_p, outsider="other_leader"),
    "projects:milestone_create": Guard(kwargs=_p, outsider="comm_a"),
    "projects:milestone_edit": Guard(kwargs=_milestone, outsider="other_leader"),
    "projects:problem_create": Guard(kwargs=_p, outsider="auditor"),
    "projects:problem_edit": Guard(kwargs=_problem, outsider="comm_a"),
    "projects:note_create": Guard(kwargs=_p, outsider="comm_b"),
    "projects:attachment_create": Guard(kwargs=_p, outsider="district"),
    "projects:attachment_download": Guard(kwargs=_attachment, outsider="comm_b"),
    "projects:attachment_remove": Guard(kwargs=_attachment, outsider="comm_a", method="post"),
    "projects:meeting_list": Guard(outsider="other_leader", hidden=lambda w: helpers.meeting(w).title),
    "projects:meeting_create": Guard(outsider="comm_a"),
    "projects:meeting_detail": Guard(kwargs=_m, outsider="comm_a"),
    "projects:meeting_edit": Guard(kwargs=_m, outsider="auditor"),
    "projects:decision_create": Guard(kwargs=_m, outsider="other_leader"),
    "projects:decision_edit": Guard(kwargs=_decision, outsider="comm_b"),
    "projects:decision_delete": Guard(kwargs=_decision, outsider="auditor", method="post"),
    "key-project-list": Guard(outsider="other_leader", hidden=lambda w: helpers.project(w).name, api=True),
    "key-project-detail": Guard(kwargs=_p, outsider="comm_b", api=True),
    "key-project-investments": Guard(kwargs=_p, outsider="comm_a", api=True, method="post"),
    "key-project-notes": Guard(kwargs=_p, outsider="comm_b", api=True, method="post"),
    "meeting-list": Guard(outsider="other_leader", hidden=lambda w: helpers.meeting(w).title, api=True),
    "meeting-detail": Guard(kwargs=_m, outsider="comm_b", api=True),
}
