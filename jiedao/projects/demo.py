"""The projects module's demo step ("projects", before supervision's, which turns some of these decisions into
matters): the seed's key projects of 二里岗街道 (永茂·广利国际广场, 货站街城市综合体, 中博城中村改造) and a
dozen more in 陇海马路街道, each with a year of monthly investment, milestones (some late), problems, progress
notes and meetings with decisions. Projects and problems are made through the services (history, audit,
reminders); the monthly figures and milestones are bulk-inserted with their history. Idempotent: a project
that exists is left alone."""

from __future__ import annotations

import random
import time as clock
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from io import TextIOBase

from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from jiedao.core.demo import ERLIGANG_CODE, LONGHAI_CODE, register_demo_step
from jiedao.core.models import Department, OrgUnit, User
from jiedao.projects import services
from jiedao.projects.models import (
    InvestmentEntry,
    KeyProject,
    MeetingKind,
    Milestone,
    ProjectKind,
    Stage,
)

K = ProjectKind
S = Stage


@dataclass(frozen=True)
class Spec:
    name: str
    kind: str
    stage: str
    unit_code: str
    leader: str
    owner: str
    address: str
    point: tuple[float, float]  # lon, lat
    total: int  # 万元
    year_plan: int  # 万元 planned over the last twelve months
    pace: float  # completed / planned
    stalled_days: int  # days since the last progress (0: moving)
    departments: tuple[str, ...]
    milestones: tuple[str, ...]
    late: int  # how many of the due milestones are late
    description: str


SEED = [
    Spec(
        "永茂·广利国际广场",
        K.COMMERCIAL,
        S.CONSTRUCTION,
        "410104006007",
        "other_leader",
        "郑州永茂置业有限公司",
        "货站街与东明路交叉口西北角",
        (113.7035, 34.7392),
        128000,
        36000,
        0.92,
        0,
        ("chengjian", "ducha"),
        ("立项备案", "规划许可", "施工许可", "基础完工", "主体封顶", "竣工验收"),
        1,
        "老旧仓库挖潜升级：商业综合体、写字楼和地下车库，总建筑面积约 21 万平方米。",
    ),
    Spec(
        "货站街城市综合体",
        K.COMMERCIAL,
        S.PREPARATION,
        "410104006003",
        "erligang_leader02",
        "郑州货站街置业有限公司",
        "未来路以东、货站街以北",
        (113.6985, 34.7405),
        265000,
        42000,
        0.55,
        45,
        ("chengjian", "dangzheng"),
        ("土地收储", "征收补偿方案", "房屋征收", "土地挂牌", "规划许可", "开工建设"),
        2,
        "批发市场升级改造：购物中心、酒店、商业街区和人才公寓，货站街旧城改造一条街的核心项目。",
    ),
    Spec(
        "中博城中村改造",
        K.RENEWAL,
        S.CONSTRUCTION,
        ERLIGANG_CODE,
        "erligang_leader03",
        "河南中博集团",
        "中博精品家具特色街以南",
        (113.7075, 34.7360),
        456000,
        98000,
        1.05,
        0,
        ("chengjian", "xinfang", "dangzheng"),
        ("拆迁补偿方案公示", "签约清零", "腾房清零", "拆除完成", "安置房开工", "安置房封顶"),
        0,
        "中博集团城中村拆迁改造：拆迁、安置房建设和中博精品家具特色街提升，全区重点项目。",
    ),
]

