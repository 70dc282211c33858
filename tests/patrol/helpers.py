"""A small set of hazard points on the persona world: two points in grid_a, one in grid_a2, two in grid_b,
one in 二里岗's grid; a second grid worker in grid_a (`grid_a_night`) and one in
grid_a2 (`grid_a2_worker`)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from jiedao.cases.catalog import ensure_default_catalog
from jiedao.core.models import Membership, OrgUnit, Role, User
from jiedao.patrol.kinds import ensure_default_kinds, ensure_hazard_categories
from jiedao.patrol.models import HazardKind, HazardPoint, RiskLevel
from tests.world import PASSWORD, World


@dataclass
class Points:
    a1: HazardPoint  # grid_a, 积水点
    a2: HazardPoint  # grid_a, 危树
    a3: HazardPoint  # grid_a2, 危房
    b1: HazardPoint  # grid_b, 涵洞/下穿通道
    b2: HazardPoint  # grid_b, 户外广告牌 (retired)
    other: HazardPoint  # 二里岗
    night: User
    a2_worker: User


def _worker(username: str, unit: OrgUnit) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User.objects.create_user(
            username=username, password=PASSWORD, full_name=username, mobile="13900000000"
        )
        Membership.objects.create(user=user, org_unit=unit, role=Role.GRID_WORKER)
    return user


def make_points(world: World) -> Points:
    ensure_default_catalog()
    ensure_default_kinds()
    ensure_hazard_categories()
    kinds = {k.code: k for k in HazardKind.objects.all()}

    def point(unit: OrgUnit, kind: str, name: str, **extra: Any) -> HazardPoint:
        found = HazardPoint.objects.filter(name=name).first()
        if found is not None:
            return found
        return HazardPoint.objects.create(
            org_unit=unit,
            kind=kinds[kind],
            name=name,
            latitude=34.73,
            longitude=113.68,
            address=name,
            **extra,
        )

    return Points(
        a1=point(
            world.grid_a, "waterlog", "测试陇海路积水点", risk=RiskLevel.HIGH, responsible=world["grid_a"]
        ),
        a2=point(world.grid_a, "tree", "测试新郑里危树"),
        a3=point(world.grid_a2, "house", "测试南仓街危房"),
        b1=point(world.grid_b, "underpass", "测试陇海路涵洞"),
        b2=point(world.grid_b, "billboard", "测试已拆广告牌", is_active=False),
        other=point(world.other_grid, "waterlog", "测试二里岗积水点"),
        night=_worker("grid_a_night", world.grid_a),
        a2_worker=_worker("grid_a2_worker", world.grid_a2),
    )


def png(name: str = "photo.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 60, 40)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")
