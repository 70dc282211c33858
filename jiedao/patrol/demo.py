"""The patrol module's demo step: hazard points of 陇海马路街道 (the seed's 新郑里, 南仓街 and
陇海路 underpasses,
waterlogging points, old compounds, dangerous trees and billboards), a weekly patrol plan per grid with a
month of patrols, and last autumn's storm night: a 暴雨红色预警 declared at 03:00, every point checked before
dawn, hazards filed as cases (some rectified and closed, some still open), people moved to safety, closed with
its summary. Idempotent: a district that already has hazard points is left as it is.

Runs after the cases and people steps (INSTALLED_APPS order: patrol comes after both).
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta
from io import TextIOBase
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.core.demo import LONGHAI_CODE, LONGYI_CODE, XINZHENGLU_CODE, register_demo_step
from jiedao.core.models import Membership, OrgUnit, Role, User
from jiedao.patrol.kinds import ensure_default_kinds, ensure_hazard_categories
from jiedao.patrol.models import (
    CheckStatus,
    EmergencyEvent,
    EventArea,
    EventCheck,
    EventLevel,
    EventRecord,
    EventStatus,
    HazardKind,
    HazardPoint,
    PatrolItem,
    PatrolPlan,
    PatrolRecord,
    RecordKind,
    RiskLevel,
)

# The seed's places, by community code (grid number, kind code, name, address, risk).
NAMED_POINTS: dict[str, list[tuple[int, str, str, str, str]]] = {
    LONGYI_CODE: [
        (1, "old-compound", "新郑里小区", "新郑里 1-8 号楼", RiskLevel.HIGH),
        (1, "house", "新郑里 5 号楼（墙体开裂）", "新郑里 5 号楼", RiskLevel.HIGH),
        (1, "underpass", "陇海路铁路涵洞", "陇海东路与新郑路交叉口东", RiskLevel.HIGH),
        (2, "waterlog", "陇海东路积水点", "陇海东路 86 号门前", RiskLevel.MEDIUM),
        (2, "billboard", "陇海东路 102 号楼顶广告牌", "陇海东路 102 号", RiskLevel.MEDIUM),
        (3, "tree", "陇海花园门口法桐", "陇海花园南门", RiskLevel.LOW),
    ],
    XINZHENGLU_CODE: [
        (1, "waterlog", "南仓街积水点", "南仓街与新郑路交叉口", RiskLevel.HIGH),
        (1, "old-compound", "南仓街 12 号院", "南仓街 12 号院", RiskLevel.HIGH),
        (1, "tree", "南仓街行道树（倾斜）", "南仓街 30 号门前", RiskLevel.MEDIUM),
        (2, "underpass", "陇海路高架下穿通道", "陇海路高架新郑路段桥下", RiskLevel.HIGH),
        (2, "billboard", "新郑路 55 号户外广告牌", "新郑路 55 号", RiskLevel.MEDIUM),
        (3, "collapse", "新郑路人行道塌陷点", "新郑路 71 号门前", RiskLevel.MEDIUM),
    ],
    "410104007004": [  # 郑新里社区
        (1, "old-compound", "郑新里家属院", "郑新里 3 号院", RiskLevel.HIGH),
        (2, "waterlog", "郑新里路口积水点", "郑新里与城东路交叉口", RiskLevel.MEDIUM),
    ],
    "410104007002": [
        (1, "underpass", "陇海路城东路下穿通道", "陇海路与城东路交叉口", RiskLevel.HIGH),
    ],
    "410104007003": [
        (1, "underpass", "陇海路紫荆山路涵洞", "陇海路与紫荆山路交叉口西", RiskLevel.HIGH),
    ],
}
# Generic points for the other grids: (kind code, name pattern, risk)
GENERIC = [
    ("waterlog", "%(grid)s低洼积水点", RiskLevel.MEDIUM),
    ("old-compound", "%(grid)s老旧楼院", RiskLevel.MEDIUM),
    ("tree", "%(grid)s危树", RiskLevel.LOW),
    ("billboard", "%(grid)s沿街广告牌", RiskLevel.LOW),
]
STORM_FINDINGS = {
    "陇海路铁路涵洞": ("涵洞积水约 60 厘米，车辆无法通行，已拉警戒线。", 60, "no"),
    "南仓街积水点": ("路口积水约 30 厘米，雨水箅子堵塞。", 30, "yes"),
    "新郑里 5 号楼（墙体开裂）": ("5 号楼东山墙裂缝扩大，有渗水。", None, ""),
    "南仓街行道树（倾斜）": ("行道树倾斜加剧，根部土壤松动，威胁行人。", None, ""),
    "陇海东路 102 号楼顶广告牌": ("广告牌一角松脱，随风摆动。", None, ""),
    "陇海路高架下穿通道": ("下穿通道积水约 40 厘米，排水泵未启动。", 40, "no"),
}
FIXED = {"南仓街积水点", "陇海东路 102 号楼顶广告牌", "陇海路铁路涵洞", "南仓街行道树（倾斜）"}


def _inside(boundary: Any, rng: random.Random) -> tuple[float | None, float | None]:
    """A point well inside a grid's boundary box (lat, lng)."""
    try:
        ring = boundary["coordinates"][0]
        lngs = [float(p[0]) for p in ring]
        lats = [float(p[1]) for p in ring]
    except (KeyError, IndexError, TypeError, ValueError):
        return None, None
    lo_lng, hi_lng, lo_lat, hi_lat = min(lngs), max(lngs), min(lats), max(lats)
    return (
        round(lo_lat + (hi_lat - lo_lat) * rng.uniform(0.25, 0.75), 6),
        round(lo_lng + (hi_lng - lo_lng) * rng.uniform(0.25, 0.75), 6),
    )


