"""`manage.py demo`: the demo district on an empty database, idempotency, flags, geometry and scope."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from io import StringIO, TextIOBase
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, ProtectedError

from jiedao.audit.models import AuditEvent
from jiedao.core import demo
from jiedao.core.models import ContactCommunity, Department, Membership, OrgUnit, Role, User
from jiedao.core.models.scope import scoped_models

FIXED_ROLES = {
    "district": (Role.DISTRICT_STAFF, demo.DISTRICT_CODE),
    "leader": (Role.LEADER, demo.LONGHAI_CODE),
    "dept_xinfang": (Role.DEPARTMENT_STAFF, demo.LONGHAI_CODE),
    "comm_a": (Role.COMMUNITY_STAFF, demo.LONGYI_CODE),
    "comm_b": (Role.COMMUNITY_STAFF, demo.XINZHENGLU_CODE),
    "grid_a": (Role.GRID_WORKER, f"{demo.LONGYI_CODE}001"),
    "grid_b": (Role.GRID_WORKER, f"{demo.XINZHENGLU_CODE}001"),
    "volunteer": (Role.VOLUNTEER, demo.LONGYI_CODE),
    "auditor": (Role.AUDITOR, demo.LONGHAI_CODE),
    "admin": (Role.ADMINISTRATOR, demo.DISTRICT_CODE),
}


def _clear_database() -> None:
    """Remove the session's persona world (inside the test transaction, rolled back afterwards)."""
    pending: list[Any] = [*scoped_models(), User, OrgUnit]
    for _attempt in range(len(pending) + 1):
        blocked = []
        for model in pending:
            try:
                model._default_manager.all().delete()
            except ProtectedError:
                blocked.append(model)
        if not blocked:
            return
        pending = blocked
    raise AssertionError(f"could not empty {pending}")


@pytest.fixture
def empty_db(db: None) -> None:
    _clear_database()
    assert not OrgUnit.objects.exists()


def run_demo(*args: str) -> str:
    out = StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, Any]:
    return {
        "units": sorted(
            OrgUnit.objects.values_list(
                "code",
                "kind",
                "name",
                "short_name",
                "path",
                "numchild",
                "population",
                "households",
                "area_km2",
            )
        ),
        "boundaries": {u.code: u.boundary for u in OrgUnit.objects.all()},
        "departments": sorted(Department.objects.values_list("org_path", "code", "name", "duties")),
        "users": sorted(
            User.objects.values_list("username", "full_name", "title", "password", "is_superuser")
        ),
        "memberships": sorted(
            Membership.objects.values_list(
                "user__username", "org_path", "role", "department__code", "is_active"
            )
        ),
        "contacts": sorted(ContactCommunity.objects.values_list("leader__username", "org_path")),
        "history": OrgUnit.history.count() + User.history.count() + Membership.history.count(),
    }


