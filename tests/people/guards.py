"""Route guards of the people module, for tests/test_routes.py: every page, export, form, action and API
route refuses anonymous users and an out-of-scope persona (grid_b, comm_b or other_leader for records of
grid_a; a volunteer, who holds no people action, for the lists)."""

from __future__ import annotations

from datetime import date
from typing import Any

from jiedao.core.models import User
from jiedao.people import services
from jiedao.people.models import (
    Building,
    CareSubject,
    Compound,
    Dwelling,
    Household,
    Organisation,
    PeopleImport,
    Resident,
    ResidentTag,
    Tag,
    Visit,
)
from tests.guard import Guard
from tests.people.helpers import id_number
from tests.world import World

GUARD_NAME = "路由测试居民"


def _keeper(world: World) -> User:
    return world["comm_a"]


def _resident(world: World) -> Resident:
    found = Resident.objects.filter(name=GUARD_NAME).first()
    if found is not None:
        return found
    home = _dwelling(world)
    household = Household.objects.filter(dwelling=home).first() or services.create(
        _keeper(world), Household, {"dwelling": home, "number": "GUARD-1"}
    )
    return services.create(
        _keeper(world),
        Resident,
        {
            "org_unit": world.grid_a,
            "name": GUARD_NAME,
            "id_number": id_number(date(1945, 4, 5), 777),
            "phone": "13866667777",
            "household": household,
            "relation": "head",
            "dwelling": home,
        },
    )


def _dwelling(world: World) -> Dwelling:
    found = Dwelling.objects.filter(building__compound__name="路由测试小区").first()
    if found is not None:
        return found
    compound = services.create(_keeper(world), Compound, {"org_unit": world.grid_a, "name": "路由测试小区"})
    building = services.create(_keeper(world), Building, {"compound": compound, "name": "1号楼"})
    return services.create(_keeper(world), Dwelling, {"building": building, "number": "101"})


def _care(world: World) -> CareSubject:
    resident = _resident(world)
    return resident.care.first() or services.add_care(_keeper(world), resident, reason="空巢老人")


def _pk(getter: Any) -> Any:
    return lambda world: {"pk": getter(world).pk}


def _organisation(world: World) -> Organisation:
    return Organisation.objects.filter(name="路由测试单位").first() or services.create(
        _keeper(world), Organisation, {"org_unit": world.grid_a, "name": "路由测试单位", "kind": "social"}
    )


def _tag_item(world: World) -> dict[str, Any]:
    resident = _resident(world)
    item = resident.tags.first() or services.add_tag(_keeper(world), resident, Tag.objects.get(code="dibao"))
    assert isinstance(item, ResidentTag)
    return {"pk": resident.pk, "item": item.pk}


def _visit(world: World) -> dict[str, Any]:
    care = _care(world)
    visit = care.visits.first() or Visit.objects.create(
        care=care, org_unit=care.org_unit, visited_on=date(2026, 1, 5), visitor=world["grid_a"], summary="x"
    )
    return {"pk": visit.pk}


def _import(world: World) -> dict[str, Any]:
    found = PeopleImport.objects.filter(filename="guard.csv").first()
    if found is None:
        found = PeopleImport.objects.create(
            token="guardimport0001",
            kind="residents",
            file="people/imports/guard/guard.csv",
            filename="guard.csv",
            org_unit=world.community_a,
            created_by=world["comm_a"],
        )
    return {"token": found.token}


def _hidden_resident(world: World) -> str:
    return _resident(world).name