def _points(rng: random.Random, kinds: dict[str, HazardKind], workers: dict[int, User]) -> list[HazardPoint]:
    longhai = OrgUnit.objects.get(code=LONGHAI_CODE)
    grids = list(
        OrgUnit.objects.filter(kind=OrgUnit.Kind.GRID, path__startswith=longhai.path).order_by("path")
    )
    by_code = {g.code: g for g in grids}
    points: list[HazardPoint] = []
    named_grids: set[str] = set()
    for community, rows in NAMED_POINTS.items():
        for number, kind, name, address, risk in rows:
            grid = by_code.get(f"{community}{number:03d}")
            if grid is None:
                continue
            named_grids.add(grid.code)
            lat, lng = _inside(grid.boundary, rng)
            points.append(
                HazardPoint(
                    org_unit=grid,
                    org_path=grid.path,
                    kind=kinds[kind],
                    name=name,
                    address=address,
                    risk=risk,
                    latitude=lat,
                    longitude=lng,
                    responsible=workers.get(grid.pk),
                )
            )
    for grid in grids:
        count = 2 if grid.code in named_grids else 3
        for kind, pattern, risk in rng.sample(GENERIC, count):
            lat, lng = _inside(grid.boundary, rng)
            points.append(
                HazardPoint(
                    org_unit=grid,
                    org_path=grid.path,
                    kind=kinds[kind],
                    name=pattern % {"grid": grid.name},
                    address=grid.name,
                    risk=risk,
                    latitude=lat,
                    longitude=lng,
                    responsible=workers.get(grid.pk),
                )
            )
    HazardPoint.objects.bulk_create(points)
    return list(
        HazardPoint.objects.filter(org_path__startswith=longhai.path).select_related("kind", "org_unit")
    )


def _plans(
    rng: random.Random, points: list[HazardPoint], workers: dict[int, User], now: datetime
) -> tuple[int, int]:
    by_grid: dict[int, list[HazardPoint]] = {}
    for p in points:
        by_grid.setdefault(p.org_unit_id, []).append(p)
    plans = 0
    records = 0
    for grid_id, grid_points in by_grid.items():
        grid = grid_points[0].org_unit
        worker = workers.get(grid_id)
        every = 7
        last = now - timedelta(days=rng.randint(1, 10), hours=rng.randint(0, 6))
        plan = PatrolPlan.objects.create(
            org_unit=grid,
            name=_("%(grid)s每周巡查") % {"grid": grid.name},
            every_days=every,
            worker=worker,
            last_patrol_at=last,
            due_at=last + timedelta(days=every),
        )
        plan.points.set(grid_points)
        plans += 1
        if worker is None:
            continue
        day = last
        while day > now - timedelta(days=35):
            record = PatrolRecord.objects.create(
                plan=plan,
                org_unit=grid,
                worker=worker,
                patrolled_at=day,
                latitude=grid_points[0].latitude,
                longitude=grid_points[0].longitude,
                accuracy=15,
            )
            checked = grid_points if rng.random() < 0.8 else grid_points[:-1]
            PatrolItem.objects.bulk_create(
                [PatrolItem(record=record, point=p, status=CheckStatus.OK) for p in checked]
            )
            records += 1
            day -= timedelta(days=every, hours=rng.randint(-8, 8))
    return plans, records


