"""The stage pipeline: every step allowed or refused by role, scope and state; dates, versions, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from jiedao.audit.models import AuditEvent
from jiedao.relocation import services
from jiedao.relocation.models import ExpropriationHousehold, Stage, StageChange
from tests.relocation.helpers import Setup, file_documents, move_to
from tests.world import World

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("persona", ["grid_a", "comm_a", "leader", "admin"])
def test_people_of_the_household_may_step_forward(world: World, setup: Setup, persona: str) -> None:
    file_documents(setup, setup.a1, Stage.VALUATION, world["grid_a"])
    done = services.advance(world[persona], setup.a1, version=setup.a1.version)
    assert done.stage == Stage.VALUATION
    assert done.valued_on == services.today()
    assert done.version == setup.a1.version + 1
    change = StageChange.objects.get(household=setup.a1)
    assert (change.from_stage, change.to_stage, change.forward, change.actor) == (
        Stage.SURVEY,
        Stage.VALUATION,
        True,
        world[persona],
    )
    assert AuditEvent.objects.filter(kind="relocation.stage", object_id=str(setup.a1.pk)).count() == 1


@pytest.mark.parametrize(
    "persona",
    [
        "dept_xinfang",  # on the project, but in another team
        "auditor",  # reads in scope, acts on nothing
        "district",
        "comm_b",  # out of scope
        "grid_b",
        "other_leader",
        "volunteer",
    ],
)
def test_others_may_not_step_forward(world: World, setup: Setup, persona: str) -> None:
    file_documents(setup, setup.a1, Stage.VALUATION, world["grid_a"])
    with pytest.raises(PermissionDenied):
        services.advance(world[persona], setup.a1, version=setup.a1.version)
    setup.a1.refresh_from_db()
    assert setup.a1.stage == Stage.SURVEY


def test_staff_of_household_acts_on_it_even_without_team(world: World, setup: Setup) -> None:
    """The 包户人 acts on the household; a member of the household's team too; not on another team's."""
    assert services.refusal(world["dept_xinfang"], setup.b1) != services.refusal(world["grid_a"], setup.b1)
    with pytest.raises(PermissionDenied):
        services.advance(world["grid_a"], setup.b1, version=setup.b1.version)


def test_forward_needs_the_documents_of_the_next_stage(world: World, setup: Setup) -> None:
    with pytest.raises(ValidationError) as refused:
        services.advance(world["grid_a"], setup.a1, version=setup.a1.version)
    assert "产权证明" in str(refused.value) and "身份证明及户口簿" in str(refused.value)
    file_documents(setup, setup.a1, Stage.VALUATION, world["grid_a"])
    assert services.advance(world["grid_a"], setup.a1, version=setup.a1.version).stage == Stage.VALUATION


def test_negotiation_needs_a_valuation_and_signing_needs_the_agreement(world: World, setup: Setup) -> None:
    household = move_to(setup, setup.a1, Stage.VALUATION, world["grid_a"])
    file_documents(setup, household, Stage.NEGOTIATION, world["grid_a"])
    with pytest.raises(ValidationError, match="评估金额"):
        services.advance(world["grid_a"], household, version=household.version)
    household = move_to(setup, household, Stage.NEGOTIATION, world["grid_a"])
    with pytest.raises(ValidationError, match="补偿安置协议"):
        services.advance(world["grid_a"], household, version=household.version)
    household = move_to(setup, household, Stage.SIGNED, world["grid_a"])
    assert household.signed_on == services.today()


def test_one_step_at_a_time_to_the_end_then_refused(world: World, setup: Setup) -> None:
    household = move_to(setup, setup.a1, Stage.DEMOLISHED, world["grid_a"])
    assert [c.to_stage for c in household.stage_changes.order_by("id")] == [
        Stage.VALUATION,
        Stage.NEGOTIATION,
        Stage.SIGNED,
        Stage.VACATED,
        Stage.DEMOLISHED,
    ]
    with pytest.raises(ValidationError, match="最后一个环节"):
        services.advance(world["leader"], household, version=household.version)


def test_stage_date_may_not_be_in_the_future_nor_before_the_last(world: World, setup: Setup) -> None:
    file_documents(setup, setup.a1, Stage.VALUATION, world["grid_a"])
    with pytest.raises(ValidationError, match="晚于今天"):
        services.advance(
            world["grid_a"], setup.a1, version=setup.a1.version, on=services.today() + timedelta(1)
        )
    with pytest.raises(ValidationError, match="早于上一环节"):
        services.advance(
            world["grid_a"], setup.a1, version=setup.a1.version, on=setup.a1.surveyed_on - timedelta(days=1)
        )
    day = services.today() - timedelta(days=3)
    assert services.advance(world["grid_a"], setup.a1, version=setup.a1.version, on=day).valued_on == day


def test_stale_version_is_a_conflict_and_a_double_submit_is_one_step(world: World, setup: Setup) -> None:
    file_documents(setup, setup.a1, Stage.VALUATION, world["grid_a"])
    seen = setup.a1.version
    first = services.advance(world["grid_a"], setup.a1, version=seen)
    again = services.advance(world["grid_a"], setup.a1, version=seen)  # the same click twice
    assert again.stage == first.stage == Stage.VALUATION
    assert StageChange.objects.filter(household=setup.a1).count() == 1
    with pytest.raises(services.ConflictError):
        services.advance(world["comm_a"], setup.a1, version=seen)  # someone else, with an old page


@pytest.mark.parametrize("persona", ["comm_a", "leader"])
def test_team_leader_and_leaders_may_step_back_with_a_reason(
    world: World, setup: Setup, persona: str
) -> None:
    household = move_to(setup, setup.a1, Stage.SIGNED, world["grid_a"])
    with pytest.raises(ValidationError, match="原因"):
        services.step_back(
            world[persona], household, version=household.version, to_stage=Stage.NEGOTIATION, reason=" "
        )
    back = services.step_back(
        world[persona],
        household,
        version=household.version,
        to_stage=Stage.VALUATION,
        reason="评估报告有误，重新评估",
    )
    assert back.stage == Stage.VALUATION
    assert back.signed_on is None and back.negotiating_on is None and back.valued_on is not None
    change = back.stage_changes.first()
    assert change is not None and not change.forward and change.reason == "评估报告有误，重新评估"
    assert AuditEvent.objects.filter(kind="relocation.stage_back", object_id=str(back.pk)).exists()


@pytest.mark.parametrize("persona", ["grid_a", "auditor", "dept_xinfang", "other_leader"])
def test_members_and_others_may_not_step_back(world: World, setup: Setup, persona: str) -> None:
    household = move_to(setup, setup.a1, Stage.VALUATION, world["grid_a"])
    with pytest.raises(PermissionDenied):
        services.step_back(
            world[persona], household, version=household.version, to_stage=Stage.SURVEY, reason="x"
        )


def test_step_back_only_to_an_earlier_stage(world: World, setup: Setup) -> None:
    household = move_to(setup, setup.a1, Stage.VALUATION, world["grid_a"])
    for target in (Stage.VALUATION, Stage.SIGNED, "nonsense"):
        with pytest.raises(ValidationError):
            services.step_back(
                world["leader"], household, version=household.version, to_stage=target, reason="x"
            )


def test_stage_back_notifies_the_staff(
    world: World, setup: Setup, django_capture_on_commit_callbacks: object
) -> None:
    from jiedao.notifications.models import Notification

    household = move_to(setup, setup.a1, Stage.VALUATION, world["grid_a"])
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        services.step_back(
            world["leader"], household, version=household.version, to_stage=Stage.SURVEY, reason="重摸底"
        )
    assert Notification.objects.filter(recipient=world["grid_a"], title__contains="退回").exists()


def test_visible_to_by_scope_and_by_participation(world: World, setup: Setup) -> None:
    def sees(name: str) -> bool:
        return ExpropriationHousehold.objects.visible_to(world[name]).filter(pk=setup.a1.pk).exists()

    for name in ("leader", "comm_a", "auditor", "district", "grid_a", "dept_xinfang", "admin"):
        assert sees(name), name
    for name in ("comm_b", "grid_b", "other_leader", "volunteer"):
        assert not sees(name), name