GUARDS: dict[str, Guard] = {
    # lists: a scoped list must not show grid_a's record to grid_b
    "people:resident_list": Guard(outsider="grid_b", hidden=_hidden_resident),
    "people:household_list": Guard(outsider="volunteer"),
    "people:compound_list": Guard(outsider="grid_b", hidden=lambda w: _dwelling(w).building.compound.name),
    "people:building_list": Guard(outsider="volunteer"),
    "people:dwelling_list": Guard(outsider="volunteer"),
    "people:organisation_list": Guard(outsider="grid_b", hidden=lambda w: _organisation(w).name),
    "people:care_list": Guard(outsider="grid_b", hidden=lambda w: _care(w).resident.name),
    "people:resident_export": Guard(outsider="volunteer"),
    "people:household_export": Guard(outsider="volunteer"),
    "people:compound_export": Guard(outsider="volunteer"),
    "people:building_export": Guard(outsider="volunteer"),
    "people:dwelling_export": Guard(outsider="volunteer"),
    "people:organisation_export": Guard(outsider="volunteer"),
    "people:care_export": Guard(outsider="volunteer"),
    # forms: only keepers
    "people:resident_create": Guard(outsider="leader"),
    "people:household_create": Guard(outsider="leader"),
    "people:compound_create": Guard(outsider="leader"),
    "people:building_create": Guard(outsider="leader"),
    "people:dwelling_create": Guard(outsider="leader"),
    "people:organisation_create": Guard(outsider="auditor"),
    # one record of grid_a each
    "people:resident_detail": Guard(kwargs=_pk(_resident), outsider="grid_b"),
    "people:resident_edit": Guard(kwargs=_pk(_resident), outsider="comm_b"),
    "people:household_detail": Guard(kwargs=_pk(lambda w: _resident(w).household), outsider="other_leader"),
    "people:household_edit": Guard(kwargs=_pk(lambda w: _resident(w).household), outsider="grid_b"),
    "people:compound_detail": Guard(kwargs=_pk(lambda w: _dwelling(w).building.compound), outsider="grid_b"),
    "people:compound_edit": Guard(kwargs=_pk(lambda w: _dwelling(w).building.compound), outsider="leader"),
    "people:building_detail": Guard(kwargs=_pk(lambda w: _dwelling(w).building), outsider="comm_b"),
    "people:building_edit": Guard(kwargs=_pk(lambda w: _dwelling(w).building), outsider="grid_b"),
    "people:dwelling_detail": Guard(kwargs=_pk(_dwelling), outsider="grid_b"),
    "people:dwelling_edit": Guard(kwargs=_pk(_dwelling), outsider="grid_b"),
    "people:organisation_detail": Guard(kwargs=_pk(_organisation), outsider="grid_b"),
    "people:organisation_edit": Guard(kwargs=_pk(_organisation), outsider="grid_b"),
    "people:care_detail": Guard(kwargs=_pk(_care), outsider="grid_b"),
    # actions
    "people:resident_reveal": Guard(
        kwargs=lambda w: {"pk": _resident(w).pk, "field": "id_number"}, outsider="leader", method="post"
    ),
    "people:resident_tag": Guard(kwargs=_pk(_resident), outsider="grid_b", method="post"),
    "people:resident_tag_end": Guard(kwargs=_tag_item, outsider="grid_b", method="post"),
    "people:resident_move_out": Guard(kwargs=_pk(_resident), outsider="grid_b", method="post"),
    "people:care_add": Guard(kwargs=_pk(_resident), outsider="grid_b", method="post"),
    "people:care_change": Guard(kwargs=_pk(_care), outsider="grid_b", method="post"),
    "people:care_visit": Guard(kwargs=_pk(_care), outsider="grid_b", method="post"),
    "people:visit_photo": Guard(kwargs=_visit, outsider="grid_b"),
    # the REST API
    "resident-list": Guard(outsider="volunteer", api=True),
    "resident-detail": Guard(kwargs=_pk(_resident), outsider="grid_b", api=True),
    "resident-reveal": Guard(kwargs=_pk(_resident), outsider="leader", api=True, method="post"),
    "household-list": Guard(outsider="volunteer", api=True),
    "household-detail": Guard(kwargs=_pk(lambda w: _resident(w).household), outsider="grid_b", api=True),
    "compound-list": Guard(outsider="volunteer", api=True),
    "compound-detail": Guard(
        kwargs=_pk(lambda w: _dwelling(w).building.compound), outsider="grid_b", api=True
    ),
    "building-list": Guard(outsider="volunteer", api=True),
    "building-detail": Guard(kwargs=_pk(lambda w: _dwelling(w).building), outsider="grid_b", api=True),
    "dwelling-list": Guard(outsider="volunteer", api=True),
    "dwelling-detail": Guard(kwargs=_pk(_dwelling), outsider="grid_b", api=True),
    "organisation-list": Guard(outsider="volunteer", api=True),
    "organisation-detail": Guard(kwargs=_pk(_organisation), outsider="grid_b", api=True),
}

GUARDS |= {  # the import pages
    "people:import_list": Guard(outsider="leader"),
    "people:import_upload": Guard(outsider="grid_a"),
    "people:import_template": Guard(kwargs=lambda w: {"kind": "residents"}, outsider="volunteer"),
    "people:import_detail": Guard(kwargs=_import, outsider="comm_b"),
    "people:import_check": Guard(kwargs=_import, outsider="comm_b", method="post"),
    "people:import_commit": Guard(kwargs=_import, outsider="comm_b", method="post"),
    "people:import_progress": Guard(kwargs=_import, outsider="comm_b"),
    "people:import_errors": Guard(kwargs=_import, outsider="comm_b"),
}
