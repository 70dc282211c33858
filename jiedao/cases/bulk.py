"""Fast bulk generator of demo cases: a realistic year of cases (ending now) over the demo district, with
their timelines, assignments, requests and pending clocks, written with `cursor.executemany` in chunks.

Each case is simulated from the moment it is received: accepted, dispatched (by the dispatch table or to the
locality), signed, handled, reported, verified, closed and rated — or refused, merged, contested, escalated,
extended, whistled, reopened after an unsatisfied rating, and for petitions 复查/复核 — each event at a
plausible time. The events up to now are replayed into the case's columns and timeline, so every case is in
the state its own history leads to (a case received yesterday is usually still open; one received in spring is
usually closed), and its open deadlines get the pending clocks the deadline engine will run.

Rows are built as tuples and inserted in chunks of `CHUNK` inside the caller's transaction, with explicit case
ids (the sequence is reset afterwards on PostgreSQL). Every generated case carries the idempotency key
`demo-<n>`, so running the generator again only adds the cases not yet there. No history rows and no audit
events are written for bulk rows (the demo's own audit event records the run).

`build(total)` is the entry point; `cases_for_scale(scale)` is the number the demo uses.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from io import TextIOBase
from typing import Any

from django.core.management.color import no_style
from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.cases.clock import (
    PolicyValues,
    extend_deadline,
    handling_deadline_for,
    overdue_text,
    petition_accept_deadline,
    policy_for,
    remind_text,
    review_answer_deadline,
    warn_time,
)
from jiedao.cases.models import (
    Assignment,
    Case,
    Category,
    Channel,
    Clock,
    DispatchRule,
    NumberCounter,
    Outcome,
    PetitionType,
    Priority,
    Rating,
    Request,
    Status,
    Step,
    TimeUnit,
)
from jiedao.core.models import ContactCommunity, Department, Membership, OrgUnit, Role, User
from jiedao.core.models.deadlines import DueState

#: Cases at scale 1 (a realistic year for 陇海马路街道 and 二里岗街道), and per further step of scale.
BASE_CASES = 3_000
CASES_PER_SCALE = 10_000
CHUNK = 10_000
KEY_PREFIX = "demo-"
#: Beyond this many cases, timelines keep the registration and the last three steps (2–4 steps per case).
FULL_TIMELINE_LIMIT = 20_000
#: After loading this many cases, refresh the planner's statistics (ANALYZE).
ANALYZE_AFTER = 10_000

S = Status


def cases_for_scale(scale: int) -> int:
    """3,000 cases at scale 1, then 10,000 more per step: `--scale 100` makes 993,000 cases."""
    return BASE_CASES + (max(scale, 1) - 1) * CASES_PER_SCALE


# ---------------------------------------------------------------------------------------------------------
# Stored texts (data in the district's language, not interface strings)

STREETS = [
    "陇海路", "陇海东路", "新郑路", "南仓街", "货站街", "新郑里", "二里岗南街", "城东南路", "紫荆山南路",
    "东明路", "航海东路", "凤凰路", "郑新里路", "亚星路", "城东路", "紫薇路",
]  # fmt: skip
COMPOUNDS = [
    "陇海花园", "新郑里小区", "铁路家属院", "南仓街小区", "货站街3号院", "紫荆苑", "二里岗新村",
    "东明小区", "郑新里北院", "凤凰花园", "紫薇苑", "陇海东路12号院",
]  # fmt: skip
SURNAMES = "王李张刘陈杨黄赵吴周徐孙朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任"
GIVEN = ["先生", "女士", "大爷", "阿姨", "师傅"]

# category code → [(title, description)]; {street}, {compound}, {no}, {bld} are filled in.
TEMPLATES: dict[str, list[tuple[str, str]]] = {
    "city-stall": [
        (
            "{street}路口占道经营",
            "{street}与{street2}交叉口有流动摊贩占道卖水果，早晚高峰影响行人和车辆通行。",
        ),
        (
            "{street}夜市摊点占用人行道",
            "{street}{no}号附近每天晚上有烧烤摊占用人行道，油烟大，行人只能走机动车道。",
        ),
    ],
    "city-build": [
        ("{compound}楼顶私搭乱建", "{compound}{bld}号楼顶有住户正在搭建彩钢房，担心影响楼体安全，请核查。"),
    ],
    "city-ad": [
        (
            "{street}广告牌松动",
            "{street}{no}号门店上方的广告牌一角脱落，刮风时晃动，下面是人行道，有坠落危险。",
        ),
    ],
    "env-garbage": [
        ("{compound}垃圾未及时清运", "{compound}{bld}号楼东侧垃圾桶已满溢两天，无人清运，气味很大。"),
        ("{street}建筑垃圾堆放", "{street}{no}号附近路边堆放大量装修垃圾，占用道路，请尽快清理。"),
    ],
    "env-sewage": [
        ("{compound}下水道堵塞外溢", "{compound}{bld}号楼前下水道堵塞，污水漫到路面，居民出行困难。"),
    ],
    "infra-light": [
        ("{street}路灯不亮", "{street}{no}号至{street2}路段有三盏路灯连续一周不亮，夜间行走不安全。"),
        ("{compound}院内路灯损坏", "{compound}院内主干道路灯损坏，晚上一片漆黑，老人出行容易摔倒。"),
    ],
    "infra-cover": [
        ("{street}井盖缺失", "{street}{no}号门口人行道上的井盖缺失，只用纸箱盖着，非常危险。"),
    ],
    "infra-water": [
        ("{street}下穿通道积水", "{street}下穿通道积水约30厘米，车辆熄火，请尽快排水并设置警示。"),
        ("{street}路面积水", "雨后{street}{no}号附近路面大面积积水，行人无法通行。"),
    ],
    "property-service": [
        (
            "{compound}物业不作为",
            "{compound}电梯经常停运，报修后物业一直拖着不修，楼里多是老人，上下楼困难。",
        ),
        ("{compound}物业收费纠纷", "{compound}物业今年突然上调物业费，未召开业主大会，居民意见很大。"),
    ],
    "property-heat": [
        ("{compound}暖气不热", "{compound}{bld}号楼暖气片温度很低，室内只有14度左右，家中有老人和小孩。"),
    ],
    "dispute-neighbour": [
        (
            "{compound}楼上漏水纠纷",
            "{compound}{bld}号楼楼上住户卫生间漏水到我家天花板，多次协商未果，请社区调解。",
        ),
        ("{compound}噪音扰民", "{compound}{bld}号楼住户深夜装修、跳广场舞音响过大，影响休息。"),
    ],
    "dispute-wage": [
        ("{street}工地拖欠工资", "在{street}附近工地干活三个月，包工头拖欠工资，多次讨要无果，请帮忙协调。"),
    ],
    "safety-house": [
        (
            "{compound}房屋墙体开裂",
            "{compound}{bld}号楼（上世纪八十年代建）外墙出现多条裂缝，住户担心是危房。",
        ),
    ],
    "safety-tree": [
        ("{street}行道树倾斜", "{street}{no}号门口一棵大树向马路倾斜，根部土壤松动，刮风下雨有倒伏危险。"),
    ],
    "safety-fire": [
        (
            "{compound}消防通道被占",
            "{compound}消防通道长期停满私家车，楼道里堆放杂物和电动车，存在火灾隐患。",
        ),
        ("{compound}楼道电动车充电", "{compound}{bld}号楼有住户从楼上拉电线给电动车充电，存在消防隐患。"),
    ],
    "petition-land": [
        (
            "{compound}征收补偿诉求",
            "对{compound}旧城改造征收补偿标准有异议，认为安置面积计算不合理，要求重新核算。",
        ),
    ],
    "petition-conduct": [
        ("反映社区工作人员作风问题", "反映社区工作人员办理低保时推诿拖延，多次跑腿仍未办结，要求调查处理。"),
    ],
    "petition-social": [
        ("低保资格复核诉求", "家中有重病患者，收入低，今年低保被取消，要求重新审核低保资格。"),
        ("养老待遇诉求", "反映退休后养老金核定有误，要求相关部门核实。"),
    ],
    "service-consult": [
        ("老年证办理咨询", "咨询在哪里办理老年证，需要带哪些材料，能不能代办。"),
        ("居住证明办理咨询", "孩子上学需要开居住证明，咨询社区办理流程和所需材料。"),
    ],
}

REPLIES: dict[str, str] = {
    "city": "已协调城管中队到场处置，当事人已整改，现场已恢复。",
    "env": "已通知环卫清运，现场已清理干净，将加强日常巡查。",
    "infra": "已联系市政养护单位维修，现已恢复正常使用。",
    "property": "已约谈物业公司，明确整改时限，社区将跟踪监督。",
    "dispute": "社区组织双方调解，已达成一致意见并签订调解协议。",
    "safety": "已组织排查并消除隐患，设置警示标识，将定期复查。",
    "petition": "经调查核实，已依法依规作出处理，并向信访人当面答复。",
    "service": "已电话告知办理流程和所需材料，诉求人表示清楚。",
}
REPORTS: dict[str, str] = {
    "city": "已到现场劝导整改，拍照留存。",
    "env": "已协调清运，现场已清理。",
    "infra": "维修人员已到场处置完毕。",
    "property": "已约谈物业负责人，问题已整改。",
    "dispute": "已组织双方调解。",
    "safety": "已排查处置，隐患已消除。",
    "petition": "已调查核实并形成答复意见。",
    "service": "已答复咨询。",
}

# Leaf category → (weight, channels); months multiply some weights (rain in summer, heating in winter).
CATEGORY_WEIGHTS: dict[str, float] = {
    "city-stall": 12, "city-build": 3, "city-ad": 2, "env-garbage": 12, "env-sewage": 6, "infra-light": 7,
    "infra-cover": 3, "infra-water": 3, "property-service": 10, "property-heat": 4, "dispute-neighbour": 8,
    "dispute-wage": 3, "safety-house": 2, "safety-tree": 3, "safety-fire": 4, "petition-land": 1.5,
    "petition-conduct": 0.6, "petition-social": 1.4, "service-consult": 6,
}  # fmt: skip
SEASON: dict[str, Callable[[int], float]] = {
    "infra-water": lambda month: 4.0 if month in (6, 7, 8) else 0.4,
    "property-heat": lambda month: 3.0 if month in (11, 12, 1, 2, 3) else 0.1,
    "safety-tree": lambda month: 2.0 if month in (6, 7, 8) else 0.8,
}
RESIDENT_CHANNELS = [
    (Channel.GRID, 34), (Channel.PHONE, 20), (Channel.ONLINE, 18), (Channel.HOTLINE, 16), (Channel.PATROL, 8),
    (Channel.API, 4),
]  # fmt: skip
PETITION_CHANNELS = [(Channel.LETTER, 35), (Channel.VISIT, 40), (Channel.ONLINE, 25)]


# ---------------------------------------------------------------------------------------------------------
# The places and the people of the district


@dataclass
class Place:
    grid: OrgUnit
    community: OrgUnit
    subdistrict: OrgUnit
    lonlat: tuple[float, float]
    worker: int | None  # grid worker's user id
    community_staff: int | None
    leader: int | None  # the leader whose 联系点 this community is


@dataclass
class Directory:
    places: list[Place]
    departments: dict[tuple[int, str], Department]  # (sub-district id, code)
    dept_staff: dict[int, int]  # department id → a staff user id
    labels: dict[int, str]  # user id → shown name
    district_staff: int | None
    rules: dict[tuple[int, int], DispatchRule]  # (category id, sub-district id) → current rule by org unit
    categories: dict[str, Category]
    policies: dict[tuple[int, str], PolicyValues]
    by_subdistrict: dict[int, list[Department]] = field(default_factory=dict)


def _centre(unit: OrgUnit) -> tuple[float, float]:
    try:
        ring = (unit.boundary or {})["coordinates"][0][:-1]
        return (sum(p[0] for p in ring) / len(ring), sum(p[1] for p in ring) / len(ring))
    except (KeyError, IndexError, TypeError, ZeroDivisionError):
        return (113.68, 34.73)


def load_directory() -> Directory:
    units = list(OrgUnit.objects.order_by("path"))
    by_path = {u.path: u for u in units}
    step = OrgUnit.steplen
    members = list(
        Membership.objects.filter(is_active=True, user__is_active=True)
        .order_by("user__username")
        .values_list("user_id", "org_unit_id", "role", "department_id")
    )
    workers: dict[int, int] = {}
    staff: dict[int, int] = {}
    dept_staff: dict[int, int] = {}
    district_staff = None
    for user_id, unit_id, role, dept_id in members:
        if role == Role.GRID_WORKER:
            workers.setdefault(unit_id, user_id)
        elif role == Role.COMMUNITY_STAFF:
            staff.setdefault(unit_id, user_id)
        elif role == Role.DEPARTMENT_STAFF and dept_id:
            dept_staff.setdefault(dept_id, user_id)
        elif role == Role.DISTRICT_STAFF and district_staff is None:
            district_staff = user_id
    contacts: dict[int, int] = {}
    for leader_id, unit_id in ContactCommunity.objects.order_by("leader__username").values_list(
        "leader_id", "org_unit_id"
    ):
        contacts.setdefault(unit_id, leader_id)
    ids = {*workers.values(), *staff.values(), *dept_staff.values(), *contacts.values()}
    if district_staff:
        ids.add(district_staff)
    labels = {u.pk: str(u)[:80] for u in User.objects.filter(pk__in=ids)}

    places = []
    for grid in units:
        if grid.kind != OrgUnit.Kind.GRID:
            continue
        community = by_path.get(grid.path[:-step])
        subdistrict = by_path.get(grid.path[: -2 * step])
        if community is None or subdistrict is None or subdistrict.kind != OrgUnit.Kind.SUBDISTRICT:
            continue
        places.append(
            Place(
                grid,
                community,
                subdistrict,
                _centre(grid),
                workers.get(grid.pk),
                staff.get(community.pk),
                contacts.get(community.pk),
            )
        )
    departments = {(d.org_unit_id, d.code): d for d in Department.objects.filter(is_active=True)}
    categories = {c.code: c for c in Category.objects.select_related("parent")}
    rules: dict[tuple[int, int], DispatchRule] = {}
    subs = {u.path: u for u in units if u.kind == OrgUnit.Kind.SUBDISTRICT}
    for rule in DispatchRule.objects.filter(valid_to__isnull=True).select_related(
        "category", "target_unit", "target_department"
    ):
        sub = subs.get(rule.org_path[: 2 * step])
        if sub is not None and rule.org_path == sub.path:
            rules[rule.category_id, sub.pk] = rule
    policies = {
        (cat.pk, prio): policy_for(cat, prio)
        for cat in categories.values()
        if cat.code in CATEGORY_WEIGHTS
        for prio in Priority.values
    }
    by_subdistrict: dict[int, list[Department]] = defaultdict(list)
    for (sub_id, _code), dept in sorted(departments.items(), key=lambda item: (item[0][0], item[0][1])):
        by_subdistrict[sub_id].append(dept)
    return Directory(
        places, departments, dept_staff, labels, district_staff, rules, categories, policies, by_subdistrict
    )


# ---------------------------------------------------------------------------------------------------------
# Deadlines (the rules of jiedao.cases.clock, with the calendar look-ups cached per day)


def _local_midnight(start: datetime) -> tuple[datetime, Any]:
    local = start.astimezone(timezone.get_current_timezone())
    return local.replace(hour=0, minute=0, second=0, microsecond=0), local.date()


_handling_cache: dict[tuple[int, str, bool, Any], tuple[timedelta, str]] = {}


def _handling(d: Directory, cat: Category, priority: str, petition: bool, start: datetime) -> dict[str, Any]:
    """`clock.handling_deadline` for a case accepted at `start` (cached per category, priority and day)."""
    policy = d.policies[cat.pk, priority]
    if petition or policy.unit != TimeUnit.HOURS:
        midnight, day = _local_midnight(start)
        key = (cat.pk, priority, petition, day)
        cached = _handling_cache.get(key)
        if cached is None:
            due, rule = _make_handling(policy, petition, start)
            cached = _handling_cache[key] = (due - midnight, rule)
        due, rule = midnight + cached[0], cached[1]
    else:
        due, rule = _make_handling(policy, petition, start)
    return {"due_at": due, "warn_at": warn_time(start, due), "deadline_rule": rule}


def _make_handling(policy: PolicyValues, petition: bool, start: datetime) -> tuple[datetime, str]:
    deadline = handling_deadline_for(None if petition else policy, start)
    return deadline.due_at, deadline.rule


def _petition_accept(received: datetime) -> dict[str, Any]:
    """`clock.petition_accept_deadline`, cached per day."""
    midnight, day = _local_midnight(received)
    key = (0, "accept", True, day)
    cached = _handling_cache.get(key)
    if cached is None:
        limit = petition_accept_deadline(received)
        cached = _handling_cache[key] = (limit.due_at - midnight, limit.rule)
    due = midnight + cached[0]
    return {"due_at": due, "warn_at": warn_time(received, due), "deadline_rule": cached[1]}


# ---------------------------------------------------------------------------------------------------------
# The simulation of one case


@dataclass
class Event:
    at: datetime
    action: str
    to_status: str | None  # None: the status does not change
    actor: int | None
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    public: bool = True
    fields: dict[str, Any] = field(default_factory=dict)
    label: str = ""  # actor label when there is no actor user ("诉求人", "系统")


@dataclass
class Sim:
    """One case: its fixed columns and its events (the whole life, also beyond now)."""

    fields: dict[str, Any]
    events: list[Event]


def _weighted(rng: random.Random, pairs: Sequence[tuple[Any, float]]) -> Any:
    total = sum(w for _, w in pairs)
    x = rng.random() * total
    for value, weight in pairs:
        x -= weight
        if x <= 0:
            return value
    return pairs[-1][0]


def _minutes(rng: random.Random, low: float, high: float) -> timedelta:
    """A log-uniform delay between low and high minutes."""
    return timedelta(minutes=math.exp(rng.uniform(math.log(low), math.log(high))))


class Simulator:
    def __init__(self, d: Directory, now: datetime) -> None:
        self.d = d
        self.now = now
        self.last_in_grid: dict[tuple[int, int], int] = {}

    def _lead(
        self, place: Place, cat: Category, channel: str
    ) -> tuple[OrgUnit | None, Department | None, DispatchRule | None, int | None]:
        """(lead unit, lead department, rule, handler) by the dispatch table, else 属地."""
        for cat_id in (cat.pk, cat.parent_id):
            rule = self.d.rules.get((cat_id or 0, place.subdistrict.pk))
            if rule is None:
                continue
            if rule.target_department_id:
                dept = rule.target_department
                return None, dept, rule, self.d.dept_staff.get(rule.target_department_id)
            if rule.target_unit_id:
                return rule.target_unit, None, rule, place.community_staff
        if channel in (Channel.GRID, Channel.PATROL) and place.worker:
            return place.grid, None, None, place.worker
        return place.community, None, None, place.community_staff or place.worker

    def simulate(
        self,
        index: int,
        received: datetime,
        place: Place,
        cat_code: str,
        number: str,
        scenario: str | None = None,
    ) -> Sim:
        rng = random.Random(index * 7919 + 17)
        sc = scenario or ""
        if sc.startswith("petition") or sc == "under_review":
            cat_code = rng.choice(["petition-land", "petition-social"])
        elif cat_code.startswith("petition") and sc:
            cat_code = "city-stall"

        def stall(stage: str) -> timedelta:
            """A showcase case stops at `stage` for longer than it has existed (it is there now)."""
            return (
                timedelta(days=rng.uniform(60, 120)) if sc in (stage, f"petition_{stage}") else timedelta(0)
            )

        d = self.d
        cat = d.categories[cat_code]
        family = cat_code.split("-")[0]
        petition = family == "petition"
        hazard = cat.is_hazard
        channel = _weighted(rng, PETITION_CHANNELS if petition else RESIDENT_CHANNELS)
        if hazard and channel == Channel.GRID:
            channel = rng.choice([Channel.GRID, Channel.PATROL])
        priority = (
            Priority.CRITICAL
            if sc == "overdue"
            else (
                _weighted(rng, [(Priority.NORMAL, 60), (Priority.URGENT, 30), (Priority.CRITICAL, 10)])
                if hazard
                else _weighted(rng, [(Priority.NORMAL, 90), (Priority.URGENT, 9), (Priority.CRITICAL, 1)])
            )
        )
        title_t, desc_t = rng.choice(TEMPLATES[cat_code])
        street, street2 = rng.sample(STREETS, 2)
        fill = {
            "street": street,
            "street2": street2,
            "compound": rng.choice(COMPOUNDS),
            "no": rng.randint(1, 199),
            "bld": rng.randint(1, 24),
        }
        title = title_t.format(**fill)[:120]
        anonymous = not petition and channel == Channel.ONLINE and rng.random() < 0.15
        staff_channel = channel in (Channel.GRID, Channel.PATROL)
        has_requester = not anonymous and not staff_channel
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) if has_requester else ""
        phone = f"1{rng.choice('3578')}{rng.randint(0, 999_999_999):09d}" if has_requester else ""
        petition_type = ""
        accused_unit = None
        if petition:
            petition_type = (
                PetitionType.ACCUSATION
                if cat_code == "petition-conduct"
                else _weighted(rng, [(PetitionType.CLAIM, 80), (PetitionType.SUGGESTION, 20)])
            )
            if petition_type == PetitionType.ACCUSATION:
                accused_unit = place.community
        lon = place.lonlat[0] + rng.uniform(-0.0012, 0.0012)
        lat = place.lonlat[1] + rng.uniform(-0.0009, 0.0009)
        extra: dict[str, Any] = {}
        if cat_code == "infra-water":
            extra = {"depth_cm": float(rng.choice([10, 20, 30, 40])), "passable": rng.choice(["yes", "no"])}
        elif cat_code == "city-stall":
            extra = {"goods": rng.choice(["food", "fruit", "other"])}
        unit = place.grid if rng.random() < 0.9 else place.community
        fields: dict[str, Any] = {
            "org_unit_id": unit.pk,
            "org_path": unit.path,
            "number": number,
            "channel": channel,
            "category_id": cat.pk,
            "priority": priority,
            "confidential": petition_type == PetitionType.ACCUSATION,
            "title": title,
            "description": desc_t.format(**fill),
            "extra": extra,
            "address": f"{street}{fill['no']}号" if family in ("city", "infra") else f"{fill['compound']}",
            "longitude": round(lon, 6),
            "latitude": round(lat, 6),
            "anonymous": anonymous,
            "requester_name": name,
            "requester_phone": phone,
            "phone_last4": phone[-4:],
            "petition_type": petition_type,
            "accused_unit_id": accused_unit.pk if accused_unit else None,
            "leader_in_charge_id": place.leader if petition else None,
            "received_at": received,
            "idempotency_key": f"{KEY_PREFIX}{index:07d}",
            "created_by_id": None,
            "_remind_hours": 24,
        }
        petition_office = d.departments.get((place.subdistrict.pk, "xinfang"))
        intake = (
            d.dept_staff.get(petition_office.pk)
            if petition and petition_office is not None
            else place.community_staff
        ) or place.community_staff
        creator: int | None = place.worker if staff_channel else intake
        if channel in (Channel.ONLINE, Channel.API):
            creator = None
        fields["created_by_id"] = creator
        events: list[Event] = []
        ev = events.append
        ev(Event(received, "create", S.REGISTERED, creator, data={"channel": channel}, label="诉求人"))
        t = received
        if petition:
            accept_deadline = _petition_accept(received)
            ev(Event(received, "_deadline", None, None, fields=accept_deadline))
            t += _minutes(rng, 60 * 20, 60 * 24 * 18) + stall("registered")
            if t > accept_deadline["due_at"]:
                ev(
                    Event(
                        accept_deadline["due_at"],
                        "petition_accept_overdue",
                        None,
                        None,
                        note=f"信访件 {number} 已超过 15 日告知期限，尚未决定是否受理",
                        public=False,
                    )
                )
        elif staff_channel or channel == Channel.HOTLINE:
            t += timedelta(seconds=rng.randint(0, 600))
        else:
            t += _minutes(rng, 5, 60 * 20)
        t += stall("registered") if not petition else timedelta(0)
        # 不予受理 / 合并 at intake
        roll = rng.random() if not sc else 1.0
        if roll < (0.05 if petition else 0.03):
            reason = (
                "该事项已通过诉讼程序处理，不属于信访受理范围，请依法通过司法途径解决。"
                if petition
                else "经核实，该事项不属于本街道职责范围，已告知诉求人向相关部门反映。"
            )
            ev(
                Event(
                    t,
                    "refuse",
                    S.NOT_ACCEPTED,
                    intake,
                    note=reason,
                    fields={"reply": reason, "closed_at": t},
                )
            )
            return Sim(fields, events)
        key = (place.grid.pk, cat.pk)
        earlier = self.last_in_grid.get(key)
        self.last_in_grid[key] = index
        if roll < 0.05 and earlier is not None and not petition:
            ev(
                Event(
                    t,
                    "merge",
                    S.MERGED,
                    intake,
                    note="与同一地点的相同诉求合并办理。",
                    data={"into_index": earlier},
                    fields={"merged_into_index": earlier, "closed_at": t},
                )
            )
            return Sim(fields, events)
        ev(
            Event(
                t,
                "accept",
                S.ACCEPTED,
                intake,
                fields={"accepted_at": t, **_handling(d, cat, priority, petition, t)},
            )
        )
        accepted = t
        deadline = _handling(d, cat, priority, petition, t)
        due: datetime = deadline["due_at"]
        policy = d.policies[cat.pk, priority]
        fields["_remind_hours"] = policy.remind_before_hours
        # 派遣
        t += _minutes(rng, 3, 60 * 6) + stall("accepted")
        lead_unit, lead_dept, rule, handler = self._lead(place, cat, channel)
        if petition_type == PetitionType.ACCUSATION:
            lead_unit, lead_dept, rule = None, petition_office, None
            handler = d.dept_staff.get(petition_office.pk) if petition_office else intake
            if lead_dept is None:
                lead_unit = place.subdistrict
        target = str(lead_dept or lead_unit)
        lead_unit_id = (lead_dept.org_unit_id if lead_dept else lead_unit.pk if lead_unit else None) or None
        response_due = t + timedelta(hours=policy.response_hours)
        dispatch_fields = {
            "lead_unit_id": lead_unit_id,
            "lead_department_id": lead_dept.pk if lead_dept else None,
            "dispatch_rule_id": rule.pk if rule else None,
            "dispatched_at": t,
            "responded_at": None,
            "handler_id": None,
            "response_due_at": response_due,
            "_lead": (
                "lead",
                lead_unit.pk if lead_unit and not lead_dept else None,
                getattr(lead_dept, "pk", None),
            ),
        }
        route = (
            f"派单目录 v{rule.version}：{rule.category.name} · {place.subdistrict.name}"
            if rule
            else f"属地管理：{target}"
        )
        ev(
            Event(
                t,
                "dispatch",
                S.DISPATCHED,
                intake,
                data={"lead": target, "co": [], "route": route},
                fields=dispatch_fields,
            )
        )
        roll = rng.random() if not sc else 0.0 if sc == "contested" else 1.0
        if roll < 0.02 and not petition:  # 退单, approved: dispatched again to the community
            t += _minutes(rng, 30, 60 * 8)
            ev(
                Event(
                    t,
                    "contest",
                    S.CONTESTED,
                    handler,
                    note="该事项不属于本单位职责，请重新派遣。",
                    data={"reason_code": "not_ours"},
                    public=False,
                    fields={
                        "_request": ("contest", "not_ours", "该事项不属于本单位职责，请重新派遣。", None)
                    },
                )
            )
            t += _minutes(rng, 30, 60 * 24) + stall("contested")
            ev(
                Event(
                    t,
                    "decide_contest",
                    S.ACCEPTED,
                    intake,
                    note="同意退单，重新派遣。",
                    data={"approved": True},
                    public=False,
                    fields={"_decide": "contest", "lead_unit_id": None, "lead_department_id": None},
                )
            )
            t += _minutes(rng, 10, 60 * 4)
            handler = place.community_staff or handler
            ev(
                Event(
                    t,
                    "dispatch",
                    S.DISPATCHED,
                    intake,
                    data={
                        "lead": place.community.name,
                        "co": [],
                        "route": f"属地管理：{place.community.name}",
                    },
                    fields={
                        **dispatch_fields,
                        "lead_unit_id": place.community.pk,
                        "lead_department_id": None,
                        "dispatch_rule_id": None,
                        "dispatched_at": t,
                        "response_due_at": t + timedelta(hours=policy.response_hours),
                        "_lead": ("lead", place.community.pk, None),
                    },
                )
            )
            response_due = t + timedelta(hours=policy.response_hours)
        # 签收
        late_response = rng.random() < 0.05 or sc == "dispatched"
        if late_response:
            ev(
                Event(
                    response_due,
                    "response_overdue",
                    None,
                    None,
                    note=f"响应超时：工单 {number} 尚未签收",
                    data={},
                    public=False,
                )
            )
            t = response_due + _minutes(rng, 10, 60 * 12) + stall("dispatched")
        else:
            t = min(t + _minutes(rng, 5, 60 * 8), response_due - timedelta(minutes=1))
        ev(Event(t, "sign", S.HANDLING, handler, fields={"handler_id": handler, "responded_at": t}))
        if (
            rng.random() < 0.01 and not petition and not sc
        ) or sc == "escalated":  # 升级到区, the district dispatches it again later
            t += _minutes(rng, 60, 60 * 24 * 3)
            ev(
                Event(
                    t,
                    "escalate",
                    S.ESCALATED,
                    intake,
                    note="涉及多个部门职责，街道层面无法协调解决，提请区级统筹处理。",
                    fields={"escalated": True},
                )
            )
            t += _minutes(rng, 60 * 24 * 2, 60 * 24 * 20) + stall("escalated")
            ev(
                Event(
                    t,
                    "dispatch",
                    S.DISPATCHED,
                    d.district_staff,
                    data={"lead": target, "co": [], "route": ""},
                    fields={
                        **dispatch_fields,
                        "dispatched_at": t,
                        "response_due_at": t + timedelta(hours=24),
                    },
                )
            )
            t += _minutes(rng, 30, 60 * 8)
            ev(Event(t, "sign", S.HANDLING, handler, fields={"handler_id": handler, "responded_at": t}))
        # 吹哨
        subdepts = d.by_subdistrict.get(place.subdistrict.pk, [])
        whistled = rng.random() < 0.02 and family in ("city", "safety", "dispute") and not sc
        if (whistled or sc == "whistle") and subdepts:
            called = rng.sample(subdepts, min(2, len(subdepts)))
            t += _minutes(rng, 30, 60 * 24)
            ev(
                Event(
                    t,
                    "whistle",
                    None,
                    place.community_staff or intake,
                    note="多部门联合处置，请相关科室到现场报到。",
                    data={"called": [str(x) for x in called]},
                    public=False,
                    fields={"_whistle": [x.pk for x in called]},
                )
            )
            for dept in called:
                ev(
                    Event(
                        t
                        + _minutes(rng, 20, 60 * 6)
                        + (stall("whistle") if dept == called[-1] else timedelta(0)),
                        "report_in",
                        None,
                        d.dept_staff.get(dept.pk),
                        data={"who": str(dept)},
                        public=False,
                        fields={"_report_in": dept.pk},
                    )
                )
        # 延期
        window = due - accepted
        if (rng.random() < 0.04 and not sc) or sc == "extension":
            days = rng.randint(3, 15)
            asked = accepted + window * rng.uniform(0.4, 0.8) if not sc else t + timedelta(minutes=40)
            reason = "需协调产权单位和施工队，材料采购周期较长，申请延期。"
            ev(
                Event(
                    asked,
                    "request_extension",
                    None,
                    handler,
                    note=reason,
                    data={"days": days},
                    public=False,
                    fields={"_request": ("extension", "", reason, days)},
                )
            )
            decided = asked + _minutes(rng, 60, 60 * 30) + stall("extension")
            extension = extend_deadline(due, deadline["deadline_rule"], accepted, days)
            new_due = extension.due_at
            ev(
                Event(
                    decided,
                    "decide_extension",
                    None,
                    place.leader or intake,
                    note="同意延期。",
                    data={"approved": True, "days": days, "reason": reason},
                    fields={
                        "_decide": "extension",
                        "due_at": new_due,
                        "warn_at": extension.warn_at,
                        "deadline_rule": extension.rule,
                        "_extension": days,
                    },
                )
            )
            due = new_due
            window = due - accepted
        # 处置: most finish well in time, some late, a few stay stuck a long time
        late = rng.random()
        share = rng.uniform(0.1, 0.85) if late < 0.88 else rng.uniform(1.05, 2.0) if late < 0.98 else 6.0
        if sc in ("overdue", "petition_handling"):
            share = 30.0
        elif sc in ("under_review", "reopened", "petition_closed"):
            share = rng.uniform(0.05, 0.15)
        busy_until = max(e.at for e in events)
        finish = max(busy_until + timedelta(minutes=30), accepted + window * share)
        self._clock_steps(ev, number, due, policy, finish, t)
        ev(
            Event(
                finish,
                "report",
                S.REPORTED,
                handler,
                note=REPORTS[family],
                fields={"reported_at": finish, "handler_id": handler},
            )
        )
        t = finish + _minutes(rng, 30, 60 * 24) + stall("reported")
        verifier = intake if intake != handler else (place.leader or d.district_staff)
        if rng.random() < 0.05 and not sc:
            ev(Event(t, "send_back", S.HANDLING, verifier, note="现场核查问题仍存在，请继续处置。"))
            t += _minutes(rng, 60 * 4, 60 * 24 * 3)
            ev(Event(t, "report", S.REPORTED, handler, note=REPORTS[family], fields={"reported_at": t}))
            t += _minutes(rng, 30, 60 * 12)
        ev(Event(t, "verify", S.VERIFIED, verifier, note="现场核查属实。"))
        t += _minutes(rng, 10, 60 * 24) + stall("verified")
        outcome = _weighted(
            rng,
            [
                (Outcome.RESOLVED, 76),
                (Outcome.PARTIAL, 9),
                (Outcome.EXPLAINED, 10),
                (Outcome.LEGAL, 3 if petition else 1),
                (Outcome.NOT_OURS, 2),
            ],
        )
        reply = REPLIES[family]
        ev(
            Event(
                t,
                "close",
                S.CLOSED,
                intake,
                note=reply,
                data={"outcome": outcome},
                fields={"outcome": outcome, "reply": reply, "closed_at": t},
            )
        )
        if (
            rng.random() < 0.75 and sc not in ("under_review", "petition_closed")
        ) or sc == "reopened":  # 回访评价
            t += _minutes(rng, 60, 60 * 24 * 3)
            rating = _weighted(rng, [(Rating.SATISFIED, 80), (Rating.BASIC, 14), (Rating.UNSATISFIED, 6)])
            if sc == "reopened":
                rating = Rating.UNSATISFIED
            rater = None if channel in (Channel.ONLINE, Channel.API) else intake
            if rating == Rating.UNSATISFIED:
                again = _handling(d, cat, priority, petition, t)
                ev(
                    Event(
                        t,
                        "rate",
                        S.HANDLING,
                        rater,
                        note="问题没有根本解决。",
                        data={"rating": rating},
                        label="诉求人",
                        fields={
                            "rating": rating,
                            "rating_comment": "问题没有根本解决。",
                            "rated_at": t,
                            "outcome": "",
                            "closed_at": None,
                            "_reopen": 1,
                            **again,
                        },
                    )
                )
                ev(Event(t, "reopen", None, None, note="诉求人不满意，重办。", label="系统"))
                finish = t + (again["due_at"] - t) * rng.uniform(0.2, 0.9) + stall("reopened")
                ev(
                    Event(
                        finish,
                        "report",
                        S.REPORTED,
                        handler,
                        note=REPORTS[family],
                        fields={"reported_at": finish},
                    )
                )
                t = finish + _minutes(rng, 60, 60 * 24)
                ev(Event(t, "verify", S.VERIFIED, verifier, note="复查已整改到位。"))
                t += _minutes(rng, 10, 60 * 12)
                ev(
                    Event(
                        t,
                        "close",
                        S.CLOSED,
                        intake,
                        note=reply,
                        data={"outcome": Outcome.RESOLVED},
                        fields={"outcome": Outcome.RESOLVED, "reply": reply, "closed_at": t},
                    )
                )
            else:
                ev(
                    Event(
                        t,
                        "rate",
                        S.RATED,
                        rater,
                        data={"rating": rating},
                        label="诉求人",
                        fields={"rating": rating, "rated_at": t},
                    )
                )
        if (petition and rng.random() < 0.15 and not sc) or sc == "under_review":  # 复查, then maybe 复核
            for level in (1, 2):
                t += _minutes(rng, 60 * 24 * 2, 60 * 24 * 25) if not sc else timedelta(days=1)
                answer = review_answer_deadline(t, level - 1)
                what = "复查" if level == 1 else "复核"
                ev(
                    Event(
                        t,
                        "request_review",
                        S.UNDER_REVIEW,
                        intake,
                        note=f"信访人对处理意见不服，申请{what}。",
                        data={"level": level},
                        fields={
                            "due_at": answer.due_at,
                            "warn_at": answer.warn_at,
                            "deadline_rule": answer.rule,
                        },
                    )
                )
                t += _minutes(rng, 60 * 24 * 5, 60 * 24 * 29) + stall("under_review")
                ev(
                    Event(
                        t,
                        "answer_review",
                        S.CLOSED,
                        place.leader or intake,
                        note=f"经{what}，维持原处理意见。",
                        data={"level": level},
                        fields={
                            "review_level": level,
                            "reply": f"经{what}，维持原处理意见。",
                            "closed_at": t,
                            "rating": "",
                            "rated_at": None,
                        },
                    )
                )
                if rng.random() < 0.7:
                    break
        return Sim(fields, events)

    def _clock_steps(
        self,
        ev: Callable[[Event], None],
        number: str,
        due: datetime,
        policy: PolicyValues,
        finish: datetime,
        start: datetime,
    ) -> None:
        """The engine's 催办 and 超期 steps for clocks that fell due before the case was reported."""
        remind_at = due - timedelta(hours=policy.remind_before_hours)
        if start < remind_at < finish:
            note = remind_text(number, due)
            ev(Event(remind_at, "remind", None, None, note=note, public=False, label="系统"))
        if due < finish:
            note = overdue_text(number)
            ev(Event(due, "overdue", None, None, note=note, public=False, label="系统"))


