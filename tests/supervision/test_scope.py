"""Who sees which matters: leaders, district staff, auditors and the supervising office see their
sub-district's; a unit's or a department's staff see only the matters it leads or helps with."""

from __future__ import annotations

from typing import Any

import pytest

from jiedao.supervision.models import SupervisedMatter
from tests.supervision.conftest import MakeMatter
from tests.world import World

pytestmark = pytest.mark.django_db


def seen(user: Any) -> set[str]:
    return set(SupervisedMatter.objects.visible_to(user).values_list("number", flat=True))


def test_scope_by_role_and_part(make_matter: MakeMatter, world: World, office: Any) -> None:
    community = make_matter("in_progress")  # led by community A, helped by community B
    department = make_matter(
        "in_progress", lead_unit=None, lead_department=world.dept_xinfang, helper_units=[]
    )
    both = {community.number, department.number}
    for username in ("leader", "district", "auditor", "admin"):
        assert seen(world[username]) == both, username
    assert seen(office) == both
    assert seen(world["comm_a"]) == {community.number}
    assert seen(world["comm_b"]) == {community.number}  # helper
    assert seen(world["dept_xinfang"]) == {department.number}
    for username in ("grid_a", "grid_b", "volunteer", "other_leader"):
        assert seen(world[username]) == set(), username


def test_overdue_and_open_querysets(make_matter: MakeMatter) -> None:
    import time_machine

    running = make_matter("in_progress")
    done = make_matter("completed")
    assert set(SupervisedMatter.objects.open()) == {running}
    with time_machine.travel(running.deadline + __import__("datetime").timedelta(seconds=1)):
        assert list(SupervisedMatter.objects.overdue()) == [running]
    assert not SupervisedMatter.objects.overdue().exists()
    assert done not in SupervisedMatter.objects.overdue(
        now=done.deadline + __import__("datetime").timedelta(days=1)
    )
