"""Helpers for the search tests: valid identity numbers, residents made through the people services, and a
URL configuration with the search pages and API (and stand-in people detail pages while that app has none)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from stdnum.cn import ric

from jiedao.core.models import OrgUnit
from jiedao.people import services
from jiedao.people.models import Resident
from tests.world import World

_serial = itertools.count(101)


def id_number(born: str = "19530212", serial: int | None = None, region: str = "410104") -> str:
    """A valid 18-character identity number (check digit by python-stdnum)."""
    first17 = f"{region}{born}{(serial if serial is not None else next(_serial)) % 1000:03d}"
    return first17 + ric.calc_check_digit(first17 + "0")


@pytest.fixture
def make_resident(world: World) -> Callable[..., Resident]:
    """make_resident(name, unit=world.grid_a, actor="comm_a", **data) through people.services.create."""

    def make(name: str, unit: OrgUnit | None = None, actor: str = "comm_a", **data: Any) -> Resident:
        values: dict[str, Any] = {"org_unit": unit or world.grid_a, "name": name, **data}
        return services.create(world[actor], Resident, values)

    return make
