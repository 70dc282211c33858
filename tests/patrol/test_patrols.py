"""Routine patrols: plans, records (a finding becomes a case), coverage figures on a fixture, overdue plans
through the shared deadline engine; and the WGS84 → GCJ-02 display conversion."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from jiedao.cases.models import Channel
from jiedao.core.deadlines import run_due
from jiedao.core.models.deadlines import DueState
from jiedao.notifications.models import Notification
from jiedao.patrol import geo, queries, services
from jiedao.patrol.models import CheckStatus, PatrolPlan, PatrolRecord
from tests.patrol.helpers import Points
from tests.world import World

pytestmark = pytest.mark.django_db


def plan_for(world: World, points: Points, every: int = 7) -> PatrolPlan:
    return services.save_plan(
        world["comm_a"],
        None,
        {"org_unit": world.grid_a, "name": "每周巡查", "every_days": every, "worker": world["grid_a"]},
        [points.a1, points.a2],
    )


def test_plan_points_must_lie_in_the_grid(world: World, points: Points) -> None:
    with pytest.raises(ValidationError):
        services.save_plan(
            world["comm_a"], None, {"org_unit": world.grid_a, "name": "x", "every_days": 7}, [points.a3]
        )
    with pytest.raises(PermissionDenied):
        services.save_plan(
            world["comm_b"], None, {"org_unit": world.grid_a, "name": "x", "every_days": 7}, [points.a1]
        )


def test_record_patrol_moves_the_due_time_and_files_findings(world: World, points: Points) -> None:
    plan = plan_for(world, points)
    record = services.record_patrol(
        world["grid_a"],
        plan,
        [
            services.ItemInput(points.a1, CheckStatus.OK),
            services.ItemInput(points.a2, CheckStatus.HAZARD, "树枝断裂悬挂"),
        ],
        latitude=34.73,
        longitude=113.68,
        idempotency_key="p1",
    )
    again = services.record_patrol(
        world["grid_a"], plan, [services.ItemInput(points.a1, CheckStatus.OK)], idempotency_key="p1"
    )
    assert again.pk == record.pk and PatrolRecord.objects.count() == 1
    finding = record.items.get(point=points.a2)
    assert (
        finding.case is not None
        and finding.case.channel == Channel.PATROL
        and finding.case.category.code == "safety-tree"
    )
    plan.refresh_from_db()
    assert plan.due_state == DueState.PENDING
    assert abs((plan.due_at - (record.patrolled_at + timedelta(days=7))).total_seconds()) < 1
    with pytest.raises(PermissionDenied):
        services.record_patrol(world["grid_b"], plan, [services.ItemInput(points.a1, CheckStatus.OK)])
    with pytest.raises(ValidationError):
        services.record_patrol(world["grid_a"], plan, [services.ItemInput(points.a3, CheckStatus.OK)])


def test_overdue_plan_warns_through_the_deadline_engine(world: World, points: Points) -> None:
    plan = plan_for(world, points, every=3)
    PatrolPlan.objects.filter(pk=plan.pk).update(due_at=timezone.now() - timedelta(hours=1))
    run_due()
    plan.refresh_from_db()
    assert plan.due_state == DueState.DONE and plan.warned_at is not None
    note = Notification.objects.get(kind="patrol.overdue")
    assert note.recipient == world["grid_a"] and "每周巡查" in note.title
    assert [p.pk for p in queries.overdue_plans(world["comm_a"])] == [plan.pk]
    assert queries.overdue_plans(world["grid_b"]) == []
    # A patrol puts it back on the clock.
    services.record_patrol(world["grid_a"], plan, [services.ItemInput(points.a1, CheckStatus.OK)])
    plan.refresh_from_db()
    assert plan.due_state == DueState.PENDING and plan.due_at > timezone.now()


def test_coverage_figures(world: World, points: Points) -> None:
    weekly = plan_for(world, points, every=7)  # 2 points
    monthly = services.save_plan(
        world["comm_b"], None, {"org_unit": world.grid_b, "name": "月巡", "every_days": 30}, [points.b1]
    )
    tz = timezone.get_current_timezone()
    # 1–14 March: the weekly plan asks for 2 patrols × 2 points = 4, the monthly one for 1 × 1.
    for day, items in ((2, [points.a1, points.a2]), (9, [points.a1])):
        record = services.record_patrol(
            world["grid_a"], weekly, [services.ItemInput(p, CheckStatus.OK) for p in items]
        )
        PatrolRecord.objects.filter(pk=record.pk).update(patrolled_at=datetime(2026, 3, day, 10, tzinfo=tz))
    outside = services.record_patrol(
        world["grid_a"],
        weekly,
        [services.ItemInput(points.a1, CheckStatus.HAZARD, "积水", depth_cm=10, passable="yes")],
    )
    PatrolRecord.objects.filter(pk=outside.pk).update(patrolled_at=datetime(2026, 3, 20, 10, tzinfo=tz))
    grids, workers = queries.coverage(world["leader"], date(2026, 3, 1), date(2026, 3, 14))
    by_grid = {r.label: (r.due, r.checked, r.percent, r.hazards) for r in grids}
    assert by_grid == {world.grid_a.name: (4, 3, 75, 0), world.grid_b.name: (1, 0, 0, 0)}
    assert [(r.label, r.due, r.checked) for r in workers] == [(str(world["grid_a"]), 4, 3)]
    # A grid worker sees their grid only.
    mine, _ = queries.coverage(world["grid_b"], date(2026, 3, 1), date(2026, 3, 14))
    assert [r.label for r in mine] == [world.grid_b.name]
    del monthly


def test_wgs84_to_gcj02() -> None:
    # The published transform: Tiananmen (39.9087, 116.3975) shifts by about +0.0014 lat, +0.0062 lng.
    lat, lng = geo.wgs84_to_gcj02(39.908722, 116.397499)
    assert abs(lat - 39.910124) < 2e-5 and abs(lng - 116.403743) < 2e-5
    assert geo.wgs84_to_gcj02(51.5, -0.12) == (51.5, -0.12)  # outside China: unchanged
    assert geo.for_display(34.73, 113.68, gcj02=False) == (34.73, 113.68)
    shifted = geo.shift_geometry(
        {"type": "Polygon", "coordinates": [[[113.68, 34.73], [113.69, 34.74]]]}, True
    )
    assert shifted["coordinates"][0][0] != [113.68, 34.73]


def test_gcj02_chosen_by_tile_host(settings: object) -> None:
    settings.MAP_TILE_URL = "https://webrd01.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}"  # type: ignore[attr-defined]
    assert geo.tiles_use_gcj02()
    settings.MAP_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"  # type: ignore[attr-defined]
    assert not geo.tiles_use_gcj02()
    settings.MAP_TILE_GCJ02 = True  # type: ignore[attr-defined]
    assert geo.tiles_use_gcj02()