LONGHAI = [
    (
        "陇海高架桥拓宽改造配套工程",
        K.INFRASTRUCTURE,
        S.CONSTRUCTION,
        "leader02",
        "郑州市市政工程总公司",
        86000,
        "410104007001",
    ),
    (
        "陇海东路老旧小区综合改造（18个小区）",
        K.HOUSING,
        S.CONSTRUCTION,
        "leader03",
        "管城区住房保障中心",
        1800,
        "410104007002",
    ),
    (
        "陇海村城中村改造安置区",
        K.RENEWAL,
        S.PREPARATION,
        "leader10",
        "郑州陇海置业有限公司",
        210000,
        "410104007200",
    ),
    ("新郑路口袋公园", K.ENVIRONMENT, S.COMPLETED, "leader12", "管城区园林绿化中心", 420, "410104007007"),
    ("郑新里社区党群服务中心", K.PUBLIC, S.OPERATING, "leader05", "陇海马路街道办事处", 650, "410104007004"),
    (
        "陇海马路智慧停车场",
        K.INFRASTRUCTURE,
        S.CONSTRUCTION,
        "leader07",
        "郑州城发停车管理有限公司",
        3200,
        "410104007005",
    ),
    ("兴亚商务楼宇提质", K.INDUSTRY, S.CONSTRUCTION, "leader06", "兴亚置业有限公司", 5600, "410104007006"),
    (
        "永茂世纪大厦招商运营",
        K.INDUSTRY,
        S.OPERATING,
        "leader08",
        "永茂世纪大厦运营公司",
        2400,
        "410104007008",
    ),
    (
        "陇海东路雨污分流改造",
        K.INFRASTRUCTURE,
        S.CONSTRUCTION,
        "leader09",
        "管城区水务局",
        7800,
        LONGHAI_CODE,
    ),
    ("陇三社区养老服务中心", K.PUBLIC, S.PREPARATION, "leader04", "管城区民政局", 980, "410104007003"),
    (
        "城东路背街小巷整治",
        K.ENVIRONMENT,
        S.CONSTRUCTION,
        "leader11",
        "管城区城市管理局",
        1500,
        "410104007001",
    ),
    (
        "陇海村集体产业大楼",
        K.INDUSTRY,
        S.PREPARATION,
        "leader",
        "陇海村股份经济合作社",
        38000,
        "410104007200",
    ),
    ("郑新里菜市场标准化改造", K.PUBLIC, S.CONSTRUCTION, "leader06", "郑新里商贸公司", 760, "410104007004"),
]
LONGHAI_MILESTONES = ("立项批复", "方案设计", "招标完成", "开工建设", "主体完工", "竣工验收")
PROBLEMS = [
    "施工围挡占用人行道，周边居民投诉出行不便，需协调交警设置临时通道。",
    "地下管线（燃气、电力）迁改方案未确定，影响基础施工。",
    "个别商户对补偿标准有异议，尚未签约。",
    "夜间施工噪音扰民，需落实错时施工和降噪措施。",
    "规划许可材料需补充交通影响评价报告。",
    "施工用电增容审批进度慢，需协调供电公司。",
]
DECISIONS = [
    "由城建办牵头，一周内协调交警部门完成临时通道设置。",
    "责成业主单位两周内报送管线迁改方案，城建办跟踪督办。",
    "由分包领导带队入户，逐户做好补偿政策解释，月底前完成签约。",
    "综治办会同社区建立夜间施工巡查机制，接诉即办。",
    "党政办负责将项目推进情况纳入周例会通报。",
    "经济发展办对接业主单位，梳理招商需求清单。",
]


def _months_back(today: date, n: int) -> list[date]:
    first = today.replace(day=1)
    months = []
    for _i in range(n):
        months.append(first)
        first = (first - timedelta(days=1)).replace(day=1)
    return list(reversed(months))


def _user(username: str) -> User | None:
    return User.objects.filter(username=username, is_active=True).first()


def _departments(unit: OrgUnit) -> dict[str, Department]:
    sub = unit if unit.kind == OrgUnit.Kind.SUBDISTRICT else OrgUnit.objects.get_parent(unit)
    return {d.code: d for d in Department.objects.filter(org_unit=sub)}


def _staff(sub_code: str, codes: tuple[str, ...]) -> list[User]:
    prefix = "erligang_dept_" if sub_code == ERLIGANG_CODE else "dept_"
    return list(User.objects.filter(username__in=[prefix + c for c in codes], is_active=True))


