"""Scope on every scoped model: each persona sees exactly its subtree, through visible_to and can alike."""

from __future__ import annotations

from typing import Any

import pytest

from jiedao.core.models import ContactCommunity, Department, Membership, OrgUnit, Reminder
from jiedao.core.models.scope import scoped_models
from jiedao.core.permissions import can, known_actions, roles_for, scope_paths
from tests.world import World

pytestmark = pytest.mark.django_db


def codes(qs: Any) -> set[str]:
    return set(qs.values_list("code", flat=True))


def test_grid_worker_sees_only_own_grid(world: World) -> None:
    assert codes(OrgUnit.objects.visible_to(world["grid_a"])) == {world.grid_a.code}


def test_community_staff_sees_community_subtree(world: World) -> None:
    assert codes(OrgUnit.objects.visible_to(world["comm_a"])) == {
        world.community_a.code,
        world.grid_a.code,
        world.grid_a2.code,
    }


def test_leader_sees_subdistrict_not_other_subdistrict(world: World) -> None:
    visible = codes(OrgUnit.objects.visible_to(world["leader"]))
    assert world.subdistrict.code in visible and world.grid_b2.code in visible
    assert world.other_subdistrict.code not in visible and world.other_grid.code not in visible
    assert world.district.code not in visible


def test_district_user_reads_across_subdistricts(world: World) -> None:
    visible = codes(OrgUnit.objects.visible_to(world["district"]))
    assert {world.district.code, world.subdistrict.code, world.other_grid.code} <= visible


def test_superuser_is_unrestricted(world: World) -> None:
    assert scope_paths(world["admin"], "org.view") is None
    assert OrgUnit.objects.visible_to(world["admin"]).count() == OrgUnit.objects.count()


def test_anonymous_and_inactive_see_nothing(world: World) -> None:
    from django.contrib.auth.models import AnonymousUser

    assert not OrgUnit.objects.visible_to(AnonymousUser()).exists()
    user = world["leader"]
    user.is_active = False
    assert not OrgUnit.objects.visible_to(user).exists()
    assert not can(user, "org.view", world.subdistrict)


def test_inactive_membership_grants_nothing(world: World) -> None:
    Membership.objects.filter(user=world["comm_b"]).update(is_active=False)
    assert not OrgUnit.objects.visible_to(world["comm_b"]).exists()


@pytest.mark.parametrize("model", [Department, ContactCommunity, Membership, Reminder])
def test_every_scoped_model_filters_by_path(world: World, model: Any) -> None:
    assert model in scoped_models()
    for username in ("grid_a", "comm_a", "comm_b", "leader", "other_leader", "district"):
        user = world[username]
        paths = scope_paths(user, "view", model) or []
        expected = {
            obj.pk for obj in model._default_manager.all() if any(obj.org_path.startswith(p) for p in paths)
        }
        assert set(model._default_manager.visible_to(user).values_list("pk", flat=True)) == expected, username


def test_scoped_rows_copy_their_units_path(world: World) -> None:
    for model in scoped_models():
        manager: Any = model._default_manager
        for obj in manager.select_related("org_unit"):
            assert obj.org_path == obj.org_unit.path


def test_can_agrees_with_visible_to(world: World) -> None:
    units = list(OrgUnit.objects.all())
    for username in ("grid_a", "grid_b", "comm_a", "leader", "other_leader", "volunteer", "auditor"):
        user = world[username]
        visible = set(OrgUnit.objects.visible_to(user).values_list("pk", flat=True))
        assert {u.pk for u in units if can(user, "org.view", u)} == visible, username


def test_role_limits_actions_within_scope(world: World) -> None:
    assert can(world["admin"], "org.create", world.community_a)
    assert not can(world["leader"], "org.create", world.community_a)
    assert can(world["leader"], "org.change", world.community_a)
    assert not can(world["comm_a"], "org.change", world.community_a)
    assert can(world["auditor"], "audit.view", world.grid_b)
    assert not can(world["grid_a"], "audit.view", world.grid_a)
    assert not can(world["other_leader"], "org.change", world.community_a)


def test_unknown_action_is_a_programming_error(world: World) -> None:
    with pytest.raises(ValueError):
        can(world["leader"], "no.such.action", world.subdistrict)
    assert "org.view" in known_actions()
    assert roles_for("audit.view") == {"leader", "auditor", "administrator"}


def test_overlapping_memberships_use_one_prefix(world: World) -> None:
    Membership.objects.create(user=world["leader"], org_unit=world.community_a, role="leader")
    from jiedao.core.permissions import forget

    user = world["leader"]
    forget(user)
    assert scope_paths(user, "org.view") == [world.subdistrict.path]


def test_duplicate_membership_is_refused_with_and_without_department(world: World) -> None:
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=world["grid_a"], org_unit=world.grid_a, role="grid_worker")
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(
            user=world["dept_xinfang"],
            org_unit=world.subdistrict,
            role="department_staff",
            department=world.dept_xinfang,
        )
    Membership.objects.create(
        user=world["dept_xinfang"],
        org_unit=world.subdistrict,
        role="department_staff",
        department=world.dept_party,
    )


def test_sqlite_range_and_prefix_agree(world: World) -> None:
    from jiedao.core.models.scope import under_path

    for unit in OrgUnit.objects.all():
        by_prefix = set(OrgUnit.objects.filter(path__startswith=unit.path).values_list("pk", flat=True))
        by_scope = set(OrgUnit.objects.filter(under_path("path", unit.path)).values_list("pk", flat=True))
        assert by_prefix == by_scope, unit.code
