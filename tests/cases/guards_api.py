"""Route guards of the cases module: api area (the REST API and the catalogue pages)."""

from __future__ import annotations

from typing import Any

from jiedao.cases import workflow
from jiedao.cases.catalog import ensure_default_catalog
from jiedao.cases.models import CategoryField, DeadlinePolicy, DispatchRule
from tests.cases.guards_util import GUARD_TEXT, case_in_grid_a
from tests.guard import Guard
from tests.world import World

RULE_NOTE = "路由测试专用派单规则"


def _rule(world: World) -> DispatchRule:
    existing = DispatchRule.objects.filter(note=RULE_NOTE, valid_to__isnull=True).first()
    if existing is not None:
        return existing
    from jiedao.cases import catalog_services

    catalog = ensure_default_catalog()
    return catalog_services.add_rule(
        world["admin"],
        category=catalog["city-stall"],
        area=world.grid_a,
        target_unit=world.grid_a,
        note=RULE_NOTE,
    )


def _number(world: World) -> dict[str, Any]:
    return {"number": case_in_grid_a(world).number}


def _with_case(world: World) -> dict[str, Any]:
    case_in_grid_a(world)
    return {}


def _with_rule(world: World) -> dict[str, Any]:
    _rule(world)
    return {}


def _field(world: World) -> dict[str, Any]:
    ensure_default_catalog()
    return {"pk": CategoryField.objects.get(category__code="city-stall", code="goods").pk}


def _policy(world: World) -> dict[str, Any]:
    ensure_default_catalog()
    return {"pk": DeadlinePolicy.objects.filter(category__isnull=True).first().pk}  # type: ignore[union-attr]


def _category(world: World) -> dict[str, Any]:
    ensure_default_catalog()
    return {"code": "city-stall"}


GUARDS: dict[str, Guard] = {
    # REST API
    "case-list": Guard(kwargs=_with_case, outsider="grid_b", hidden=lambda w: GUARD_TEXT, api=True),
    "case-detail": Guard(kwargs=_number, outsider="grid_b", api=True),
    "case-actions": Guard(kwargs=_number, outsider="grid_b", api=True),
    "case-steps": Guard(kwargs=_number, outsider="other_leader", api=True),
    **{
        f"case-action-{name}": Guard(kwargs=_number, outsider="grid_b", method="post", api=True)
        for name in workflow.TRANSITIONS
    },
    "case-category-list": Guard(outsider="volunteer", api=True),
    "case-category-detail": Guard(kwargs=_category, outsider="volunteer", api=True),
    "dispatch-rule-list": Guard(
        kwargs=_with_rule, outsider="other_leader", hidden=lambda w: RULE_NOTE, api=True
    ),
    "dispatch-rule-detail": Guard(kwargs=lambda w: {"pk": _rule(w).pk}, outsider="other_leader", api=True),
    # Catalogue pages
    "cases:category_list": Guard(outsider="volunteer"),
    "cases:category_add": Guard(outsider="leader"),
    "cases:category_edit": Guard(kwargs=_category, outsider="leader"),
    "cases:field_add": Guard(kwargs=_category, outsider="leader"),
    "cases:field_edit": Guard(kwargs=_field, outsider="leader"),
    "cases:policy_list": Guard(outsider="volunteer"),
    "cases:policy_add": Guard(outsider="leader"),
    "cases:policy_edit": Guard(kwargs=_policy, outsider="leader"),
    "cases:dispatch_table": Guard(kwargs=_with_rule, outsider="other_leader", hidden=lambda w: RULE_NOTE),
    "cases:rule_add": Guard(outsider="leader"),
    "cases:rule_edit": Guard(kwargs=lambda w: {"pk": _rule(w).pk}, outsider="leader"),
    "cases:rule_retire": Guard(kwargs=lambda w: {"pk": _rule(w).pk}, outsider="leader", method="post"),
}
PUBLIC: dict[str, str] = {}
