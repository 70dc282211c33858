from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from jiedao.audit.models import AuditEvent
from jiedao.core import services
from jiedao.core.models import ContactCommunity, Department, Membership, OrgUnit
from tests.world import World

pytestmark = pytest.mark.django_db


def test_admin_creates_grid_with_event(world: World) -> None:
    unit = services.create_unit(
        world["admin"], world.community_a, kind="grid", code="410104004001009", name="陇一社区第9网格"
    )
    assert OrgUnit.objects.get_parent(unit) == world.community_a
    event = AuditEvent.objects.get(kind="org.create", object_id=str(unit.pk))
    assert event.actor == world["admin"] and event.org_path == unit.path


def test_wrong_child_kind_is_refused(world: World) -> None:
    with pytest.raises(ValidationError):
        services.create_unit(world["admin"], world.grid_a, kind="grid", code="1", name="x")
    with pytest.raises(ValidationError):
        services.create_unit(world["admin"], world.subdistrict, kind="grid", code="2", name="x")


def test_leader_may_not_create_but_may_edit_in_scope(world: World) -> None:
    with pytest.raises(PermissionDenied):
        services.create_unit(world["leader"], world.community_a, kind="grid", code="3", name="x")
    unit = services.update_unit(world["leader"], world.community_a, version=1, population=7100)
    assert unit.population == 7100 and unit.version == 2
    with pytest.raises(PermissionDenied):
        services.update_unit(world["other_leader"], world.community_a, version=2, population=1)


def test_concurrent_edit_is_detected(world: World) -> None:
    services.update_unit(world["leader"], world.community_a, version=1, population=7100)
    with pytest.raises(services.ConflictError):
        services.update_unit(world["admin"], world.community_a, version=1, population=6900)
    world.community_a.refresh_from_db()
    assert world.community_a.population == 7100


def test_double_submit_of_the_same_edit_is_not_a_conflict(world: World) -> None:
    services.update_unit(world["leader"], world.community_a, version=1, population=7100)
    again = services.update_unit(world["leader"], world.community_a, version=1, population=7100)
    assert again.version == 2 and again.population == 7100
    assert AuditEvent.objects.filter(kind="org.change").count() == 1


def test_unchanged_save_writes_no_event(world: World) -> None:
    before = AuditEvent.objects.count()
    services.update_unit(world["leader"], world.community_a, version=1, name=world.community_a.name)
    assert AuditEvent.objects.count() == before


def test_move_carries_subtree_and_scoped_rows(world: World) -> None:
    grid = world.grid_a2
    reminder_user = world["grid_a"]
    Membership.objects.create(user=reminder_user, org_unit=grid, role="grid_worker")
    moved = services.move_unit(world["admin"], grid, world.community_b)
    assert moved.path.startswith(world.community_b.path)
    assert Membership.objects.get(user=reminder_user, org_unit=grid).org_path == moved.path
    # comm_b now sees the grid, comm_a no longer does
    assert OrgUnit.objects.visible_to(world["comm_b"]).filter(pk=grid.pk).exists()
    assert not OrgUnit.objects.visible_to(world["comm_a"]).filter(pk=grid.pk).exists()
    event = AuditEvent.objects.get(kind="org.move")
    assert event.data["to"] == world.community_b.code


def test_move_community_to_other_subdistrict_repaths_everything_below(world: World) -> None:
    services.move_unit(world["admin"], world.community_a, world.other_subdistrict)
    world.refresh()
    for model in (Membership, ContactCommunity):
        for row in model.objects.select_related("org_unit"):
            assert row.org_path == row.org_unit.path
    assert world.grid_a.path.startswith(world.other_subdistrict.path)
    assert not Department.objects.filter(org_path__startswith=world.community_a.path).exists()


def test_move_into_own_subtree_is_refused(world: World) -> None:
    with pytest.raises(ValidationError):
        services.move_unit(world["admin"], world.community_a, world.grid_a)
