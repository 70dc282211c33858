"""Fixtures shared by the cases tests: the default catalogue and a helper that takes a case through the
workflow with the persona world's users."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from jiedao.cases import services
from jiedao.cases.catalog import ensure_default_catalog
from jiedao.cases.models import Case, Category, Channel
from tests.world import World


@pytest.fixture
def catalog(db: None) -> dict[str, Category]:
    return ensure_default_catalog()


@pytest.fixture
def make_case(world: World, catalog: dict[str, Category]) -> Callable[..., Case]:
    """make_case(until="reported", **create_kwargs): a case in grid_a of community A, taken through the main
    line up to the named status by the right personas (comm_a accepts, dispatches to grid_a …)."""

    order = ["registered", "accepted", "dispatched", "handling", "reported", "verified", "closed", "rated"]

    def make(until: str = "registered", **kwargs: Any) -> Case:
        fields: dict[str, Any] = {
            "channel": Channel.PHONE,
            "category": catalog["city-stall"],
            "org_unit": world.grid_a,
            "description": "新郑里路口有人占道摆摊卖水果，影响通行",
            "requester_name": "王先生",
            "requester_phone": "13812345678",
        }
        fields.update(kwargs)
        case = services.create_case(world["comm_a"], **fields)
        steps = order[1 : order.index(until) + 1]
        for step in steps:
            case.refresh_from_db()
            if step == "accepted":
                case = services.accept(world["comm_a"], case, version=case.version)
            elif step == "dispatched":
                case = services.dispatch(world["comm_a"], case, version=case.version, lead_unit=world.grid_a)
            elif step == "handling":
                case = services.sign(world["grid_a"], case, version=case.version)
            elif step == "reported":
                case = services.report(
                    world["grid_a"], case, version=case.version, note="已劝离摊贩，恢复通行"
                )
            elif step == "verified":
                case = services.verify(world["comm_a"], case, version=case.version, note="现场核实已恢复")
            elif step == "closed":
                case = services.close(
                    world["comm_a"],
                    case,
                    version=case.version,
                    outcome="resolved",
                    reply="已劝离摊贩，恢复通行。",
                )
            elif step == "rated":
                case = services.rate(services.PUBLIC, case, version=case.version, rating="satisfied")
        return case

    return make
