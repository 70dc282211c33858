"""Emergency mode: the fan-out, two workers on one point, a finding's case routing, the summary's figures."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from jiedao.cases.models import Case, Channel, DispatchRule, Outcome, Priority, Status
from jiedao.cases.uploads import check_photo
from jiedao.core.models import Department, Membership, Role, User
from jiedao.notifications.models import Notification
from jiedao.notifications.sms import outbox
from jiedao.patrol import services
from jiedao.patrol.models import (
    CheckStatus,
    EmergencyEvent,
    EventCheck,
    EventLevel,
    EventStatus,
    HazardKind,
    RecordKind,
)
from tests.patrol.helpers import Points, make_points, png
from tests.world import World

pytestmark = pytest.mark.django_db


def declare(world: World, areas: list, kinds: list[str] | None = None, **kw: Any) -> EmergencyEvent:
    point_kinds = list(HazardKind.objects.filter(code__in=kinds) if kinds else HazardKind.objects.all())
    return services.declare_event(
        world["leader"], kind="暴雨红色预警", level=EventLevel.RED, areas=areas, point_kinds=point_kinds, **kw
    )


def test_declaration_fans_out_to_exactly_the_right_points_and_workers(world: World, points: Points) -> None:
    outbox.clear()
    event = declare(world, [world.community_a, world.grid_b])
    checked = set(EventCheck.objects.filter(event=event).values_list("point_id", flat=True))
    # Active points in the affected units only: not the retired billboard, not 二里岗's point.
    assert checked == {points.a1.pk, points.a2.pk, points.a3.pk, points.b1.pk}
    assert {c.org_path for c in EventCheck.objects.filter(event=event, point=points.b1)} == {
        world.grid_b.path
    }
    notified = Notification.objects.filter(kind="patrol.event", url=f"/patrol/events/{event.pk}/mine/")
    by_user = {n.recipient.username: n for n in notified.select_related("recipient")}
    assert set(by_user) == {"grid_a", "grid_a_night", "grid_a2_worker", "grid_b"}
    assert "2 个隐患点" in by_user["grid_a"].title and "测试陇海路积水点" in by_user["grid_a"].body
    assert (
        "1 个隐患点" in by_user["grid_a2_worker"].title and "测试南仓街危房" in by_user["grid_a2_worker"].body
    )
    assert "测试陇海路涵洞" in by_user["grid_b"].body and "测试陇海路积水点" not in by_user["grid_b"].body
    assert event.notified == 4
    # SMS after commit is a separate test (on_commit); here the inbox is the part of the transaction.


def test_declaration_limits_to_the_chosen_kinds(world: World, points: Points) -> None:
    event = declare(world, [world.subdistrict], kinds=["waterlog", "underpass"])
    assert set(EventCheck.objects.filter(event=event).values_list("point_id", flat=True)) == {
        points.a1.pk,
        points.b1.pk,
    }
    users = set(
        Notification.objects.filter(kind="patrol.event").values_list("recipient__username", flat=True)
    )
    assert users == {"grid_a", "grid_a_night", "grid_b"}  # grid_a2 has no point of those kinds


def test_declaration_sends_sms_after_commit(
    world: World, points: Points, django_capture_on_commit_callbacks
) -> None:
    outbox.clear()
    User.objects.filter(username="grid_b").update(mobile="13911112222")
    with django_capture_on_commit_callbacks(execute=True):
        declare(world, [world.grid_b])
    assert [m.phone for m in outbox] == ["13911112222"]
    assert "暴雨红色预警" in outbox[0].text


def test_who_may_declare(world: World, points: Points) -> None:
    kinds = list(HazardKind.objects.all())
    for username in ("grid_a", "comm_a", "dept_xinfang", "auditor"):
        with pytest.raises(PermissionDenied):
            services.declare_event(
                world[username], kind="暴雨", level="red", areas=[world.community_a], point_kinds=kinds
            )
    with pytest.raises(PermissionDenied):  # a leader elsewhere
        services.declare_event(
            world["other_leader"], kind="暴雨", level="red", areas=[world.community_a], point_kinds=kinds
        )
    # Department staff of the 应急管理办公室 may.
    yingji = Department.objects.create(org_unit=world.subdistrict, code="yingji", name="应急办")
    staff = User.objects.create_user(username="dept_yingji_t", password="x")
    Membership.objects.create(
        user=staff, org_unit=world.subdistrict, role=Role.DEPARTMENT_STAFF, department=yingji
    )
    event = services.declare_event(
        staff, kind="暴雨", level="red", areas=[world.community_a], point_kinds=kinds
    )
    assert event.checks.count() == 3


def test_double_submit_declares_once(world: World, points: Points) -> None:
    first = declare(world, [world.community_a], idempotency_key="k1")
    again = declare(world, [world.community_a], idempotency_key="k1")
    assert first.pk == again.pk and EventCheck.objects.filter(event=first).count() == 3


def test_two_workers_checking_one_point_one_wins(world: World, points: Points) -> None:
    event = declare(world, [world.grid_a])
    check = EventCheck.objects.get(event=event, point=points.a2)
    won = services.check_point(world["grid_a"], check, services.CheckInput(status=CheckStatus.OK))
    assert won.checked_by == world["grid_a"]
    with pytest.raises(services.ConflictError) as refused:
        services.check_point(
            points.night, check, services.CheckInput(status=CheckStatus.HAZARD, note="树倒了")
        )
    assert "赵强" in str(refused.value) or "grid_a" in str(refused.value) or "网格员" in str(refused.value)
    check.refresh_from_db()
    assert check.status == CheckStatus.OK and check.checked_by == world["grid_a"] and check.case is None
    # The winner's own repeat (a double tap) is not an error.
    assert (
        services.check_point(world["grid_a"], check, services.CheckInput(status=CheckStatus.OK)).pk
        == check.pk
    )


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_the_same_moment(tx_world: World, settings: object) -> None:
    """Two connections check one point at once: exactly one update wins."""
    pts = make_points(tx_world)
    event = declare(tx_world, [tx_world.grid_a])
    check = EventCheck.objects.get(event=event, point=pts.a2)
    results: list[str] = []
    barrier = threading.Barrier(2)

    def run(user: User) -> None:
        try:
            barrier.wait()
            services.check_point(
                user, EventCheck.objects.get(pk=check.pk), services.CheckInput(status=CheckStatus.OK)
            )
            results.append("won")
        except services.ConflictError:
            results.append("told")
        except Exception as exc:  # SQLite may refuse the second writer while the first holds the lock
            results.append(f"error {exc}")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(u,)) for u in (tx_world["grid_a"], pts.night)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("won") == 1, results
    assert EventCheck.objects.get(pk=check.pk).status == CheckStatus.OK


def test_a_finding_becomes_a_routed_hazard_case(world: World, points: Points) -> None:
    event = declare(world, [world.community_a])
    check = EventCheck.objects.get(event=event, point=points.a1)
    upload = check_photo(png("water.png"))
    done = services.check_point(
        world["grid_a"],
        check,
        services.CheckInput(
            status=CheckStatus.HAZARD,
            note="积水 40 厘米，车辆无法通行",
            photo=upload,
            latitude=34.7301,
            longitude=113.6802,
            depth_cm=40,
            passable="no",
        ),
    )
    case = done.case
    assert case is not None
    assert case.category.code == "infra-water" and case.category.is_hazard
    assert case.channel == Channel.PATROL and case.priority == Priority.CRITICAL
    assert case.org_unit == world.grid_a and case.extra == {"depth_cm": 40.0, "passable": "no"}
    # No dispatch rule in this world: 属地管理, the community.
    assert case.status == Status.DISPATCHED and case.lead_unit == world.community_a
    assert case.attachments.count() == 1 and done.photo
    assert done.latitude == 34.7301
    # The point's page lists it; the case is in the case loop for 整改.
    assert Case.objects.visible_to(world["comm_a"]).filter(pk=case.pk).exists()


def test_a_finding_follows_the_dispatch_table(world: World, points: Points) -> None:
    from jiedao.cases.models import Category

    DispatchRule.objects.create(
        category=Category.objects.get(code="safety"),
        org_unit=world.subdistrict,
        target_department=world.dept_party,
    )
    event = declare(world, [world.grid_a2])
    check = EventCheck.objects.get(event=event, point=points.a3)
    done = services.check_point(
        points.a2_worker, check, services.CheckInput(status=CheckStatus.HAZARD, note="墙体开裂")
    )
    assert done.case is not None and done.case.category.code == "safety-house"
    assert done.case.lead_department == world.dept_party


def test_a_finding_needs_a_note_and_an_active_event(world: World, points: Points) -> None:
    event = declare(world, [world.grid_a])
    check = EventCheck.objects.get(event=event, point=points.a2)
    with pytest.raises(ValidationError):
        services.check_point(world["grid_a"], check, services.CheckInput(status=CheckStatus.HAZARD, note=""))
    with pytest.raises(PermissionDenied):  # another grid's worker
        services.check_point(world["grid_b"], check, services.CheckInput(status=CheckStatus.OK))
    services.close_event(world["leader"], event, version=event.version)
    with pytest.raises(ValidationError):
        services.check_point(world["grid_a"], check, services.CheckInput(status=CheckStatus.OK))


def test_summary_figures(world: World, points: Points) -> None:
    from jiedao.cases import services as case_services

    event = declare(world, [world.subdistrict])
    checks = {c.point_id: c for c in EventCheck.objects.filter(event=event)}
    assert len(checks) == 4
    services.check_point(
        world["grid_a"],
        checks[points.a1.pk],
        services.CheckInput(status=CheckStatus.HAZARD, note="积水", depth_cm=20, passable="yes"),
    )
    services.check_point(world["grid_a"], checks[points.a2.pk], services.CheckInput(status=CheckStatus.OK))
    found = services.check_point(
        world["grid_b"],
        checks[points.b1.pk],
        services.CheckInput(status=CheckStatus.HAZARD, note="涵洞积水", depth_cm=50, passable="no"),
    )
    # One hazard is rectified and closed through the case workflow.
    case = found.case
    assert case is not None
    for step, kw in (
        (case_services.sign, {}),
        (case_services.report, {"note": "已抽排"}),
        (case_services.verify, {}),
        (case_services.close, {"outcome": Outcome.RESOLVED, "reply": "已整改"}),
    ):
        case = step(None, case, version=None, **kw)  # type: ignore[arg-type]
    services.add_record(
        world["comm_a"],
        event,
        kind=RecordKind.EVACUATION,
        org_unit=world.community_a,
        people_count=12,
        destination="社区服务中心",
        note="一楼住户",
    )
    services.add_record(
        world["comm_b"],
        event,
        kind=RecordKind.EVACUATION,
        org_unit=world.grid_b,
        people_count=5,
        destination="小学",
        note="低洼户",
    )
    services.add_record(
        world["leader"], event, kind=RecordKind.MEASURE, org_unit=world.community_b, note="封闭涵洞"
    )
    closed = services.close_event(world["leader"], event, version=event.version, summary_note="平稳度汛")
    assert closed.status == EventStatus.CLOSED
    assert services.summary_figures(closed) == {
        "total": 4,
        "checked": 3,
        "ok": 1,
        "hazards": 2,
        "fixed": 1,
        "open_cases": 1,
        "unchecked": 1,
        "moved": 17,
        "evacuations": 2,
        "measures": 1,
    }


def test_records_refused_outside_the_event_or_after_close(world: World, points: Points) -> None:
    event = declare(world, [world.community_a])
    with pytest.raises(ValidationError):
        services.add_record(
            world["comm_b"], event, kind=RecordKind.MEASURE, org_unit=world.community_b, note="x"
        )
    with pytest.raises(ValidationError):
        services.add_record(
            world["comm_a"],
            event,
            kind=RecordKind.EVACUATION,
            org_unit=world.community_a,
            people_count=0,
            note="x",
        )
    with pytest.raises(PermissionDenied):
        services.close_event(world["comm_a"], event, version=None)
    services.close_event(world["leader"], event, version=None)
    with pytest.raises(ValidationError):
        services.add_record(
            world["comm_a"], event, kind=RecordKind.MEASURE, org_unit=world.community_a, note="x"
        )
