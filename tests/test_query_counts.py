"""List views ask the database a fixed number of questions, however much data they show (no N+1).

Each page is measured, then twenty more units with staff, notifications and events are added in the viewer's
scope, and the page must take exactly as many queries again.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from jiedao.audit.services import record_event
from jiedao.core.models import Membership, OrgUnit, User
from jiedao.notifications.models import Notification
from tests.world import World

pytestmark = pytest.mark.django_db

PAGES: dict[str, Callable[[World], str]] = {
    "home": lambda w: reverse("home"),
    "org tree": lambda w: reverse("core:org_tree"),
    "unit page": lambda w: reverse("core:org_unit", args=[w.community_a.code]),
    "audit log": lambda w: reverse("audit:event_list"),
    "inbox": lambda w: reverse("notifications:inbox"),
    "api org units": lambda w: "/api/v1/org-units/",
    "api users": lambda w: "/api/v1/users/",
    "api departments": lambda w: "/api/v1/departments/",
}


def _count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(ctx.captured_queries)


def _grow(world: World, start: int, count: int) -> None:
    """More grids in community A, each with a grid worker; events and notifications for the leader."""
    leader = world["leader"]
    for i in range(start, start + count):
        world.community_a.refresh_from_db()
        grid = OrgUnit.objects.add_child(
            world.community_a, {"kind": "grid", "code": f"41010400400190{i:02d}", "name": f"加测网格{i}"}
        )
        user = User.objects.create_user(username=f"extra_grid_{i}", password="x", full_name=f"加测{i}")
        Membership.objects.create(user=user, org_unit=grid, role="grid_worker")
        Membership.objects.create(user=user, org_unit=world.community_a, role="volunteer")
        record_event("org.change", actor=leader, obj=grid, data={"i": i})
        Notification.objects.create(recipient=leader, title=f"通知{i}", url="/")


@pytest.mark.parametrize("page", sorted(PAGES))
def test_query_count_does_not_grow_with_data(
    world: World, client_for: Callable[[str], Client], page: str
) -> None:
    client = client_for("leader")
    url = PAGES[page](world)
    _grow(world, 0, 1)  # one of everything, so that no list is empty (an empty page may skip a query)
    _count(client, url)  # warm caches (content types, sessions)
    before = _count(client, url)
    _grow(world, 1, 20)
    after = _count(client, url)
    assert after == before, f"{page}: {before} queries with the small world, {after} with 20 more units"
    assert before <= 20, f"{page} takes {before} queries"