# ---------------------------------------------------------------------------------------------------------
# Replaying the events up to now into rows


def _columns(model: type[models.Model], with_id: bool = False) -> list[str]:
    return [str(f.column) for f in model._meta.concrete_fields if with_id or f.column != "id"]


class Tables:
    """Column lists and converters for the raw inserts on the current connection."""

    def __init__(self) -> None:
        self.sqlite = connection.vendor == "sqlite"
        self.case_cols = _columns(Case, with_id=True)
        self.step_cols = _columns(Step)
        expected = [
            "case_id",
            "action",
            "from_status",
            "to_status",
            "actor_id",
            "actor_label",
            "note",
            "data",
        ]
        assert self.step_cols == [*expected, "public", "created_at"], self.step_cols
        self.case_kinds = [(c, 1 if c in DT_CASE_COLS else 2 if c == "extra" else 0) for c in self.case_cols]
        self.clock_cols = _columns(Clock)
        self.assignment_cols = _columns(Assignment)
        self.request_cols = _columns(Request)
        self.case_defaults: dict[str, Any] = {}
        for f in Case._meta.concrete_fields:
            default = f.get_default() if f.has_default() else (None if f.null else "")
            self.case_defaults[str(f.column)] = default

    def dt(self, value: datetime | None) -> Any:
        """SQLite stores UTC as text (what Django's adapt_datetimefield_value makes, without its overhead)."""
        if value is None or not self.sqlite:
            return value
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")

    def sql(self, model: type[models.Model], cols: Sequence[str]) -> str:
        qn = connection.ops.quote_name
        placeholders = ", ".join(["%s"] * len(cols))
        names = ", ".join(qn(c) for c in cols)
        return f"INSERT INTO {qn(model._meta.db_table)} ({names}) VALUES ({placeholders})"


