"""One small world of personas shared by every test.

陇海马路街道 (in scope for most personas) with two communities of two grids each, and 二里岗街道 with one
community and grid that only the district user and the superuser see. Usernames match the demo district's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jiedao.core.models import ContactCommunity, Department, Membership, OrgUnit, Role, User

PASSWORD = "jiedao-demo"

PERSONAS = [
    "district",
    "leader",
    "dept_xinfang",
    "comm_a",
    "comm_b",
    "grid_a",
    "grid_b",
    "volunteer",
    "auditor",
    "admin",
    "other_leader",
]


@dataclass
class World:
    district: OrgUnit
    subdistrict: OrgUnit
    community_a: OrgUnit
    community_b: OrgUnit
    grid_a: OrgUnit
    grid_a2: OrgUnit
    grid_b: OrgUnit
    grid_b2: OrgUnit
    other_subdistrict: OrgUnit
    other_community: OrgUnit
    other_grid: OrgUnit
    dept_xinfang: Department
    dept_party: Department
    users: dict[str, User] = field(default_factory=dict)

    def __getitem__(self, username: str) -> User:
        return self.users[username]

    def refresh(self) -> World:
        """Re-read the units (paths may have changed in a test)."""
        for name in (
            "district",
            "subdistrict",
            "community_a",
            "community_b",
            "grid_a",
            "grid_a2",
            "grid_b",
            "grid_b2",
            "other_subdistrict",
            "other_community",
            "other_grid",
        ):
            getattr(self, name).refresh_from_db()
        return self


def _unit(parent: OrgUnit | None, kind: str, code: str, name: str, **extra: object) -> OrgUnit:
    fields = {"kind": kind, "code": code, "name": name, **extra}
    if parent is None:
        return OrgUnit.objects.add_root(fields)
    parent.refresh_from_db()
    return OrgUnit.objects.add_child(parent, fields)


def build_world() -> World:
    district = _unit(None, "district", "410104000000", "管城回族区", short_name="管城区")
    sub = _unit(district, "subdistrict", "410104004000", "陇海马路街道办事处", short_name="陇海马路街道")
    comm_a = _unit(
        sub, "community", "410104004001", "陇海东路第一社区", short_name="陇一社区", population=7000
    )
    comm_b = _unit(sub, "community", "410104004002", "新郑路社区", short_name="新郑路社区")
    grid_a = _unit(comm_a, "grid", "410104004001001", "陇一社区第1网格")
    grid_a2 = _unit(comm_a, "grid", "410104004001002", "陇一社区第2网格")
    grid_b = _unit(comm_b, "grid", "410104004002001", "新郑路社区第1网格")
    grid_b2 = _unit(comm_b, "grid", "410104004002002", "新郑路社区第2网格")
    other_sub = _unit(district, "subdistrict", "410104003000", "二里岗街道办事处", short_name="二里岗街道")
    other_comm = _unit(other_sub, "community", "410104003001", "中博社区")
    other_grid = _unit(other_comm, "grid", "410104003001001", "中博社区第1网格")
    sub.refresh_from_db()
    xinfang = Department.objects.create(org_unit=sub, code="xinfang", name="信访办", sort_order=1)
    party = Department.objects.create(org_unit=sub, code="dangjian", name="党建办", sort_order=2)

    world = World(
        district,
        sub,
        comm_a,
        comm_b,
        grid_a,
        grid_a2,
        grid_b,
        grid_b2,
        other_sub,
        other_comm,
        other_grid,
        xinfang,
        party,
    )
    plan: list[tuple[str, str, OrgUnit, Role, Department | None]] = [
        ("district", "区信访局 王科长", district, Role.DISTRICT_STAFF, None),
        ("leader", "马书记", sub, Role.LEADER, None),
        ("dept_xinfang", "信访办 李干事", sub, Role.DEPARTMENT_STAFF, xinfang),
        ("comm_a", "陇一社区 张书记", comm_a, Role.COMMUNITY_STAFF, None),
        ("comm_b", "新郑路社区 刘主任", comm_b, Role.COMMUNITY_STAFF, None),
        ("grid_a", "网格员 赵强", grid_a, Role.GRID_WORKER, None),
        ("grid_b", "网格员 孙丽", grid_b, Role.GRID_WORKER, None),
        ("volunteer", "志愿者 周敏", comm_a, Role.VOLUNTEER, None),
        ("auditor", "审计员 吴静", sub, Role.AUDITOR, None),
        ("admin", "系统管理员", district, Role.ADMINISTRATOR, None),
        ("other_leader", "二里岗 虎书记", other_sub, Role.LEADER, None),
    ]
    for username, full_name, unit, role, dept in plan:
        user = User.objects.create_user(
            username=username,
            password=PASSWORD,
            full_name=full_name,
            email=f"{username}@example.org",
            is_staff=username == "admin",
            is_superuser=username == "admin",
        )
        Membership.objects.create(user=user, org_unit=unit, role=role, department=dept)
        world.users[username] = user
    ContactCommunity.objects.create(leader=world.users["leader"], org_unit=comm_a)
    return world


def load_world() -> World:
    """The world as it is in the database (built once per test session)."""
    units = {u.code: u for u in OrgUnit.objects.all()}
    world = World(
        units["410104000000"],
        units["410104004000"],
        units["410104004001"],
        units["410104004002"],
        units["410104004001001"],
        units["410104004001002"],
        units["410104004002001"],
        units["410104004002002"],
        units["410104003000"],
        units["410104003001"],
        units["410104003001001"],
        Department.objects.get(code="xinfang"),
        Department.objects.get(code="dangjian"),
    )
    world.users = {u.username: u for u in User.objects.filter(username__in=PERSONAS)}
    return world