def _storm(
    rng: random.Random, points: list[HazardPoint], workers: dict[int, User], now: datetime
) -> EmergencyEvent | None:
    from jiedao.cases import services as case_services
    from jiedao.cases.models import Outcome
    from jiedao.patrol.services import raise_hazard_case

    leader = User.objects.filter(username="leader").first()
    longhai = OrgUnit.objects.get(code=LONGHAI_CODE)
    if leader is None:
        return None
    night = timezone.localtime(now - timedelta(days=20)).replace(hour=3, minute=0, second=0, microsecond=0)
    kinds = list(HazardKind.objects.exclude(code="other"))
    event = EmergencyEvent.objects.create(
        org_unit=longhai,
        kind="暴雨红色预警",
        level=EventLevel.RED,
        started_at=night,
        declared_by=leader,
        instructions="立即排查辖区积水点、涵洞和下穿通道、危房危树、户外广告牌和老旧小区，发现险情立即上报并先行处置。",
        status=EventStatus.CLOSED,
        closed_at=night + timedelta(hours=9),
        closed_by=leader,
        summary_note="全街道连夜排查，重大险情全部先期处置，无人员伤亡。",
    )
    event.point_kinds.set(kinds)
    EventArea.objects.create(event=event, org_unit=longhai, org_path=longhai.path)
    checks: list[EventCheck] = []
    for p in points:
        worker = workers.get(p.org_unit_id)
        checks.append(
            EventCheck(
                event=event,
                point=p,
                org_unit_id=p.org_unit_id,
                org_path=p.org_path,
                status=CheckStatus.HAZARD if p.name in STORM_FINDINGS else CheckStatus.OK,
                checked_by=worker,
                checked_at=night + timedelta(minutes=rng.randint(15, 300)),
                note=STORM_FINDINGS.get(p.name, ("",))[0],
                latitude=p.latitude,
                longitude=p.longitude,
                accuracy=12,
            )
        )
    EventCheck.objects.bulk_create(checks)
    event.notified = len({w.pk for w in workers.values()})
    event.save(update_fields=["notified"])
    for check in EventCheck.objects.filter(event=event, status=CheckStatus.HAZARD).select_related(
        "point__kind", "point__org_unit", "checked_by"
    ):
        note, depth, passable = STORM_FINDINGS[check.point.name]
        actor = check.checked_by or leader
        case = raise_hazard_case(
            actor,
            check.point,
            description=f"暴雨红色预警应急排查发现险情（{check.point.kind.name}·{check.point.name}）：{note}",
            key=f"demo-storm:{check.point.name}",
            photo=None,
            event=event,
            depth_cm=depth,
            passable=passable,
            now=check.checked_at,
        )
        if check.point.name in FIXED:
            case = case_services.sign(None, case, version=None, note="已到现场")  # type: ignore[arg-type]
            case = case_services.report(None, case, version=None, note="已疏通排水、加固或拆除，险情消除。")  # type: ignore[arg-type]
            case = case_services.verify(None, case, version=None, note="复查无险情。")  # type: ignore[arg-type]
            case = case_services.close(
                None,  # type: ignore[arg-type]
                case,
                version=None,
                outcome=Outcome.RESOLVED,
                reply="险情已整改完毕。",
            )
        EventCheck.objects.filter(pk=check.pk).update(case=case)
    communities = {c.code: c for c in OrgUnit.objects.filter(code__in=[LONGYI_CODE, XINZHENGLU_CODE])}
    records = [
        (LONGYI_CODE, RecordKind.EVACUATION, 23, "陇一社区党群服务中心", "新郑里 5 号楼住户连夜转移", 90),
        (XINZHENGLU_CODE, RecordKind.EVACUATION, 14, "新郑路小学体育馆", "南仓街 12 号院一楼住户转移", 150),
        (XINZHENGLU_CODE, RecordKind.MEASURE, 0, "", "南仓街积水点调用移动泵车排水", 120),
        (LONGYI_CODE, RecordKind.MEASURE, 0, "", "陇海路铁路涵洞双向封闭，设置警戒线和值守人员", 40),
    ]
    for code, kind, count, where, note, minutes in records:
        unit = communities.get(code)
        if unit is None:
            continue
        EventRecord.objects.create(
            event=event,
            kind=kind,
            org_unit=unit,
            people_count=count,
            destination=where,
            note=note,
            recorded_by=leader,
            recorded_at=night + timedelta(minutes=minutes),
        )
    return event


def demo_patrol(scale: int, stdout: TextIOBase) -> None:
    started = time.perf_counter()
    ensure_default_kinds()
    ensure_hazard_categories()
    longhai = OrgUnit.objects.filter(code=LONGHAI_CODE).first()
    if longhai is None or HazardPoint.objects.filter(org_path__startswith=longhai.path).exists():
        stdout.write(_("巡查和应急：已有隐患点，未动。") + "\n")
        return
    rng = random.Random(20241107)
    now = timezone.now()
    kinds = {k.code: k for k in HazardKind.objects.all()}
    workers: dict[int, User] = {}
    for m in (
        Membership.objects.filter(is_active=True, role=Role.GRID_WORKER, org_path__startswith=longhai.path)
        .select_related("user")
        .order_by("user__username")
    ):
        workers.setdefault(m.org_unit_id, m.user)
    points = _points(rng, kinds, workers)
    plans, records = _plans(rng, points, workers, now)
    event = _storm(rng, points, workers, now)
    stdout.write(
        _(
            "巡查和应急：隐患点 %(points)s 个，巡查计划 %(plans)s 个，巡查记录 %(records)s 次，"
            "历史应急事件 %(events)s 个；用时 %(s).1f 秒。"
        )
        % {
            "points": len(points),
            "plans": plans,
            "records": records,
            "events": int(event is not None),
            "s": time.perf_counter() - started,
        }
        + "\n"
    )


register_demo_step("patrol", demo_patrol)