def _build(spec: Spec, actor: User, rng: random.Random, today: date) -> KeyProject | None:
    unit = OrgUnit.objects.filter(code=spec.unit_code).first()
    leader = _user(spec.leader)
    if unit is None or leader is None:
        return None
    existing = KeyProject.objects.filter(org_unit=unit, name=spec.name).first()
    if existing is not None:
        return None
    departments = _departments(unit)
    sub = unit if unit.kind == OrgUnit.Kind.SUBDISTRICT else OrgUnit.objects.get_parent(unit)
    assert sub is not None
    project = services.create_project(
        actor,
        {
            "name": spec.name,
            "code": f"ZD{today:%Y}{KeyProject.objects.count() + 1:03d}",
            "kind": spec.kind,
            "stage": spec.stage,
            "org_unit": unit,
            "owner_company": spec.owner,
            "address": spec.address,
            "longitude": Decimal(f"{spec.point[0]:.6f}"),
            "latitude": Decimal(f"{spec.point[1]:.6f}"),
            "leader": leader,
            "total_investment": Decimal(spec.total),
            "start_date": today.replace(day=1) - timedelta(days=400),
            "planned_completion": today.replace(day=1) + timedelta(days=rng.randint(200, 900)),
            "description": spec.description,
            "departments": [departments[c] for c in spec.departments if c in departments],
            "units": [unit] if unit.kind != OrgUnit.Kind.SUBDISTRICT else [],
        },
    )
    # A year of monthly investment (the stalled ones stop reporting), bulk-inserted with history.
    months = _months_back(today, 12)
    stop = today - timedelta(days=spec.stalled_days) if spec.stalled_days else None
    rows = []
    for month in months:
        planned = Decimal(round(spec.year_plan / 12 * rng.uniform(0.7, 1.3)))
        reported = stop is None or month < stop.replace(day=1)
        completed = (
            Decimal(round(float(planned) * spec.pace * rng.uniform(0.8, 1.2))) if reported else Decimal(0)
        )
        rows.append(
            InvestmentEntry(
                project=project, month=month, planned=planned, completed=completed, recorded_by=actor
            )
        )
    bulk_create_with_history(rows, InvestmentEntry, default_user=actor)
    # Milestones spread over two years around today; `late` of the past ones have no actual date.
    step = 730 // len(spec.milestones)
    stones = []
    past = 0
    for index, name in enumerate(spec.milestones):
        planned_date = today - timedelta(days=420) + timedelta(days=step * index)
        actual = None
        if planned_date < today:
            past += 1
            actual = planned_date + timedelta(days=rng.randint(-5, 20))
            actual = min(actual, today - timedelta(days=1))
        stones.append(
            Milestone(
                project=project, name=name, planned_date=planned_date, actual_date=actual, sort_order=index
            )
        )
    due = [m for m in stones if m.planned_date < today]
    for milestone in due[len(due) - spec.late :] if spec.late else []:
        milestone.actual_date = None
    bulk_create_with_history(stones, Milestone, default_user=actor)
    # The stall clock: the last progress is the last month with money or the last milestone reached.
    last = today - timedelta(days=spec.stalled_days or rng.randint(1, 12))
    when = timezone.make_aware(datetime.combine(last, time(17, 0)))
    project.last_progress_at = None
    project.mark_progress(when)
    KeyProject.objects.filter(pk=project.pk).update(
        last_progress_at=project.last_progress_at, stalled_after=project.stalled_after
    )
    return project