def test_demo_builds_the_district_the_seeds_describe(empty_db: None) -> None:
    output = run_demo()
    assert "leader" in output and "jiedao-demo" in output

    district = OrgUnit.objects.get(code=demo.DISTRICT_CODE)
    assert district.name == "管城回族区" and district.kind == OrgUnit.Kind.DISTRICT
    subdistricts = OrgUnit.objects.filter(kind=OrgUnit.Kind.SUBDISTRICT)
    assert {s.short_name for s in subdistricts} == {"陇海马路街道", "二里岗街道"}

    longhai = OrgUnit.objects.get(code=demo.LONGHAI_CODE)
    assert longhai.area_km2 is not None and float(longhai.area_km2) == pytest.approx(3.4)
    assert longhai.population == 55000
    children = list(OrgUnit.objects.get_children(longhai))
    assert sum(c.kind == OrgUnit.Kind.COMMUNITY for c in children) == 8
    assert [c.name for c in children if c.kind == OrgUnit.Kind.VILLAGE] == ["陇海村"]
    assert sum(c.population or 0 for c in children) == 55000

    longyi = OrgUnit.objects.get(code=demo.LONGYI_CODE)
    assert longyi.name == "陇海东路第一社区"
    assert (longyi.population, longyi.households) == (7000, 2729)
    assert longyi.area_km2 is not None and float(longyi.area_km2) == pytest.approx(0.5, abs=0.06)

    erligang = OrgUnit.objects.get(code=demo.ERLIGANG_CODE)
    assert OrgUnit.objects.get_children(erligang).filter(kind=OrgUnit.Kind.COMMUNITY).count() == 8
    assert "紫云社区" in {c.name for c in OrgUnit.objects.get_children(erligang)}

    # Every community and village has 3–6 grids, coded community code + 3 digits, named after it.
    for unit in OrgUnit.objects.filter(kind__in=[OrgUnit.Kind.COMMUNITY, OrgUnit.Kind.VILLAGE]):
        grids = list(OrgUnit.objects.get_children(unit))
        assert 3 <= len(grids) <= 6, unit.name
        for number, grid in enumerate(grids, start=1):
            assert grid.kind == OrgUnit.Kind.GRID
            assert grid.code == f"{unit.code}{number:03d}"
            assert grid.name == f"{unit.display_name}第{number}网格"
        assert sum(g.population or 0 for g in grids) == unit.population

    # 12 leaders, each with one contact community in 陇海马路; nine units covered.
    leaders = User.objects.filter(memberships__role=Role.LEADER, memberships__org_unit=longhai)
    assert leaders.count() == 12
    assert {u.full_name for u in leaders} >= {"马建军", "陈瑞勇"}
    contacts = ContactCommunity.objects.filter(leader__in=leaders)
    assert contacts.count() == 12
    assert all(OrgUnit.objects.get_parent(c.org_unit) == longhai for c in contacts)
    assert contacts.values("org_unit").distinct().count() == 9
    assert ContactCommunity.objects.get(leader__username="leader").org_unit == longyi
    assert User.objects.get(username="leader").full_name == "马建军"
    assert User.objects.get(username="other_leader").full_name == "虎金治"

    departments = Department.objects.filter(org_unit=longhai)
    assert departments.count() == 12
    assert departments.get(code="xinfang").short_name == "信访办"
    assert Department.objects.filter(org_unit=erligang).exists()

    for username, (role, code) in FIXED_ROLES.items():
        user = User.objects.get(username=username)
        assert user.check_password("jiedao-demo"), username
        member = user.memberships.get()
        assert (member.role, member.org_unit.code) == (role, code), username
    xinfang = User.objects.get(username="dept_xinfang").memberships.get().department
    assert xinfang is not None and xinfang.code == "xinfang"
    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    assert not User.objects.filter(is_superuser=True).exclude(username="admin").exists()
    assert User.objects.get(username="leader02").check_password("jiedao-demo")

    event = AuditEvent.objects.get(kind="demo.load")
    assert event.actor_id is None
    assert event.data["totals"]["units"]["subdistrict"] == 2


