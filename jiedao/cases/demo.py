"""The cases module's demo step: the default catalogue, the demo dispatch table, an Open311 demo client and a
realistic year of cases over the demo district (`jiedao.cases.bulk`), plus a few cases made today through the
real services. Idempotent: a second run adds nothing.

`manage.py demo --scale N` makes `bulk.cases_for_scale(N)` cases: 3,000 at scale 1, 10,000 more per step
(`--scale 100` ≈ 1,000,000), spread over the demo district and the synthetic sub-districts the core step adds.
"""

from __future__ import annotations

import hashlib
import time
from io import TextIOBase

from django.db import transaction
from django.db.models import Min
from django.utils.translation import gettext as _

from jiedao.cases import bulk, measures, rollup, services
from jiedao.cases.catalog import ensure_default_catalog
from jiedao.cases.models import Case, Category, Channel, DispatchRule, Open311Client, Status
from jiedao.core.demo import ERLIGANG_CODE, LONGHAI_CODE, LONGYI_CODE, register_demo_step
from jiedao.core.models import Department, OrgUnit, User

#: The demo Open311 client's key (documented in bench/README.md; stored as its SHA-256 hash only).
OPEN311_DEMO_KEY = "demo-open311-key"

# (sub-district code, category code, department code): the demo dispatch table. Categories without a row go
# to the locality (属地): the community where the case is.
DISPATCH_TABLE = [
    (LONGHAI_CODE, "city", "chengguan"),
    (LONGHAI_CODE, "env", "chengguan"),
    (LONGHAI_CODE, "infra", "chengjian"),
    (LONGHAI_CODE, "safety", "yingji"),
    (LONGHAI_CODE, "safety-house", "chengjian"),
    (LONGHAI_CODE, "petition", "xinfang"),
    (ERLIGANG_CODE, "city", "chengjian"),
    (ERLIGANG_CODE, "petition", "xinfang"),
]

# Cases made today through the services, by the fixed demo logins (idempotency keys keep them single).
LIVE_CASES = [
    ("demo-live-1", "grid_a", "city-stall", "陇海东路与新郑路交叉口早高峰有三轮车占道卖早餐，影响通行。"),
    ("demo-live-2", "comm_a", "env-garbage", "陇海花园3号楼东侧垃圾桶满溢，已两天未清运。"),
    ("demo-live-3", "grid_a", "safety-fire", "新郑里小区5号楼楼道堆放大量纸箱和电动车，堵塞消防通道。"),
]


def ensure_dispatch_rules(categories: dict[str, Category]) -> int:
    """The demo dispatch table (one current rule per sub-district × category); returns rows created."""
    created = 0
    units = {u.code: u for u in OrgUnit.objects.filter(code__in={code for code, _c, _d in DISPATCH_TABLE})}
    for unit_code, cat_code, dept_code in DISPATCH_TABLE:
        unit = units.get(unit_code)
        category = categories.get(cat_code)
        dept = Department.objects.filter(org_unit=unit, code=dept_code).first() if unit else None
        if unit is None or category is None or dept is None:
            continue
        if DispatchRule.objects.filter(category=category, org_unit=unit, valid_to__isnull=True).exists():
            continue
        DispatchRule.objects.create(
            category=category,
            org_unit=unit,
            target_department=dept,
            note="演示派单目录",
        )
        created += 1
    return created


def ensure_open311_client() -> bool:
    key_hash = hashlib.sha256(OPEN311_DEMO_KEY.encode()).hexdigest()
    unit = OrgUnit.objects.filter(code=LONGHAI_CODE).first()
    if unit is None or Open311Client.objects.filter(key_hash=key_hash).exists():
        return False
    Open311Client.objects.create(
        name="12345 热线演示接口", key_hash=key_hash, key_prefix=OPEN311_DEMO_KEY[:8], org_unit=unit
    )
    return True


def live_cases(categories: dict[str, Category]) -> int:
    """A few cases of today through the real services: registered, dispatched and handling."""
    users = {u.username: u for u in User.objects.filter(username__in=["grid_a", "comm_a"])}
    grid = OrgUnit.objects.filter(code=f"{LONGYI_CODE}001").first()
    if grid is None or len(users) < 2:
        return 0
    made = 0
    for n, (key, username, cat_code, text) in enumerate(LIVE_CASES):
        hashed = hashlib.sha256(key.encode()).hexdigest()
        if Case.objects.filter(idempotency_key=hashed).exists():
            continue
        case = services.create_case(
            users[username],
            channel=Channel.GRID if username == "grid_a" else Channel.PHONE,
            category=categories[cat_code],
            org_unit=grid,
            description=text,
            requester_name="" if username == "grid_a" else "李女士",
            requester_phone="" if username == "grid_a" else "13903712468",
            idempotency_key=key,
            extra={"goods": "food"} if cat_code == "city-stall" else None,
        )
        made += 1
        if n == 0:
            continue  # stays 待受理
        case = services.accept(users["comm_a"], case, version=case.version)
        case = services.dispatch(users["comm_a"], case, version=case.version, lead_unit=grid)
        if n == 2 and case.status == Status.DISPATCHED:
            services.sign(users["grid_a"], case, version=case.version, note="已到现场查看")
    return made


def demo_cases(scale: int, stdout: TextIOBase) -> None:
    started = time.perf_counter()
    categories = ensure_default_catalog()
    rules = ensure_dispatch_rules(categories)
    client = ensure_open311_client()
    total = bulk.cases_for_scale(scale)
    result = bulk.build(total, stdout=stdout)
    with transaction.atomic():
        live = live_cases(categories)
    stats = result.stats
    stdout.write(
        _(
            "工单：新建 %(created)s 件（已有 %(existing)s 件），办理过程 %(steps)s 条，计时 %(clocks)s 条；"
            "派单规则 %(rules)s 条，开放接口客户端 %(client)s 个，今日演示工单 %(live)s 件；用时 %(s).1f 秒。"
        )
        % {
            "created": f"{result.created:,}",
            "existing": f"{result.existing:,}",
            "steps": f"{stats.steps:,}",
            "clocks": f"{stats.clocks:,}",
            "rules": rules,
            "client": int(client),
            "live": live,
            "s": time.perf_counter() - started,
        }
        + "\n"
    )
    # the 三率 rollup: every month that has cases, then the engine keeps it fresh
    firsts = Case.objects.aggregate(d=Min("dispatched_at"), c=Min("closed_at"), r=Min("rated_at")).values()
    earliest = min((t for t in firsts if t is not None), default=None)
    if earliest is not None:
        results = measures.refresh_months(measures.current_month(earliest), measures.current_month())
        seconds = sum(r.seconds for r in results)
        stdout.write(_("三率汇总：%(n)s 个月，用时 %(s).1f 秒。") % {"n": len(results), "s": seconds} + "\n")
    rollup.ensure_refresh_scheduled()


register_demo_step("cases", demo_cases)