DT_CASE_COLS = {
    "due_at", "warn_at", "response_due_at", "received_at", "accepted_at", "dispatched_at", "responded_at",
    "reported_at", "closed_at", "rated_at", "updated_at",
}  # fmt: skip


@dataclass
class Batch:
    cases: list[tuple[Any, ...]] = field(default_factory=list)
    steps: list[tuple[Any, ...]] = field(default_factory=list)
    clocks: list[tuple[Any, ...]] = field(default_factory=list)
    assignments: list[tuple[Any, ...]] = field(default_factory=list)
    requests: list[tuple[Any, ...]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.cases)


@dataclass
class Stats:
    cases: int = 0
    steps: int = 0
    clocks: int = 0
    assignments: int = 0
    requests: int = 0
    by_status: dict[str, int] = field(default_factory=lambda: defaultdict(int))


class Writer:
    def __init__(self, tables: Tables, now: datetime, brief: bool) -> None:
        self.t = tables
        self.now = now
        self.brief = brief
        self.batch = Batch()
        self.stats = Stats()
        self.ids_by_index: dict[int, int] = {}
        self.labels: dict[int, str] = {}

    def add(self, case_id: int, index: int, sim: Sim, labels: dict[int, str]) -> None:
        t, now = self.t, self.now
        row = dict(t.case_defaults)
        row.update(sim.fields)
        row["id"] = case_id
        self.ids_by_index[index] = case_id
        applied = sorted((e for e in sim.events if e.at <= now), key=lambda e: e.at)
        steps: list[Event] = []
        status: str = S.REGISTERED
        version = 1
        requests: list[list[Any]] = []
        assignments: list[list[Any]] = []
        for e in applied:
            from_status = status
            for key, value in e.fields.items():
                if key == "_lead":
                    for a in assignments:
                        if a[0] in ("lead", "co") and a[3] == Assignment.State.ACTIVE:
                            a[3] = Assignment.State.ENDED
                    assignments.append(
                        ["lead", value[1], value[2], Assignment.State.ACTIVE, e.at, None, None]
                    )
                elif key == "_whistle":
                    for dept_id in value:
                        assignments.append(
                            ["whistle", None, dept_id, Assignment.State.PENDING, e.at, None, None]
                        )
                elif key == "_report_in":
                    for a in assignments:
                        if a[0] == "whistle" and a[2] == value and a[3] == Assignment.State.PENDING:
                            a[3], a[5], a[6] = Assignment.State.CONFIRMED, e.at, e.actor
                            break
                elif key == "_request":
                    kind, code, reason, days = value
                    requests.append([kind, code, reason, days, e.actor, e.at, "pending", None, None, ""])
                elif key == "_decide":
                    for r in requests:
                        if r[0] == value and r[6] == "pending":
                            r[6], r[7], r[8], r[9] = "approved", e.actor, e.at, e.note
                elif key == "_extension":
                    row["extension_days"] = row.get("extension_days", 0) + value
                elif key == "_reopen":
                    row["reopen_count"] = row.get("reopen_count", 0) + value
                elif key == "merged_into_index":
                    row["merged_into_id"] = self.ids_by_index.get(value)
                else:
                    row[key] = value
            if e.action == "_deadline":
                continue
            if e.to_status is not None:
                status = e.to_status
                version += 1
            steps.append(e)
            e.data.setdefault("_from", from_status)
            e.data["_to"] = status
        row["status"] = status
        row["version"] = version
        row["updated_at"] = applied[-1].at
        if status == S.REGISTERED and not row.get("petition_type"):
            row["due_at"] = row["warn_at"] = None
            row["deadline_rule"] = ""
        self.stats.by_status[status] += 1
        dt = t.dt
        self.batch.cases.append(
            tuple(
                dt(row[c]) if kind == 1 else _json(row[c]) if kind == 2 else row[c]
                for c, kind in t.case_kinds
            )
        )
        kept = steps if not self.brief or len(steps) <= 4 else [steps[0], *steps[-3:]]
        for e in kept:
            from_status, to_status = e.data.pop("_from"), e.data.pop("_to")
            label = labels.get(e.actor, "") if e.actor else (e.label or "系统")
            if e.action == "create":
                from_status = ""
            self.batch.steps.append(
                (
                    case_id,
                    e.action,
                    from_status,
                    to_status,
                    e.actor,
                    label,
                    e.note,
                    json.dumps(e.data, ensure_ascii=False) if e.data else "{}",
                    e.public,
                    dt(e.at),
                )
            )
        for a in assignments:
            role, unit_id, dept_id, state, at, confirmed_at, confirmed_by = a
            values = {
                "case_id": case_id,
                "role": role,
                "unit_id": unit_id,
                "department_id": dept_id,
                "state": state,
                "note": "",
                "created_at": t.dt(at),
                "confirmed_at": t.dt(confirmed_at),
                "confirmed_by_id": confirmed_by,
            }
            self.batch.assignments.append(tuple(values[c] for c in t.assignment_cols))
        for r in requests:
            kind, code, reason, days, by, at, decision, decided_by, decided_at, note = r
            values = {
                "case_id": case_id,
                "kind": kind,
                "reason_code": code,
                "reason": reason,
                "days": days,
                "requested_by_id": by,
                "requested_at": t.dt(at),
                "decision": decision,
                "decided_by_id": decided_by,
                "decided_at": t.dt(decided_at),
                "decision_note": note,
            }
            self.batch.requests.append(tuple(values[c] for c in t.request_cols))
        for kind, due_at in _pending_clocks(row, status, now):
            values = {
                "due_at": t.dt(due_at),
                "due_state": DueState.PENDING,
                "claim_token": None,
                "claimed_at": None,
                "done_at": None,
                "attempts": 0,
                "last_error": "",
                "case_id": case_id,
                "kind": kind,
                "deadline": t.dt(row["due_at"] if kind != Clock.Kind.RESPONSE else row["response_due_at"]),
            }
            self.batch.clocks.append(tuple(values[c] for c in t.clock_cols))

    def flush(self) -> None:
        b, t = self.batch, self.t
        if not b.cases:
            return
        with connection.cursor() as cursor:
            for model, cols, rows in (
                (Case, t.case_cols, b.cases),
                (Step, t.step_cols, b.steps),
                (Assignment, t.assignment_cols, b.assignments),
                (Request, t.request_cols, b.requests),
                (Clock, t.clock_cols, b.clocks),
            ):
                if rows:
                    cursor.executemany(t.sql(model, cols), rows)
        self.stats.cases += len(b.cases)
        self.stats.steps += len(b.steps)
        self.stats.clocks += len(b.clocks)
        self.stats.assignments += len(b.assignments)
        self.stats.requests += len(b.requests)
        self.batch = Batch()


