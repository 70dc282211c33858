"""Fixtures of the supervision tests: the supervising office (党政办, with its staff member `dept_dangzheng`)
in
the persona world's sub-district, and `make_matter(until=…)`, a matter led by community A (helped by community
B) taken through the workflow by the right personas."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from jiedao.core.models import Department, Membership, Role, User
from jiedao.core.permissions import forget
from jiedao.supervision import services
from jiedao.supervision.models import Source, SupervisedMatter
from tests.world import World

ORDER = ["opened", "assigned", "in_progress", "reviewing", "approved", "completed", "rated"]

MakeMatter = Callable[..., SupervisedMatter]


def ensure_office(world: World) -> User:
    """党政办 (a supervising office) of the world's sub-district and its staff member dept_dangzheng."""
    dept, _ = Department.objects.get_or_create(
        org_unit=world.subdistrict, code="dangzheng", defaults={"name": "党政办公室", "short_name": "党政办"}
    )
    user = User.objects.filter(username="dept_dangzheng").first()
    if user is None:
        user = User.objects.create_user(username="dept_dangzheng", password="x", full_name="党政办 王督查")
        Membership.objects.create(
            user=user, org_unit=world.subdistrict, role=Role.DEPARTMENT_STAFF, department=dept
        )
    forget(user)
    return user


@pytest.fixture
def office(world: World) -> User:
    return ensure_office(world)


def build_matter(world: World, until: str = "in_progress", **kwargs: Any) -> SupervisedMatter:
    leader = world["leader"]
    fields: dict[str, Any] = {
        "title": "陇海东路第一社区老旧小区加装电梯",
        "content": "完成陇海花园3号楼加装电梯的意见征询和方案公示。",
        "source": Source.LEADER,
        "source_note": "马书记批示",
        "deadline": timezone.now() + timedelta(days=30),
        "lead_unit": world.community_a,
        "helper_units": [world.community_b],
        "leader": leader,
        "assign": ORDER.index(until) >= 1,
    }
    fields.update(kwargs)
    matter = services.create_matter(leader, **fields)
    steps = ORDER[2 : ORDER.index(until) + 1]
    lead = world["comm_a"] if matter.lead_department_id is None else world["dept_xinfang"]
    for step in steps:
        matter.refresh_from_db()
        if step == "in_progress":
            matter = services.undertake(lead, matter, version=matter.version, note="已明确专人负责")
        elif step == "reviewing":
            matter = services.submit(lead, matter, version=matter.version, text="已完成征询和公示")
        elif step == "approved":
            matter = services.approve(leader, matter, version=matter.version, note="同意")
        elif step == "completed":
            matter = services.complete(leader, matter, version=matter.version, summary="按期完成")
        elif step == "rated":
            matter = services.rate(leader, matter, version=matter.version, rating="good", score=90)
    matter.refresh_from_db()
    return matter


@pytest.fixture
def make_matter(world: World) -> MakeMatter:
    def make(until: str = "in_progress", **kwargs: Any) -> SupervisedMatter:
        return build_matter(world, until, **kwargs)

    return make
