"""Route guards of the patrol module, for tests/test_routes.py: every page, export, action and API route
refuses anonymous users and an out-of-scope persona (grid_b or other_leader for records of grid_a and
陇一社区; a volunteer, who holds no patrol action, for the module-wide pages)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jiedao.patrol import services
from jiedao.patrol.models import (
    CheckStatus,
    EmergencyEvent,
    EventCheck,
    EventLevel,
    HazardKind,
    PatrolPlan,
    PatrolRecord,
)
from tests.guard import Guard
from tests.patrol.helpers import make_points
from tests.world import World

EVENT_KIND = "路由测试预警"
PLAN_NAME = "路由测试巡查计划"


def _event(world: World) -> EmergencyEvent:
    found = EmergencyEvent.objects.filter(kind=EVENT_KIND).first()
    if found is not None:
        return found
    make_points(world)
    return services.declare_event(
        world["leader"],
        kind=EVENT_KIND,
        level=EventLevel.RED,
        areas=[world.community_a],
        point_kinds=list(HazardKind.objects.all()),
    )


def _check(world: World) -> EventCheck:
    event = _event(world)
    check = EventCheck.objects.filter(event=event, org_unit=world.grid_a).order_by("pk").first()
    assert check is not None
    if check.status == CheckStatus.PENDING:
        check = services.check_point(world["grid_a"], check, services.CheckInput(status=CheckStatus.OK))
    return check


def _plan(world: World) -> PatrolPlan:
    found = PatrolPlan.objects.filter(name=PLAN_NAME).first()
    if found is not None:
        return found
    pts = make_points(world)
    return services.save_plan(
        world["comm_a"],
        None,
        {"org_unit": world.grid_a, "name": PLAN_NAME, "every_days": 7},
        [pts.a1, pts.a2],
    )


def _record(world: World) -> PatrolRecord:
    plan = _plan(world)
    found = plan.records.first()
    if found is not None:
        return found
    pts = make_points(world)
    return services.record_patrol(world["grid_a"], plan, [services.ItemInput(pts.a1, CheckStatus.OK)])


def _pk(get: Callable[[World], Any]) -> Callable[[World], dict[str, Any]]:
    return lambda w: {"pk": get(w).pk}


def _point_name(world: World) -> str:
    return make_points(world).a1.name


GUARDS: dict[str, Guard] = {
    "patrol:point_list": Guard(outsider="grid_b", hidden=_point_name),
    "patrol:point_export": Guard(outsider="volunteer"),
    "patrol:point_create": Guard(outsider="auditor"),
    "patrol:point_import": Guard(outsider="grid_b"),
    "patrol:point_import_template": Guard(outsider="grid_b"),
    "patrol:point_detail": Guard(kwargs=_pk(lambda w: make_points(w).a1), outsider="grid_b"),
    "patrol:point_edit": Guard(kwargs=_pk(lambda w: make_points(w).a1), outsider="comm_b"),
    "patrol:photo": Guard(kwargs=lambda w: {"kind": "check", "pk": _check(w).pk}, outsider="grid_b"),
    "patrol:map": Guard(outsider="volunteer"),
    "patrol:map_data": Guard(outsider="grid_b", hidden=_point_name),
    "patrol:event_list": Guard(outsider="grid_b", hidden=lambda w: _event(w).kind),
    "patrol:event_create": Guard(outsider="grid_a"),
    "patrol:event_detail": Guard(kwargs=_pk(_event), outsider="grid_b"),
    "patrol:event_board": Guard(kwargs=_pk(_event), outsider="other_leader"),
    "patrol:event_mine": Guard(kwargs=_pk(_event), outsider="grid_b"),
    "patrol:event_check": Guard(
        kwargs=lambda w: {"pk": _event(w).pk, "check": _check(w).pk}, outsider="grid_b"
    ),
    "patrol:event_record": Guard(kwargs=_pk(_event), outsider="grid_b", method="post"),
    "patrol:event_close": Guard(kwargs=_pk(_event), outsider="grid_a", method="post"),
    "patrol:event_summary": Guard(kwargs=_pk(_event), outsider="other_leader"),
    "patrol:event_summary_export": Guard(kwargs=_pk(_event), outsider="grid_b"),
    "patrol:plan_list": Guard(outsider="grid_b", hidden=lambda w: _plan(w).name),
    "patrol:plan_create": Guard(outsider="grid_a"),
    "patrol:plan_detail": Guard(kwargs=_pk(_plan), outsider="grid_b"),
    "patrol:plan_edit": Guard(kwargs=_pk(_plan), outsider="comm_b"),
    "patrol:plan_patrol": Guard(kwargs=_pk(_plan), outsider="grid_b"),
    "patrol:record_list": Guard(outsider="grid_b", hidden=lambda w: _record(w).plan.name),  # type: ignore[union-attr]
    "patrol:record_detail": Guard(kwargs=_pk(_record), outsider="grid_b"),
    "patrol:coverage": Guard(outsider="volunteer"),
    # API
    "hazard-point-list": Guard(outsider="grid_b", hidden=_point_name, api=True),
    "hazard-point-detail": Guard(kwargs=_pk(lambda w: make_points(w).a1), outsider="grid_b", api=True),
    "patrol-plan-list": Guard(outsider="grid_b", hidden=lambda w: _plan(w).name, api=True),
    "patrol-plan-detail": Guard(kwargs=_pk(_plan), outsider="grid_b", api=True),
    "patrol-record-list": Guard(outsider="volunteer", api=True),
    "patrol-record-detail": Guard(kwargs=_pk(_record), outsider="grid_b", api=True),
    "emergency-event-list": Guard(outsider="grid_b", hidden=lambda w: _event(w).kind, api=True),
    "emergency-event-detail": Guard(kwargs=_pk(_event), outsider="grid_b", api=True),
    "emergency-event-figures": Guard(kwargs=_pk(_event), outsider="other_leader", api=True),
    "emergency-event-checks": Guard(kwargs=_pk(_event), outsider="grid_b", api=True),
}
