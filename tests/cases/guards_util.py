"""Objects the route guards point at: a case in grid_a (community A), which grid_b's worker must not reach."""

from __future__ import annotations

from jiedao.cases import services
from jiedao.cases.catalog import ensure_default_catalog
from jiedao.cases.models import Case, Channel
from tests.world import World

GUARD_TEXT = "路由测试专用工单内容"


def case_in_grid_a(world: World) -> Case:
    existing = Case.objects.filter(description=GUARD_TEXT).first()
    if existing is not None:
        return existing
    catalog = ensure_default_catalog()
    return services.create_case(
        world["comm_a"],
        channel=Channel.PHONE,
        category=catalog["city-stall"],
        org_unit=world.grid_a,
        description=GUARD_TEXT,
        requester_phone="13800001111",
    )