def test_demo_is_idempotent(empty_db: None) -> None:
    run_demo()
    before = snapshot()
    output = run_demo()
    assert snapshot() == before
    assert "新建 0 条，更新 0 条" in output
    duplicates = (
        Membership.objects.values("user", "org_unit", "role", "department")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert not duplicates.exists()
    assert AuditEvent.objects.filter(kind="demo.load").count() == 2


def test_demo_restores_canonical_values(empty_db: None) -> None:
    run_demo()
    before = snapshot()
    OrgUnit.objects.filter(code=demo.LONGYI_CODE).update(name="改过的名字", population=1)
    User.objects.filter(username="grid_a").update(full_name="别人")
    user = User.objects.get(username="leader")
    user.set_password("changed")
    user.save()
    Membership.objects.filter(user__username="comm_a").update(is_active=False)
    run_demo()
    after = snapshot()
    assert after["units"] == before["units"]
    assert User.objects.get(username="grid_a").full_name == "赵强"
    assert User.objects.get(username="leader").check_password("jiedao-demo")
    assert after["memberships"] == before["memberships"]


def test_if_empty(empty_db: None) -> None:
    first = run_demo("--if-empty")
    assert OrgUnit.objects.count() > 0
    assert "演示数据已就绪" in first and "用户名" not in first  # `make run` prints the logins once, itself
    before = snapshot()
    events = AuditEvent.objects.count()
    output = run_demo("--if-empty")
    assert snapshot() == before
    assert AuditEvent.objects.count() == events
    assert "未载入" in output


def test_if_empty_does_nothing_with_the_persona_world(db: None) -> None:
    units = OrgUnit.objects.count()
    run_demo("--if-empty")
    assert OrgUnit.objects.count() == units
    assert not OrgUnit.objects.filter(code=demo.LONGHAI_CODE).exists()


def test_print_logins_prints_only_the_table(empty_db: None) -> None:
    assert "尚未载入演示数据" in run_demo("--print-logins")
    assert not OrgUnit.objects.exists()
    run_demo()
    output = run_demo("--print-logins")
    lines = output.splitlines()
    assert lines[0].split() == ["用户名", "密码", "角色", "范围", "姓名"]
    for username in FIXED_ROLES:
        assert any(line.split()[0] == username for line in lines[2:] if line.strip()), username
    assert "街道领导" in output and "网格员" in output and "系统管理员" in output
    assert "信访办" in output
    assert "演示数据已就绪" not in output


def test_scale_adds_synthetic_subdistricts(empty_db: None) -> None:
    run_demo()
    units_at_1 = OrgUnit.objects.count()
    users_at_1 = User.objects.count()
    run_demo("--scale", "2")
    units_at_2 = OrgUnit.objects.count()
    assert units_at_2 - units_at_1 == 100
    assert User.objects.count() - users_at_1 == 90
    test_sub = OrgUnit.objects.get(kind=OrgUnit.Kind.SUBDISTRICT, name="测试街道1")
    assert OrgUnit.objects.get_descendants(test_sub).count() == 99
    assert OrgUnit.objects.get_children(test_sub).count() == test_sub.numchild == 9
    grid = OrgUnit.objects.filter(path__startswith=test_sub.path, kind=OrgUnit.Kind.GRID).first()
    assert grid is not None
    worker = User.objects.get(username=f"grid_{grid.code}")
    assert worker.check_password("jiedao-demo")
    assert list(OrgUnit.objects.visible_to(worker)) == [grid]
    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])
    run_demo("--scale", "2")
    assert OrgUnit.objects.count() == units_at_2
    with pytest.raises(CommandError):
        run_demo("--scale", "0")


def _segments_cross(p: Sequence[float], q: Sequence[float], r: Sequence[float], s: Sequence[float]) -> bool:
    def orient(a: Sequence[float], b: Sequence[float], c: Sequence[float]) -> float:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    d1, d2, d3, d4 = orient(r, s, p), orient(r, s, q), orient(p, q, r), orient(p, q, s)
    return d1 * d2 < 0 and d3 * d4 < 0


def _bbox(ring: Sequence[Sequence[float]]) -> tuple[float, float, float, float]:
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    return min(lons), min(lats), max(lons), max(lats)


def _rings() -> Iterator[tuple[OrgUnit, list[list[float]]]]:
    for unit in OrgUnit.objects.all():
        assert unit.boundary is not None, unit.code
        assert unit.boundary["type"] == "Polygon"
        yield unit, unit.boundary["coordinates"][0]


def test_boundaries_are_valid_nested_polygons(empty_db: None) -> None:
    run_demo("--scale", "2")
    rings = {unit.path: (unit, ring) for unit, ring in _rings()}
    for unit, ring in rings.values():
        assert len(ring) >= 4 and ring[0] == ring[-1], unit.code
        assert all(len(p) == 2 for p in ring)
        lon, lat = ring[0]
        assert 113.6 < lon < 113.8 and 34.6 < lat < 34.8, unit.code  # [lon, lat] order, around Zhengzhou
        edges = list(itertools.pairwise(ring))
        for (i, a), (j, b) in itertools.combinations(enumerate(edges), 2):
            if abs(i - j) in (1, len(edges) - 1):
                continue
            assert not _segments_cross(*a, *b), unit.code
        assert demo.ring_area_km2(ring) > 0
        signed = sum(p[0] * q[1] - q[0] * p[1] for p, q in edges)
        assert signed > 0, unit.code  # counter-clockwise exterior ring (RFC 7946)
        if unit.depth > 1:
            parent, parent_ring = rings[unit.path[: -OrgUnit.steplen]]
            west, south, east, north = _bbox(parent_ring)
            for p in ring:
                assert west - 1e-9 <= p[0] <= east + 1e-9 and south - 1e-9 <= p[1] <= north + 1e-9, (
                    unit.code,
                    parent.code,
                )

    # Grids tile their community: their areas add up to the community's.
    for unit, ring in rings.values():
        if unit.kind in (OrgUnit.Kind.COMMUNITY, OrgUnit.Kind.VILLAGE):
            children = [
                r for u, r in rings.values() if u.path.startswith(unit.path) and u.depth == unit.depth + 1
            ]
            total = sum(demo.ring_area_km2(r) for r in children)
            assert total == pytest.approx(demo.ring_area_km2(ring), rel=1e-3), unit.code


