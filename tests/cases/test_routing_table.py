"""Routing: the dispatch table's most specific current rule (the case's category before its ancestors, then
the deepest area), versioning (a closed rule no longer applies; a case keeps the rule it was routed by),
属地 fallback to the community, and accusations never routed to the accused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from jiedao.cases import routing, services
from jiedao.cases.models import Case, Category, Channel, DispatchRule, PetitionType
from jiedao.core.models import Department, OrgUnit
from tests.world import World

pytestmark = pytest.mark.django_db


def rule(
    category: Category,
    area: OrgUnit,
    *,
    unit: OrgUnit | None = None,
    dept: Department | None = None,
    version: int = 1,
) -> DispatchRule:
    return DispatchRule.objects.create(
        category=category, org_unit=area, target_unit=unit, target_department=dept, version=version
    )


def new_case(world: World, category: Category, place: OrgUnit, **extra: Any) -> Case:
    return services.create_case(
        world["admin"],
        channel=Channel.GRID,
        category=category,
        org_unit=place,
        description="巡查发现的问题，请处理",
        **extra,
    )


def target(case: Case) -> Department | OrgUnit | None:
    found = routing.route(case)
    return found.department or found.unit


def test_without_rules_the_community_handles_it(world: World, catalog: dict[str, Category]) -> None:
    stall = catalog["city-stall"]
    assert target(new_case(world, stall, world.grid_a)) == world.community_a
    assert target(new_case(world, stall, world.grid_b2)) == world.community_b
    assert target(new_case(world, stall, world.community_b)) == world.community_b
    assert target(new_case(world, stall, world.subdistrict)) == world.subdistrict
    found = routing.route(new_case(world, stall, world.grid_a))
    assert found.rule is None and found.reason == "属地管理：陇海东路第一社区"


def test_category_rule_beats_the_parent_category_rule(world: World, catalog: dict[str, Category]) -> None:
    rule(catalog["city"], world.community_a, unit=world.grid_a)  # parent category, deeper area
    specific = rule(catalog["city-stall"], world.subdistrict, dept=world.dept_party)
    case = new_case(world, catalog["city-stall"], world.grid_a)
    found = routing.route(case)
    assert found.rule == specific and found.department == world.dept_party
    assert found.reason == "派单目录 v1：占道经营 · 陇海马路街道办事处"
    # Another child of 城市管理 has no rule of its own: the parent's applies.
    assert target(new_case(world, catalog["city-build"], world.grid_a)) == world.grid_a


def test_deeper_area_beats_the_shallower(world: World, catalog: dict[str, Category]) -> None:
    stall = catalog["city-stall"]
    rule(stall, world.subdistrict, dept=world.dept_party)
    rule(stall, world.community_a, unit=world.grid_a)
    rule(stall, world.other_subdistrict, unit=world.other_community)  # elsewhere: never applies here
    assert target(new_case(world, stall, world.grid_a)) == world.grid_a
    assert target(new_case(world, stall, world.community_a)) == world.grid_a
    assert target(new_case(world, stall, world.grid_b)) == world.dept_party  # no rule for community B


def test_closed_rule_no_longer_applies_but_cases_keep_theirs(
    world: World, catalog: dict[str, Category]
) -> None:
    stall = catalog["city-stall"]
    first = rule(stall, world.subdistrict, unit=world.community_a)
    routed = services.create_case(
        world["comm_a"],
        channel=Channel.GRID,
        category=stall,
        org_unit=world.grid_a,
        description="巡查发现占道经营",
        accept=True,
    )
    routed = services.dispatch(world["comm_a"], routed, version=routed.version)  # the suggestion
    assert routed.dispatch_rule == first and routed.lead_unit == world.community_a
    assert routed.steps.get(action="dispatch").data["route"].startswith("派单目录 v1")
    # The table changes: v1 closes, v2 sends these cases to 党建办.
    DispatchRule.objects.filter(pk=first.pk).update(valid_to=timezone.now())
    second = rule(stall, world.subdistrict, dept=world.dept_party, version=2)
    later = new_case(world, stall, world.grid_a)
    assert routing.route(later).rule == second
    routed.refresh_from_db()
    assert routed.dispatch_rule == first  # the case keeps the rule it was routed by
    # Closing every rule falls back to 属地.
    DispatchRule.objects.filter(pk=second.pk).update(valid_to=timezone.now())
    assert routing.route(later).rule is None and target(later) == world.community_a


def test_explicit_lead_records_no_rule(world: World, make_case: Any, catalog: dict[str, Category]) -> None:
    rule(catalog["city-stall"], world.subdistrict, dept=world.dept_party)
    case = make_case("dispatched")  # dispatched to grid_a by hand
    assert case.dispatch_rule is None and case.lead_unit == world.grid_a


def accusation(world: World, catalog: dict[str, Category], **accused: Any) -> Case:
    return new_case(
        world,
        catalog["petition-conduct"],
        world.grid_a,
        petition_type=PetitionType.ACCUSATION,
        anonymous=True,
        **accused,
    )


def test_rule_pointing_at_the_accused_is_skipped(world: World, catalog: dict[str, Category]) -> None:
    conduct = catalog["petition-conduct"]
    rule(conduct, world.community_a, dept=world.dept_party)  # the most specific rule: the accused
    fallback = rule(conduct, world.subdistrict, dept=world.dept_xinfang)
    case = accusation(world, catalog, accused_department=world.dept_party)
    found = routing.route(case)
    assert found.rule == fallback and found.department == world.dept_xinfang
    # Without the second rule: 属地 (community A is not accused).
    fallback.delete()
    assert target(case) == world.community_a


def test_rule_to_a_unit_inside_the_accused_is_skipped(world: World, catalog: dict[str, Category]) -> None:
    rule(catalog["petition-conduct"], world.subdistrict, unit=world.grid_a)
    case = accusation(world, catalog, accused_unit=world.community_a)
    found = routing.route(case)
    assert found.rule is None and found.department == world.dept_xinfang  # locality accused → 信访办
    assert found.reason == "检举控告回避被检举单位：交信访办"


def test_accused_locality_and_petition_office_go_up_to_the_subdistrict(
    world: World, catalog: dict[str, Category]
) -> None:
    case = accusation(world, catalog, accused_unit=world.community_a, accused_department=world.dept_xinfang)
    assert target(case) == world.subdistrict
    # The whole sub-district accused: its own 信访办 is part of it; nobody here may take it.
    whole = accusation(world, catalog, accused_unit=world.subdistrict)
    found = routing.route(whole)
    assert found.unit is None and found.department is None
    assert found.reason == "没有可用的派单对象，请人工派遣。"
    with pytest.raises(ValidationError, match="被检举控告"):
        routing.check_target(whole, None, world.dept_xinfang)


def test_ordinary_cases_are_routed_to_whatever_the_rule_says(
    world: World, catalog: dict[str, Category]
) -> None:
    """accused_* only matter for accusations."""
    rule(catalog["petition-social"], world.subdistrict, dept=world.dept_party)
    case = new_case(
        world,
        catalog["petition-social"],
        world.grid_a,
        petition_type=PetitionType.CLAIM,
        anonymous=True,
        accused_department=world.dept_party,
    )
    assert target(case) == world.dept_party


def test_a_rule_whose_target_lies_outside_the_case_branch_is_passed_over(
    world: World, catalog: dict[str, Category], make_case: Callable[..., Case]
) -> None:
    """A rule for the whole community naming grid A2 does not route a case in grid A1 there (dispatch
    would refuse it by the locality principle): the next rule, or the locality, applies."""
    DispatchRule.objects.create(
        category=catalog["city-stall"], org_unit=world.community_a, target_unit=world.grid_a2
    )
    case = make_case("accepted")
    route = routing.route(case)
    assert route.unit == world.community_a and route.rule is None
    routing.check_target(case, route.unit, route.department)
