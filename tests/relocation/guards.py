"""Route guards of the relocation module, for tests/test_routes.py: every page, export, form, action and API
route refuses anonymous users and an out-of-scope persona (other_leader, leader of another sub-district, for
the test project's records; comm_b, staff of another community, for the lists; comm_a, who manages nothing,
for creating a project)."""

from __future__ import annotations

from typing import Any

from jiedao.relocation import services
from jiedao.relocation.models import HouseholdDocument, VisitReminder
from tests.guard import Guard
from tests.relocation.helpers import PROJECT_NAME, build, pdf
from tests.world import World


def _project(world: World) -> dict[str, Any]:
    return {"pk": build(world).project.pk}


def _household(world: World) -> dict[str, Any]:
    return {"pk": build(world).a1.pk}


def _team(world: World) -> dict[str, Any]:
    return {"pk": build(world).team1.pk}


def _kind(world: World) -> dict[str, Any]:
    return {"pk": build(world).kind("产权证明").pk}


def _reminder(world: World) -> dict[str, Any]:
    setup = build(world)
    found = VisitReminder.objects.filter(household=setup.a1).first()
    if found is None:
        found = services.set_reminder(world["grid_a"], setup.a1, due_on=services.today())
    return {"pk": found.pk}


def _document(world: World) -> dict[str, Any]:
    from jiedao.cases.uploads import check_uploads

    setup = build(world)
    found = HouseholdDocument.objects.filter(household=setup.a1).first()
    if found is None:
        found = services.upload_documents(
            world["grid_a"], setup.a1, setup.kind("产权证明"), check_uploads([], [pdf()])
        )[0]
    return {"pk": found.pk}


VISIT_TALK = "路由测试走访记录"


def _visit(world: World) -> Any:
    from jiedao.relocation.models import Visit

    setup = build(world)
    found = Visit.objects.filter(household=setup.a1, talk=VISIT_TALK).first()
    if found is None:
        found = services.record_visit(
            world["grid_a"], setup.a1, visited_on=services.today(), talk=VISIT_TALK, attitude="waiting"
        )
    return found


def _visit_text(world: World) -> str:
    return str(_visit(world).talk)


OUT = "other_leader"

GUARDS: dict[str, Guard] = {
    "relocation:project_list": Guard(outsider="comm_b", hidden=lambda w: PROJECT_NAME),
    "relocation:project_create": Guard(outsider="comm_a"),
    "relocation:project_detail": Guard(kwargs=_project, outsider=OUT),
    "relocation:project_edit": Guard(kwargs=_project, outsider="comm_a"),
    "relocation:board": Guard(kwargs=_project, outsider=OUT),
    "relocation:team_create": Guard(kwargs=_project, outsider="grid_a"),
    "relocation:kind_create": Guard(kwargs=_project, outsider="grid_a"),
    "relocation:household_list": Guard(kwargs=_project, outsider=OUT),
    "relocation:household_export": Guard(kwargs=_project, outsider="grid_a"),
    "relocation:household_create": Guard(kwargs=_project, outsider="comm_a"),
    "relocation:import": Guard(kwargs=_project, outsider="grid_a"),
    "relocation:import_template": Guard(kwargs=_project, outsider="grid_a"),
    "relocation:team_edit": Guard(kwargs=_team, outsider="comm_a"),
    "relocation:kind_edit": Guard(kwargs=_kind, outsider="comm_a"),
    "relocation:household_detail": Guard(kwargs=_household, outsider=OUT),
    "relocation:household_edit": Guard(kwargs=_household, outsider="auditor"),
    "relocation:household_advance": Guard(kwargs=_household, outsider="auditor", method="post"),
    "relocation:household_back": Guard(kwargs=_household, outsider="grid_a", method="post"),
    "relocation:household_visit": Guard(kwargs=_household, outsider="dept_xinfang", method="post"),
    "relocation:household_reminder": Guard(kwargs=_household, outsider="dept_xinfang", method="post"),
    "relocation:household_upload": Guard(kwargs=_household, outsider="auditor", method="post"),
    "relocation:household_phone": Guard(kwargs=_household, outsider="auditor", method="post"),
    "relocation:reminder_close": Guard(kwargs=_reminder, outsider=OUT, method="post"),
    "relocation:document_download": Guard(kwargs=_document, outsider=OUT),
    "relocation:document_delete": Guard(kwargs=_document, outsider="comm_b", method="post"),
    "relocation-project-list": Guard(outsider=OUT, hidden=lambda w: PROJECT_NAME, api=True),
    "relocation-project-detail": Guard(kwargs=_project, outsider=OUT, api=True),
    "relocation-project-board": Guard(kwargs=_project, outsider=OUT, api=True),
    "relocation-household-list": Guard(outsider=OUT, hidden=lambda w: "王建国", api=True),
    "relocation-household-detail": Guard(kwargs=_household, outsider=OUT, api=True),
    "relocation-household-advance": Guard(kwargs=_household, outsider="auditor", method="post", api=True),
    "relocation-household-back": Guard(kwargs=_household, outsider=OUT, method="post", api=True),
    "relocation-visit-list": Guard(outsider=OUT, hidden=_visit_text, api=True),
    "relocation-visit-detail": Guard(kwargs=lambda w: {"pk": _visit(w).pk}, outsider=OUT, api=True),
}