def test_scope_of_the_demo_logins(empty_db: None) -> None:
    run_demo()
    users = {u.username: u for u in User.objects.filter(username__in=FIXED_ROLES)}
    grid_a_unit = OrgUnit.objects.get(code=f"{demo.LONGYI_CODE}001")
    assert list(OrgUnit.objects.visible_to(users["grid_a"])) == [grid_a_unit]

    longyi = OrgUnit.objects.get(code=demo.LONGYI_CODE)
    assert set(OrgUnit.objects.visible_to(users["comm_a"])) == {
        longyi,
        *OrgUnit.objects.get_descendants(longyi),
    }

    longhai = OrgUnit.objects.get(code=demo.LONGHAI_CODE)
    erligang = OrgUnit.objects.get(code=demo.ERLIGANG_CODE)
    visible = set(OrgUnit.objects.visible_to(users["leader"]))
    assert visible == {longhai, *OrgUnit.objects.get_descendants(longhai)}
    assert erligang not in visible and not visible & set(OrgUnit.objects.get_descendants(erligang))

    assert OrgUnit.objects.visible_to(users["district"]).count() == OrgUnit.objects.count()
    assert Department.objects.visible_to(users["dept_xinfang"]).count() == 12


def test_registered_steps_run_after_the_core(empty_db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo, "_STEPS", {})
    calls: list[tuple[str, int, bool]] = []

    def step(scale: int, stdout: TextIOBase) -> None:
        calls.append(("cases", scale, OrgUnit.objects.filter(code=demo.LONGYI_CODE).exists()))
        stdout.write("cases step ran\n")

    demo.register_demo_step("cases", step)
    demo.register_demo_step("cases", step)  # registering the same function again is harmless
    with pytest.raises(ValueError, match="twice"):
        demo.register_demo_step("cases", lambda scale, stdout: None)
    output = run_demo()
    assert calls == [("cases", 1, True)]
    assert "cases step ran" in output
    assert AuditEvent.objects.get(kind="demo.load").data["steps"] == ["cases"]


def test_a_failing_step_rolls_everything_back(empty_db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo, "_STEPS", {})

    def broken(scale: int, stdout: TextIOBase) -> None:
        raise RuntimeError("boom")

    demo.register_demo_step("broken", broken)
    with pytest.raises(RuntimeError):
        run_demo()
    assert not OrgUnit.objects.exists()
    assert not User.objects.exists()


def test_demo_gives_fixed_logins_work_items(empty_db: None) -> None:
    from django.utils import timezone

    from jiedao.core.deadlines import pending_reminders_for
    from jiedao.core.worklist import items_for
    from jiedao.notifications.models import Notification

    run_demo()
    leader = User.objects.get(username="leader")
    assert pending_reminders_for(leader).count() == 2
    assert all(r.due_at > timezone.now() for r in pending_reminders_for(leader))
    assert any(item.title == "陇海村回迁户走访" for item in items_for(leader))
    # the welcome, and what the modules' demo steps told the leader (e.g. matters awaiting review)
    notified = Notification.objects.filter(recipient=leader).count()
    assert Notification.objects.filter(recipient=leader, title="欢迎使用街道工作平台").count() == 1
    run_demo()  # idempotent
    assert pending_reminders_for(leader).count() == 2
    assert Notification.objects.filter(recipient=leader).count() == notified