def _problems(project: KeyProject, actor: User, owners: list[User], rng: random.Random, today: date) -> None:
    if not owners:
        return
    for index in range(rng.randint(1, 3)):
        owner = owners[(project.pk + index) % len(owners)]
        problem = services.add_problem(
            actor,
            project,
            description=PROBLEMS[(project.pk * 3 + index) % len(PROBLEMS)],
            owner=owner,
            due_date=today + timedelta(days=rng.randint(-20, 30)),
        )
        if index == 0 and rng.random() < 0.4:
            services.update_problem(
                actor,
                problem,
                {"status": "solved", "solution": "已协调解决，现场复核无误。"},
                problem.version,
            )


def _meetings(
    project: KeyProject, actor: User, attendees: list[User], rng: random.Random, today: date
) -> None:
    departments = list(Department.objects.filter(org_unit__path=project.org_path[:8]).order_by("sort_order"))
    sub = OrgUnit.objects.filter(path=project.org_path[:8]).first() or project.org_unit
    for n in range(rng.randint(2, 4)):
        day = today - timedelta(days=20 + 28 * n + rng.randint(0, 6))
        present = [u for u in attendees if rng.random() > 0.2]
        meeting = services.create_meeting(
            actor,
            {
                "title": f"{project.name}推进例会（第{4 - n}期）",
                "kind": MeetingKind.PROJECT,
                "date": day,
                "location": "办事处三楼会议室",
                "org_unit": sub,
                "project": project,
                "chair": project.leader,
                "minutes": f"会议听取了业主单位关于{project.name}进展情况的汇报，分析了当前存在的问题，"
                "明确了下一步工作任务和完成时限。",
                "expected": attendees,
                "present": present,
            },
        )
        for k in range(rng.randint(1, 3)):
            services.save_decision(
                actor,
                meeting,
                {
                    "content": DECISIONS[(project.pk + n + k) % len(DECISIONS)],
                    "owner_unit": departments[(project.pk + k) % len(departments)] if departments else None,
                    "due_date": day + timedelta(days=rng.choice([7, 14, 30])),
                },
            )
        _note = services.add_note(actor, project, f"{day:%m月%d日}例会后，各责任单位按分工推进，进展正常。")


def demo_projects(scale: int, stdout: TextIOBase) -> None:
    started = clock.monotonic()
    rng = random.Random(6)
    today = timezone.localdate()
    made = 0
    plans: list[tuple[Spec, str]] = [(s, ERLIGANG_CODE) for s in SEED]
    for index, (name, kind, stage, leader, owner, total, code) in enumerate(LONGHAI):
        stalled = 50 if index in (2, 9) else 0
        plans.append(
            (
                Spec(
                    name,
                    kind,
                    stage,
                    code,
                    leader,
                    owner,
                    "",
                    (113.668 + 0.0015 * index, 34.727 + 0.001 * (index % 9)),
                    total,
                    max(60, total // 4),
                    rng.uniform(0.6, 1.1),
                    stalled,
                    ("chengjian", "jingji") if kind in (K.INDUSTRY, K.COMMERCIAL) else ("chengjian",),
                    LONGHAI_MILESTONES,
                    1 if index % 4 == 1 else 0,
                    "",
                ),
                LONGHAI_CODE,
            )
        )
    for spec, sub_code in plans:
        actor = _user("other_leader" if sub_code == ERLIGANG_CODE else "leader")
        if actor is None:
            continue
        project = _build(spec, actor, rng, today)
        if project is None:
            continue
        owners = _staff(sub_code, ("chengjian", "jingji", "ducha", "dangzheng"))
        attendees = [u for u in [project.leader, actor, *owners] if u is not None]
        attendees = list(dict.fromkeys(attendees))
        if spec.stage in (S.PREPARATION, S.CONSTRUCTION):
            _problems(project, actor, owners or [actor], rng, today)
        if not spec.stalled_days:
            _meetings(project, actor, attendees, rng, today)
        made += 1
    stdout.write(
        _("重点项目：新建 %(n)s 个（含月度投资、节点、问题和例会），用时 %(s).1f 秒。")
        % {"n": made, "s": clock.monotonic() - started}
        + "\n"
    )


register_demo_step("projects", demo_projects)