def _json(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False)


def _pending_clocks(row: dict[str, Any], status: str, now: datetime) -> list[tuple[str, datetime]]:
    """What `clock.schedule_clocks` leaves pending for the case's state (only those not yet due)."""
    clocks: list[tuple[str, datetime]] = []
    if status not in {
        S.REGISTERED, S.ACCEPTED, S.DISPATCHED, S.CONTESTED, S.HANDLING, S.REPORTED, S.VERIFIED, S.ESCALATED,
        S.UNDER_REVIEW,
    }:  # fmt: skip
        return clocks
    due = row.get("due_at")
    if status == S.REGISTERED and row.get("petition_type") and due is not None and due > now:
        clocks.append((Clock.Kind.PETITION_ACCEPT, due))
    if due is not None and status != S.REGISTERED and due > now:
        kind = Clock.Kind.REVIEW_ANSWER if status == S.UNDER_REVIEW else Clock.Kind.OVERDUE
        clocks.append((kind, due))
        remind_at = due - timedelta(hours=row.get("_remind_hours", 24))
        if remind_at > now and status != S.UNDER_REVIEW:
            clocks.append((Clock.Kind.REMIND, remind_at))
    response_due = row.get("response_due_at")
    if status == S.DISPATCHED and row.get("responded_at") is None and response_due and response_due > now:
        clocks.append((Clock.Kind.RESPONSE, response_due))
    return clocks


