"""Shared makers for the people tests: valid identity numbers and residents made through the services."""

from __future__ import annotations

from datetime import date
from typing import Any

from stdnum.cn import ric

from jiedao.core.models import OrgUnit, User
from jiedao.people import services
from jiedao.people.models import Building, Compound, Dwelling, Resident


def id_number(born: date, serial: int = 1, region: str = "410104") -> str:
    first17 = f"{region}{born:%Y%m%d}{serial % 1000:03d}"
    return first17 + ric.calc_check_digit(first17 + "0")


def resident(actor: User, unit: OrgUnit, name: str = "张三", **data: Any) -> Resident:
    return services.create(actor, Resident, {"org_unit": unit, "name": name, **data})


def dwelling(
    actor: User, unit: OrgUnit, compound: str = "陇海花园", building: str = "3号楼", number: str = "301"
) -> Dwelling:
    c = Compound.objects.filter(org_unit=unit, name=compound).first() or services.create(
        actor, Compound, {"org_unit": unit, "name": compound, "address": "陇海东路 88 号"}
    )
    b = Building.objects.filter(compound=c, name=building).first() or services.create(
        actor, Building, {"compound": c, "name": building, "floors": 6}
    )
    return services.create(actor, Dwelling, {"building": b, "number": number})