# ---------------------------------------------------------------------------------------------------------
# The year: how many cases each day gets, and where


def day_counts(total: int, days: int, today_share: float) -> list[int]:
    """Cases per day over `days` days ending today (weekends quieter; today only partly over)."""
    start = timezone.localdate() - timedelta(days=days - 1)
    weights = []
    for i in range(days):
        day = start + timedelta(days=i)
        w = 0.65 if day.weekday() >= 5 else 1.0
        if i == days - 1:
            w *= today_share
        weights.append(w)
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    for i in range(total - sum(counts)):
        counts[i % max(days - 1, 1)] += 1
    return counts


def _category_table(month: int) -> list[tuple[str, float]]:
    return [(code, w * SEASON.get(code, lambda m: 1.0)(month)) for code, w in CATEGORY_WEIGHTS.items()]


@dataclass
class BuildResult:
    created: int
    existing: int
    stats: Stats
    seconds: float


def build(
    total: int,
    *,
    stdout: TextIOBase | None = None,
    days: int = 365,
    now: datetime | None = None,
    brief: bool | None = None,
) -> BuildResult:
    """Make sure the demo cases 0 … total−1 exist (generate the missing ones). Call inside a transaction."""
    started = time.perf_counter()
    now = now or timezone.now()
    out = stdout
    d = load_directory()
    if not d.places:
        raise ValueError("no grids under a sub-district: load the demo district first")
    existing_keys = set(
        Case.objects.filter(idempotency_key__gte=KEY_PREFIX, idempotency_key__lt=KEY_PREFIX[:-1] + ".")
        .values_list("idempotency_key", flat=True)
        .iterator(chunk_size=50_000)
    )
    existing = len(existing_keys)
    if existing >= total:
        return BuildResult(0, existing, Stats(), time.perf_counter() - started)
    brief = total > FULL_TIMELINE_LIMIT if brief is None else brief
    tables = Tables()
    writer = Writer(tables, now, brief)
    sim = Simulator(d, now)
    next_id = (Case.objects.aggregate(m=models.Max("id"))["m"] or 0) + 1
    counters = dict(NumberCounter.objects.values_list("day", "last"))
    numbers = (
        {
            n
            for n in Case.objects.filter(received_at__gte=now - timedelta(days=days + 1))
            .values_list("number", flat=True)
            .iterator(chunk_size=50_000)
        }
        if existing
        else set()
    )
    local_now = timezone.localtime(now)
    today_share = max(0.05, (local_now.hour * 60 + local_now.minute) / (24 * 60))
    counts = day_counts(total, days, today_share)
    # Grids weighted by the population of their community; the real district's grids get more.
    weights = [float(p.grid.population or p.community.population or 500) for p in d.places]
    cumulative = list(_accumulate(weights))
    first_day = local_now.date() - timedelta(days=days - 1)
    index = 0
    created = 0
    report_every = max(CHUNK * 5, total // 20)
    next_report = report_every
    for day_no, count in enumerate(counts):
        day = first_day + timedelta(days=day_no)
        midnight = timezone.make_aware(datetime.combine(day, datetime.min.time()))
        span = min(timedelta(days=1), now - midnight) if day_no == days - 1 else timedelta(days=1)
        rng = random.Random(day.toordinal())
        table = _category_table(day.month)
        times = sorted(
            midnight + span * _daytime(rng) if span == timedelta(days=1) else midnight + span * rng.random()
            for _ in range(count)
        )
        for received in times:
            i = index
            index += 1
            key = f"{KEY_PREFIX}{i:07d}"
            if key in existing_keys:
                continue
            place = _pick(cumulative, random.Random(i).random() * cumulative[-1], d.places)
            cat_code = _weighted(random.Random(i * 31 + 7), table)
            seq = counters.get(day, 0) + 1
            number = f"GC{day:%Y%m%d}{seq:05d}"
            while number in numbers:
                seq += 1
                number = f"GC{day:%Y%m%d}{seq:05d}"
            counters[day] = seq
            simulated = sim.simulate(i, received, place, cat_code, number, _scenario(i, now - received))
            writer.add(next_id, i, simulated, d.labels)
            next_id += 1
            created += 1
            if len(writer.batch) >= CHUNK:
                writer.flush()
            if out is not None and created >= next_report:
                next_report += report_every
                out.write(
                    _("工单 %(done)s / %(total)s，已用 %(s).0f 秒")
                    % {
                        "done": f"{created:,}",
                        "total": f"{total - existing:,}",
                        "s": time.perf_counter() - started,
                    }
                    + "\n"
                )
    writer.flush()
    _save_counters(counters)
    if created >= ANALYZE_AFTER:
        # Fresh statistics, or the planner may pick the lead-department index (IS NULL: 90% of the rows) over
        # the scope index for the 三率 by-community query (0.56 s instead of 25 ms at 1M cases on SQLite).
        with connection.cursor() as cursor:
            for model in (Case, Step, Clock, Assignment, Request):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [Case]):
                cursor.execute(sql)
    return BuildResult(created, existing, writer.stats, time.perf_counter() - started)


#: Showcase cases: some recent cases are held at each stage, so the demo shows every state (scale 1 too).
SCENARIOS = [
    "registered", "accepted", "dispatched", "contested", "escalated", "extension", "whistle", "reported",
    "verified", "overdue", "reopened", "under_review", "petition_registered", "petition_handling",
    "petition_closed",
]  # fmt: skip
NEEDS_AGE = {"reopened": 20, "under_review": 25, "petition_closed": 25, "overdue": 3}


def _scenario(index: int, age: timedelta) -> str | None:
    if not timedelta(days=2) <= age <= timedelta(days=45) or index % 4:
        return None
    scenario = SCENARIOS[(index // 4) % len(SCENARIOS)]
    if age < timedelta(days=NEEDS_AGE.get(scenario, 2)):
        return None
    return scenario


def _accumulate(values: Iterable[float]) -> Iterable[float]:
    total = 0.0
    for v in values:
        total += v
        yield total


def _pick(cumulative: list[float], x: float, places: list[Place]) -> Place:
    import bisect

    return places[min(bisect.bisect_left(cumulative, x), len(places) - 1)]


def _daytime(rng: random.Random) -> float:
    """A time of day as a share of 24 h, mostly between 07:00 and 21:00."""
    if rng.random() < 0.08:
        return rng.random()
    return (7 + rng.triangular(0, 14, 3)) / 24


def _save_counters(counters: dict[Any, int]) -> None:
    existing = dict(NumberCounter.objects.filter(day__in=list(counters)).values_list("day", "last"))
    new = [NumberCounter(day=day, last=last) for day, last in counters.items() if day not in existing]
    NumberCounter.objects.bulk_create(new, batch_size=1000)
    for day, last in counters.items():
        if day in existing and existing[day] < last:
            NumberCounter.objects.filter(day=day, last__lt=last).update(last=last)
