"""The demo district: 管城回族区 with 陇海马路街道 and 二里岗街道 as the two seed articles describe them.

`load_demo()` builds the org tree (district, sub-districts, communities, a village, grids with synthetic
boundaries), the offices' departments, the leaders and their contact communities, and one login per role,
then runs the demo steps other modules register with `register_demo_step()`. It is idempotent: units are
matched by code, departments by (sub-district, code), users by username, and existing rows are brought back
to the canonical values without duplicating anything.

Sources. 陇海马路街道: 3.4 km², 8 communities and 1 village (陇海村), 55,000 people, 12 leaders
each with a contact community, 12 departments, secretary 马建军, director 陈瑞勇; 陇海东路第一社区
with 7 compounds, 64 buildings, 2,729 households and about 7,000 people on about 0.5 km² (seed 004).
The community names are those published for the sub-district (陇海东路第一/第二/第三社区, 郑新里,
陇新, 紫荆, 新郑路, 紫薇); its code segment 007 is the published one, the community codes below it
are assigned in this order. 二里岗街道: secretary 虎金治, 信息督查室 and 党建办 (seed 000); code
segment 006, 2.6 km², 22,299 people in 8,461 households, 8 communities (凤凰路, 货西, 货东,
铁路新村, 杨庄, 城东路, 东明路, 紫云). Everything else (the other leaders' names, the staff, grid
counts, the split of population among communities, the boundaries) is synthetic.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from io import TextIOBase
from typing import Any

from django.contrib.auth.hashers import check_password, make_password
from django.db import models, transaction
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext as _

from jiedao.core.models import ContactCommunity, Department, Membership, OrgUnit, Role, User

PASSWORD = "jiedao-demo"
MAX_SCALE = 100

DISTRICT_CODE = "410104000000"
LONGHAI_CODE = "410104007000"
ERLIGANG_CODE = "410104006000"
LONGYI_CODE = "410104007001"  # 陇海东路第一社区, the seed's model community
XINZHENGLU_CODE = "410104007007"  # 新郑路社区
LONGHAI_VILLAGE_CODE = "410104007200"  # 陇海村

# Figures the seed gives that the core models cannot hold; the places module's demo step builds them.
COMMUNITY_FACTS: dict[str, dict[str, int]] = {
    LONGYI_CODE: {"compounds": 7, "buildings": 64, "households": 2729, "population": 7000},
}

# The ten fixed demo logins (plus 二里岗's secretary), in the order the login table lists them.
FIXED_LOGINS = [
    "district", "leader", "dept_xinfang", "comm_a", "comm_b", "grid_a", "grid_b",
    "volunteer", "auditor", "admin", "other_leader",
]  # fmt: skip

# ------------------------------------------------------------------------------------------------
# Registry of demo steps
# ------------------------------------------------------------------------------------------------

DemoStep = Callable[[int, TextIOBase], None]
_STEPS: dict[str, DemoStep] = {}


def register_demo_step(name: str, func: DemoStep) -> DemoStep:
    """Add a step that `manage.py demo` runs after the core step, in registration order (INSTALLED_APPS order
    when each app registers from its own `demo` module, which the command imports). `func(scale, stdout)` must
    be idempotent like the core step; it runs inside the demo's transaction. Returns `func`."""
    existing = _STEPS.get(name)
    if existing is not None and existing is not func:
        raise ValueError(f"demo step {name!r} is registered twice")
    _STEPS[name] = func
    return func


def demo_steps() -> list[tuple[str, DemoStep]]:
    return list(_STEPS.items())


def discover_demo_steps() -> None:
    """Import the `demo` module of every installed app, so each can register its steps."""
    autodiscover_modules("demo")


# ------------------------------------------------------------------------------------------------
# Geometry: synthetic but plausible boundaries around Guancheng District, Zhengzhou (WGS84, [lon, lat])
# ------------------------------------------------------------------------------------------------

LonLat = tuple[float, float]
Quad = tuple[
    LonLat, LonLat, LonLat, LonLat
]  # south-west, south-east, north-east, north-west (counter-clockwise)
BBox = tuple[float, float, float, float]  # west, south, east, north

DISTRICT_BBOX: BBox = (113.640, 34.650, 113.760, 34.770)
LONGHAI_BBOX: BBox = (113.666, 34.725, 113.688, 34.7405)  # ≈ 2.0 km × 1.7 km = 3.4 km²
ERLIGANG_BBOX: BBox = (113.690, 34.733, 113.712, 34.7447)  # ≈ 2.0 km × 1.3 km = 2.6 km²
TEST_AREA_BBOX: BBox = (
    113.640,
    34.650,
    113.760,
    34.720,
)  # south of the two real sub-districts: 10 × 10 slots


def _lerp(a: LonLat, b: LonLat, t: float) -> LonLat:
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)


def _bilinear(quad: Quad, u: float, v: float) -> LonLat:
    """The point at (u west→east, v south→north) of a quadrilateral; lines of constant u or v are straight."""
    south = _lerp(quad[0], quad[1], u)
    north = _lerp(quad[3], quad[2], u)
    return _lerp(south, north, v)


def bbox_quad(bbox: BBox) -> Quad:
    west, south, east, north = bbox
    return ((west, south), (east, south), (east, north), (west, north))


def lattice_cells(
    bbox: BBox, col_weights: Sequence[float], row_weights: Sequence[float], seed: str
) -> list[Quad]:
    """Tile a rectangle with quadrilaterals (reading order, north-west first). Inner lattice points are moved
    a little (edge points only along their edge) so the cells do not look like a spreadsheet."""
    west, south, east, north = bbox
    rng = random.Random(seed)
    xs = [west + (east - west) * sum(col_weights[:i]) / sum(col_weights) for i in range(len(col_weights) + 1)]
    ys = [
        north - (north - south) * sum(row_weights[:j]) / sum(row_weights) for j in range(len(row_weights) + 1)
    ]
    ncols, nrows = len(col_weights), len(row_weights)
    points: list[list[LonLat]] = []
    for j, y in enumerate(ys):
        row: list[LonLat] = []
        for i, x in enumerate(xs):
            dx = dy = 0.0
            if 0 < i < ncols:
                dx = rng.uniform(-0.12, 0.12) * min(xs[i] - xs[i - 1], xs[i + 1] - xs[i])
            if 0 < j < nrows:
                dy = rng.uniform(-0.12, 0.12) * min(ys[j - 1] - ys[j], ys[j] - ys[j + 1])
            if i in (0, ncols):
                dx = 0.0
            if j in (0, nrows):
                dy = 0.0
            row.append((x + dx, y + dy))
        points.append(row)
    return [
        (points[j + 1][i], points[j + 1][i + 1], points[j][i + 1], points[j][i])
        for j in range(nrows)
        for i in range(ncols)
    ]


def grid_row_counts(count: int) -> list[int]:
    """Grids per row when a community is cut into `count` grids: 3 → [3], 5 → [3, 2], 10 → [4, 3, 3]."""
    rows = max(1, math.isqrt(count))
    base, extra = divmod(count, rows)
    return [base + 1] * extra + [base] * (rows - extra)


def split_quad(quad: Quad, row_counts: Sequence[int]) -> list[Quad]:
    """Cut a quadrilateral into rows (north first) of equal cells; the pieces tile it exactly."""
    cells: list[Quad] = []
    nrows = len(row_counts)
    for r, count in enumerate(row_counts):
        v_top, v_bottom = 1 - r / nrows, 1 - (r + 1) / nrows
        for c in range(count):
            u0, u1 = c / count, (c + 1) / count
            cells.append(
                (
                    _bilinear(quad, u0, v_bottom),
                    _bilinear(quad, u1, v_bottom),
                    _bilinear(quad, u1, v_top),
                    _bilinear(quad, u0, v_top),
                )
            )
    return cells


def polygon(quad: Quad) -> dict[str, Any]:
    """A GeoJSON Polygon with one closed, counter-clockwise ring of [lon, lat] positions."""
    ring = [[round(lon, 6), round(lat, 6)] for lon, lat in quad]
    return {"type": "Polygon", "coordinates": [[*ring, list(ring[0])]]}


def ring_area_km2(ring: Sequence[Sequence[float]]) -> float:
    """Area of a small lon/lat ring in km² (local equirectangular projection; plenty for a few km²)."""
    lat0 = math.radians(sum(p[1] for p in ring) / len(ring))
    kx, ky = 111.320 * math.cos(lat0), 110.574
    twice = 0.0
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):
        twice += (x1 * kx) * (y2 * ky) - (x2 * kx) * (y1 * ky)
    return abs(twice) / 2


def _km2(boundary: dict[str, Any]) -> Decimal:
    return Decimal(f"{ring_area_km2(boundary['coordinates'][0]):.3f}")


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + 1] * extra + [base] * (parts - extra)


# ------------------------------------------------------------------------------------------------
# The canonical data
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitSpec:
    code: str
    name: str
    short_name: str
    kind: str = OrgUnit.Kind.COMMUNITY
    population: int | None = None
    households: int | None = None
    grids: int = 0
    area_km2: Decimal | None = None  # None: computed from the boundary


# (code, name, short name, population, households, grids); the populations add up to the seed's 55,000.
LONGHAI_COMMUNITIES = [
    UnitSpec(LONGYI_CODE, "陇海东路第一社区", "陇一社区", population=7000, households=2729, grids=6),
    UnitSpec("410104007002", "陇海东路第二社区", "陇二社区", population=6800, households=2610, grids=5),
    UnitSpec("410104007003", "陇海东路第三社区", "陇三社区", population=6500, households=2500, grids=5),
    UnitSpec("410104007004", "郑新里社区", "郑新里社区", population=5600, households=2150, grids=4),
    UnitSpec("410104007005", "陇新社区", "陇新社区", population=6200, households=2380, grids=5),
    UnitSpec("410104007006", "紫荆社区", "紫荆社区", population=6900, households=2650, grids=5),
    UnitSpec(XINZHENGLU_CODE, "新郑路社区", "新郑路社区", population=6300, households=2420, grids=5),
    UnitSpec("410104007008", "紫薇社区", "紫薇社区", population=5800, households=2230, grids=4),
    UnitSpec(
        LONGHAI_VILLAGE_CODE,
        "陇海村",
        "陇海村",
        kind=OrgUnit.Kind.VILLAGE,
        population=3900,
        households=1150,
        grids=3,
    ),
]
# Populations and households add up to the published 22,299 people in 8,461 households.
ERLIGANG_COMMUNITIES = [
    UnitSpec("410104006001", "凤凰路社区", "凤凰路社区", population=2900, households=1100, grids=3),
    UnitSpec("410104006002", "货西社区", "货西社区", population=2700, households=1020, grids=3),
    UnitSpec("410104006003", "货东社区", "货东社区", population=2600, households=990, grids=3),
    UnitSpec("410104006004", "铁路新村社区", "铁路新村社区", population=3100, households=1180, grids=4),
    UnitSpec("410104006005", "杨庄社区", "杨庄社区", population=2800, households=1050, grids=3),
    UnitSpec("410104006006", "城东路社区", "城东路社区", population=2750, households=1040, grids=3),
    UnitSpec("410104006007", "东明路社区", "东明路社区", population=2649, households=1001, grids=3),
    UnitSpec("410104006008", "紫云社区", "紫云社区", population=2800, households=1080, grids=4),
]


@dataclass(frozen=True)
class SubdistrictSpec:
    spec: UnitSpec
    bbox: BBox
    col_weights: tuple[float, ...]
    row_weights: tuple[float, ...]
    communities: list[UnitSpec]
    sort_order: int


SUBDISTRICTS = [
    SubdistrictSpec(
        UnitSpec(
            LONGHAI_CODE,
            "陇海马路街道办事处",
            "陇海马路街道",
            kind=OrgUnit.Kind.SUBDISTRICT,
            population=55000,
            households=sum(c.households or 0 for c in LONGHAI_COMMUNITIES),
            area_km2=Decimal("3.400"),
        ),
        LONGHAI_BBOX,
        (0.36, 0.33, 0.31),
        (0.40, 0.32, 0.28),  # the north-west cell, 陇一, comes to about 0.5 km² as in the seed
        LONGHAI_COMMUNITIES,
        10,
    ),
    SubdistrictSpec(
        UnitSpec(
            ERLIGANG_CODE,
            "二里岗街道办事处",
            "二里岗街道",
            kind=OrgUnit.Kind.SUBDISTRICT,
            population=22299,
            households=8461,
            area_km2=Decimal("2.600"),
        ),
        ERLIGANG_BBOX,
        (0.26, 0.24, 0.25, 0.25),
        (0.5, 0.5),
        ERLIGANG_COMMUNITIES,
        20,
    ),
]


@dataclass(frozen=True)
class DepartmentSpec:
    code: str
    name: str
    short_name: str
    duties: str


LONGHAI_DEPARTMENTS = [
    DepartmentSpec(
        "dangzheng",
        "党政办公室",
        "党政办",
        "文电会务、督查督办、机要保密、政务信息公开、值班值守和后勤保障。",
    ),
    DepartmentSpec(
        "dangjian",
        "党建工作办公室",
        "党建办",
        "基层党组织建设、党员教育管理、组织关系接转、区域大党委、党建目标责任制考核。",
    ),
    DepartmentSpec(
        "xinfang",
        "信访办公室",
        "信访办",
        "来信来访登记受理、交办转办、包案化解、信访积案清零、复查复核材料整理。",
    ),
    DepartmentSpec(
        "zongzhi",
        "综合治理办公室",
        "综治办",
        "平安建设、矛盾纠纷排查调解、网格化服务管理、社会治安综合治理。",
    ),
    DepartmentSpec(
        "chengjian",
        "城市建设办公室",
        "城建办",
        "重点项目服务、老旧小区改造、棚户区改造和征收拆迁、房屋安全。",
    ),
    DepartmentSpec(
        "chengguan",
        "城市管理科",
        "城管科",
        "市容环境卫生、门店外经营和占道经营整治、户外广告牌管理、大气污染防治。",
    ),
    DepartmentSpec(
        "yingji",
        "应急管理办公室",
        "应急办",
        "防汛、安全生产、隐患排查整治、应急预案和应急值守、转移安置群众。",
    ),
    DepartmentSpec(
        "shehui",
        "社会事务办公室",
        "社会事务办",
        "低保和社会救助、养老服务、残疾人和退役军人服务、老年证等便民服务事项。",
    ),
    DepartmentSpec(
        "jingji", "经济发展办公室", "经济发展办", "楼宇经济、招商引资、税源管理、企业服务和经济统计。"
    ),
    DepartmentSpec(
        "caizheng", "财政所", "财政所", "预算编制和执行、资金拨付、国有资产管理、政府购买服务、财务公开。"
    ),
    DepartmentSpec(
        "shequ",
        "社区建设办公室",
        "社区建设办",
        "社区服务场所建设、“一征三议两公开”指导、社区工作者管理、一刻钟便民服务圈。",
    ),
    DepartmentSpec(
        "weijian", "卫生健康办公室", "卫健办", "公共卫生、计划生育服务、爱国卫生运动、医疗义诊和健康教育。"
    ),
]

ERLIGANG_DEPARTMENTS = [
    DepartmentSpec("dangzheng", "党政办公室", "党政办", "文电会务、督查督办、政务信息和后勤保障。"),
    DepartmentSpec(
        "dangjian", "党建工作办公室", "党建办", "基层党组织建设、党建目标责任书和考核、党员教育管理。"
    ),
    DepartmentSpec("xinfang", "信访办公室", "信访办", "信访目标管理责任制、包案化解、信访积案清零。"),
    DepartmentSpec(
        "ducha", "信息督查室", "信息督查室", "重点工作和项目协调服务事项督办、目标考核、信息报送。"
    ),
    DepartmentSpec(
        "chengjian", "城市建设办公室", "城建办", "重点项目服务、城中村改造和征收拆迁、老旧小区改造。"
    ),
]


@dataclass(frozen=True)
class LeaderSpec:
    username: str
    full_name: str
    title: str
    contact_code: str


# 12 班子成员; 马建军 and 陈瑞勇 are named in the seed, the others are invented. Nine contact units for twelve
# leaders: 陇一社区, 新郑路社区 and 陇海村 have two each.
LONGHAI_LEADERS = [
    LeaderSpec("leader", "马建军", "党工委书记", LONGYI_CODE),
    LeaderSpec("leader02", "陈瑞勇", "党工委副书记、办事处主任", LONGHAI_VILLAGE_CODE),
    LeaderSpec("leader03", "王红霞", "党工委副书记", XINZHENGLU_CODE),
    LeaderSpec("leader04", "李国强", "人大工委主任", "410104007002"),
    LeaderSpec("leader05", "张卫东", "党工委委员、纪工委书记", "410104007003"),
    LeaderSpec("leader06", "刘秀琴", "党工委委员、办事处副主任", "410104007004"),
    LeaderSpec("leader07", "赵志刚", "办事处副主任", "410104007005"),
    LeaderSpec("leader08", "孙丽萍", "办事处副主任", "410104007006"),
    LeaderSpec("leader09", "周建华", "党工委委员、武装部长", "410104007008"),
    LeaderSpec("leader10", "郭亚峰", "党工委委员、组织委员", LONGHAI_VILLAGE_CODE),
    LeaderSpec("leader11", "韩雪", "党工委委员、宣传委员", LONGYI_CODE),
    LeaderSpec("leader12", "冯晓东", "党工委委员、政法委员", XINZHENGLU_CODE),
]
ERLIGANG_LEADERS = [
    LeaderSpec("other_leader", "虎金治", "党工委书记", "410104006008"),  # named in the seed; 紫云社区
    LeaderSpec("erligang_leader02", "程宏伟", "党工委副书记、办事处主任", "410104006005"),
    LeaderSpec("erligang_leader03", "何春梅", "党工委委员、办事处副主任", "410104006002"),
]

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙朱胡郭何高林罗郑梁谢宋唐许韩冯"
    "邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟"
)
_GIVEN = [
    "建国", "秀英", "志强", "丽娟", "海燕", "卫国", "红梅", "俊杰", "晓燕", "国庆", "玉兰", "振华", "桂芳",
    "永刚", "淑珍", "文博", "雪梅", "洪涛", "春花", "家豪", "明", "静", "磊", "敏", "勇", "娜", "鹏",
]  # fmt: skip


def person_name(index: int) -> str:
    """A plausible, deterministic personal name for synthetic staff."""
    return (
        _SURNAMES[(index * 7) % len(_SURNAMES)] + _GIVEN[(index * 5 + index // len(_SURNAMES)) % len(_GIVEN)]
    )


# ------------------------------------------------------------------------------------------------
# Loading
# ------------------------------------------------------------------------------------------------


@dataclass
class DemoResult:
    scale: int
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    steps: list[str] = field(default_factory=list)

    def totals(self) -> dict[str, Any]:
        units = Counter(OrgUnit.objects.values_list("kind", flat=True))
        return {
            "units": dict(sorted(units.items())),
            "departments": Department.objects.count(),
            "users": User.objects.count(),
            "memberships": Membership.objects.count(),
            "contact_communities": ContactCommunity.objects.count(),
        }


def _sync(obj: models.Model, values: dict[str, Any]) -> bool:
    """Set `values` on `obj` and save only the fields that differ; True if anything changed."""
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    for name in changed:
        setattr(obj, name, values[name])
    if changed:
        obj.save(update_fields=changed)
    return bool(changed)


class _Loader:
    def __init__(self, scale: int) -> None:
        self.result = DemoResult(scale=scale)
        self._hash: str | None = None
        self.units: dict[str, OrgUnit] = {}
        self._existing: dict[str, OrgUnit] = {}
        self._codes: list[str] = []
        self._users: dict[str, User] = {}
        self._memberships: dict[tuple[int, int, str, int | None], Membership] = {}
        self._contacts: set[tuple[int, int]] = set()
        self._checked: dict[str, bool] = {}

    @property
    def password_hash(self) -> str:
        # Hash once (argon2 takes ~50–100 ms) and give every new demo user the same hash string.
        if self._hash is None:
            self._hash = make_password(PASSWORD)
        return self._hash

    def _password_works(self, encoded: str) -> bool:
        # Demo users share one hash string, so one slow check usually covers them all.
        if encoded not in self._checked:
            self._checked[encoded] = check_password(PASSWORD, encoded)
        return self._checked[encoded]

    # Units ----------------------------------------

    def unit(
        self, parent: OrgUnit | None, spec: UnitSpec, boundary: dict[str, Any], sort_order: int
    ) -> OrgUnit:
        values: dict[str, Any] = {
            "kind": str(spec.kind),
            "name": spec.name,
            "short_name": spec.short_name,
            "boundary": boundary,
            "population": spec.population,
            "households": spec.households,
            "area_km2": spec.area_km2 if spec.area_km2 is not None else _km2(boundary),
            "sort_order": sort_order,
            "is_active": True,
        }
        node = self._existing.get(spec.code)
        if node is None:
            create = {"code": spec.code, **values}
            node = (
                OrgUnit.objects.add_root(create)
                if parent is None
                else OrgUnit.objects.add_child(parent, create)
            )
            self.result.created[f"unit.{spec.kind}"] += 1
        else:
            expected_parent = parent.path if parent is not None else ""
            if node.path[: -OrgUnit.steplen] != expected_parent:
                raise ValueError(f"org unit {spec.code} ({node.name}) already exists elsewhere in the tree")
            if _sync(node, values):
                self.result.updated[f"unit.{spec.kind}"] += 1
        self.units[spec.code] = node
        return node

    def fresh(self, code: str) -> OrgUnit:
        """The unit as stored now (adding siblings may have moved paths under sorted insertion)."""
        node = OrgUnit.objects.get(code=code)
        self.units[code] = node
        return node

    def reload(self) -> None:
        """Re-read every demo unit in one query (between tree levels: sorted insertion may move siblings)."""
        self._existing = {u.code: u for u in OrgUnit.objects.filter(code__in=self._codes)}
        self.units = dict(self._existing)

    def build_tree(self) -> None:
        district_spec = UnitSpec(DISTRICT_CODE, "管城回族区", "管城区", kind=OrgUnit.Kind.DISTRICT)
        # Levels of (parent code, spec, boundary, sort order); parents exist before their children.
        levels: list[list[tuple[str | None, UnitSpec, dict[str, Any], int]]] = [
            [(None, district_spec, polygon(bbox_quad(DISTRICT_BBOX)), 0)],
            [(DISTRICT_CODE, sub.spec, polygon(bbox_quad(sub.bbox)), sub.sort_order) for sub in SUBDISTRICTS],
            [],
            [],
        ]
        for sub in SUBDISTRICTS:
            cells = lattice_cells(sub.bbox, sub.col_weights, sub.row_weights, seed=sub.spec.code)
            for index, (spec, cell) in enumerate(zip(sub.communities, cells, strict=True)):
                levels[2].append((sub.spec.code, spec, polygon(cell), (index + 1) * 10))
                pieces = zip(
                    split_quad(cell, grid_row_counts(spec.grids)),
                    _split(spec.population or 0, spec.grids),
                    _split(spec.households or 0, spec.grids),
                    strict=True,
                )
                for number, (grid_cell, population, households) in enumerate(pieces, start=1):
                    grid = UnitSpec(
                        f"{spec.code}{number:03d}",
                        f"{spec.short_name}第{number}网格",
                        f"第{number}网格",
                        kind=OrgUnit.Kind.GRID,
                        population=population,
                        households=households,
                    )
                    levels[3].append((spec.code, grid, polygon(grid_cell), number))
        self._codes = [spec.code for level in levels for _parent, spec, _b, _o in level]
        self.reload()
        for level in levels:
            for parent_code, spec, boundary, sort_order in level:
                parent = self.units[parent_code] if parent_code is not None else None
                self.unit(parent, spec, boundary, sort_order)
            self.reload()

    # Departments, users, memberships --------------------

    def department(self, unit: OrgUnit, spec: DepartmentSpec, sort_order: int) -> Department:
        values = {
            "name": spec.name,
            "short_name": spec.short_name,
            "duties": spec.duties,
            "sort_order": sort_order,
            "is_active": True,
        }
        dept = Department.objects.filter(org_unit=unit, code=spec.code).first()
        if dept is None:
            self.result.created["department"] += 1
            return Department.objects.create(org_unit=unit, code=spec.code, **values)
        if dept.org_path != unit.path:
            values["org_unit"] = unit  # ScopedModel.save re-copies the path
        if _sync(dept, values):
            self.result.updated["department"] += 1
        return dept

    def user(self, username: str, full_name: str, title: str, *, superuser: bool = False) -> User:
        values = {
            "full_name": full_name,
            "title": title,
            "email": f"{username}@example.org",
            "is_active": True,
            "is_staff": superuser,
            "is_superuser": superuser,
        }
        user = self._users.get(username)
        if user is None:
            self.result.created["user"] += 1
            user = User(username=username, **values)
            user.password = self.password_hash
            user.save()
            self._users[username] = user
            return user
        if _sync(user, values):
            self.result.updated["user"] += 1
        if username in FIXED_LOGINS and not self._password_works(user.password):
            user.password = self.password_hash
            user.save(update_fields=["password"])
            self.result.updated["user.password"] += 1
        return user

    def membership(self, user: User, unit: OrgUnit, role: Role, department: Department | None = None) -> None:
        key = (user.pk, unit.pk, str(role), department.pk if department is not None else None)
        member = self._memberships.get(key)
        if member is None:
            member = Membership.objects.create(user=user, org_unit=unit, role=role, department=department)
            self._memberships[key] = member
            self.result.created["membership"] += 1
        elif not member.is_active or member.org_path != unit.path:
            member.is_active = True
            member.save()
            self.result.updated["membership"] += 1

    def contact(self, leader: User, unit: OrgUnit) -> None:
        if (leader.pk, unit.pk) not in self._contacts:
            ContactCommunity.objects.create(leader=leader, org_unit=unit)
            self._contacts.add((leader.pk, unit.pk))
            self.result.created["contact_community"] += 1

    def build_people(self) -> None:
        self.reload()
        units = self.units
        self._users = {u.username: u for u in User.objects.all()}
        self._memberships = {
            (m.user_id, m.org_unit_id, m.role, m.department_id): m for m in Membership.objects.all()
        }
        self._contacts = set(ContactCommunity.objects.values_list("leader_id", "org_unit_id"))
        district, longhai = units[DISTRICT_CODE], units[LONGHAI_CODE]
        longyi, xinzhenglu = units[LONGYI_CODE], units[XINZHENGLU_CODE]

        departments: dict[tuple[str, str], Department] = {}
        for sub_code, specs in ((LONGHAI_CODE, LONGHAI_DEPARTMENTS), (ERLIGANG_CODE, ERLIGANG_DEPARTMENTS)):
            for index, dept_spec in enumerate(specs, start=1):
                departments[sub_code, dept_spec.code] = self.department(
                    units[sub_code], dept_spec, index * 10
                )

        for sub_code, leaders in ((LONGHAI_CODE, LONGHAI_LEADERS), (ERLIGANG_CODE, ERLIGANG_LEADERS)):
            for leader_spec in leaders:
                leader = self.user(leader_spec.username, leader_spec.full_name, leader_spec.title)
                self.membership(leader, units[sub_code], Role.LEADER)
                self.contact(leader, units[leader_spec.contact_code])

        xinfang = departments[LONGHAI_CODE, "xinfang"]
        fixed: list[tuple[str, str, str, OrgUnit, Role, Department | None]] = [
            ("district", "王志强", "区信访局科长", district, Role.DISTRICT_STAFF, None),
            ("dept_xinfang", "李娜", "信访办干事", longhai, Role.DEPARTMENT_STAFF, xinfang),
            ("comm_a", "张秀英", "陇一社区党委书记", longyi, Role.COMMUNITY_STAFF, None),
            ("comm_b", "刘伟", "新郑路社区居委会主任", xinzhenglu, Role.COMMUNITY_STAFF, None),
            ("grid_a", "赵强", "网格员", units[f"{LONGYI_CODE}001"], Role.GRID_WORKER, None),
            ("grid_b", "孙丽", "网格员", units[f"{XINZHENGLU_CODE}001"], Role.GRID_WORKER, None),
            ("volunteer", "周敏", "党员志愿者", longyi, Role.VOLUNTEER, None),
            ("auditor", "吴静", "审计员", longhai, Role.AUDITOR, None),
            ("admin", "系统管理员", "系统管理员", district, Role.ADMINISTRATOR, None),
        ]  # fmt: skip
        staffed: set[str] = set()
        for username, full_name, title, unit, role, dept in fixed:
            user = self.user(username, full_name, title, superuser=username == "admin")
            self.membership(user, unit, role, dept)
            staffed.add(f"{role}:{unit.code}:{dept.code if dept else ''}")

        # Further staff so every department, community and grid has somebody: dept_<code>, comm_<unit code>,
        # grid_<grid code> (二里岗's departments: erligang_dept_<code>).
        counter = 0
        for (sub_code, code), dept in departments.items():
            if f"{Role.DEPARTMENT_STAFF}:{sub_code}:{code}" in staffed:
                continue
            counter += 1
            prefix = "dept" if sub_code == LONGHAI_CODE else "erligang_dept"
            user = self.user(f"{prefix}_{code}", person_name(counter), f"{dept.short_name}工作人员")
            self.membership(user, units[sub_code], Role.DEPARTMENT_STAFF, dept)
        for sub in SUBDISTRICTS:
            for spec in sub.communities:
                if f"{Role.COMMUNITY_STAFF}:{spec.code}:" not in staffed:
                    counter += 1
                    title = "村委会工作人员" if spec.kind == OrgUnit.Kind.VILLAGE else "社区工作者"
                    user = self.user(f"comm_{spec.code}", person_name(counter), title)
                    self.membership(user, units[spec.code], Role.COMMUNITY_STAFF)
                for number in range(1, spec.grids + 1):
                    code = f"{spec.code}{number:03d}"
                    if f"{Role.GRID_WORKER}:{code}:" in staffed:
                        continue
                    counter += 1
                    user = self.user(f"grid_{code}", person_name(counter), "网格员")
                    self.membership(user, units[code], Role.GRID_WORKER)

    # Synthetic volume ------------------------------

    def build_scale(self, scale: int) -> None:
        """(scale − 1) synthetic sub-districts 测试街道N, each with 9 communities of 10 grids and a grid
        worker per grid: about 100 more units per step of scale. Created in bulk (no history rows)."""
        district = self.fresh(DISTRICT_CODE)
        for n in range(1, scale):
            code = f"410104{899 + n:03d}000"
            if OrgUnit.objects.filter(code=code).exists():
                continue
            west, south, east, north = TEST_AREA_BBOX
            col, row = (n - 1) % 10, (n - 1) // 10
            width, height = (east - west) / 10, (north - south) / 10
            bbox = (
                west + col * width,
                north - (row + 1) * height,
                west + (col + 1) * width,
                north - row * height,
            )
            sub_boundary = polygon(bbox_quad(bbox))
            communities = []
            for c, cell in enumerate(lattice_cells(bbox, (1, 1, 1), (1, 1, 1), seed=code), start=1):
                community_code = f"{code[:9]}{c:03d}"
                grids = [
                    {
                        "data": {
                            "kind": OrgUnit.Kind.GRID.value,
                            "code": f"{community_code}{g:03d}",
                            "name": f"测试{n}-{c}社区第{g}网格",
                            "short_name": f"第{g}网格",
                            "boundary": polygon(grid_cell),
                            "population": 600,
                            "households": 230,
                            "area_km2": _km2(polygon(grid_cell)),
                            "sort_order": g,
                        }
                    }
                    for g, grid_cell in enumerate(split_quad(cell, grid_row_counts(10)), start=1)
                ]
                communities.append(
                    {
                        "data": {
                            "kind": OrgUnit.Kind.COMMUNITY.value,
                            "code": community_code,
                            "name": f"测试{n}-{c}社区",
                            "short_name": f"测试{n}-{c}社区",
                            "boundary": polygon(cell),
                            "population": 6000,
                            "households": 2300,
                            "area_km2": _km2(polygon(cell)),
                            "sort_order": c * 10,
                        },
                        "children": grids,
                    }
                )
            tree = {
                "data": {
                    "kind": OrgUnit.Kind.SUBDISTRICT.value,
                    "code": code,
                    "name": f"测试街道{n}",
                    "short_name": f"测试街道{n}",
                    "boundary": sub_boundary,
                    "population": 54000,
                    "households": 20700,
                    "area_km2": _km2(sub_boundary),
                    "sort_order": 100 + n,
                },
                "children": communities,
            }
            OrgUnit.objects.load_bulk([tree], parent=district, bulk_create=True)
            district = self.fresh(DISTRICT_CODE)
            self.result.created["unit.subdistrict"] += 1
            self.result.created["unit.community"] += len(communities)
            self.result.created["unit.grid"] += sum(len(c["children"]) for c in communities)

            grids_created = list(OrgUnit.objects.filter(code__startswith=code[:9], kind=OrgUnit.Kind.GRID))
            existing = set(
                User.objects.filter(username__in=[f"grid_{g.code}" for g in grids_created]).values_list(
                    "username", flat=True
                )
            )
            new_users = [
                User(
                    username=f"grid_{g.code}",
                    full_name=person_name(n * 1000 + i),
                    title="网格员",
                    email=f"grid_{g.code}@example.org",
                    password=self.password_hash,
                )
                for i, g in enumerate(grids_created)
                if f"grid_{g.code}" not in existing
            ]
            User.objects.bulk_create(new_users, batch_size=500)
            self.result.created["user"] += len(new_users)
            users = {
                u.username: u
                for u in User.objects.filter(username__in=[f"grid_{g.code}" for g in grids_created])
            }
            members = [
                Membership(user=users[f"grid_{g.code}"], org_unit=g, org_path=g.path, role=Role.GRID_WORKER)
                for g in grids_created
            ]
            Membership.objects.bulk_create(members, batch_size=500, ignore_conflicts=True)
            self.result.created["membership"] += len(members)


def load_demo(scale: int = 1, stdout: TextIOBase | None = None) -> DemoResult:
    """Build (or bring back to canonical values) the demo district, then run every registered demo step;
    all in one transaction, closed by one "demo.load" audit event."""
    from jiedao.audit.services import record_event

    if not 1 <= scale <= MAX_SCALE:
        raise ValueError(f"scale must be between 1 and {MAX_SCALE}")
    discover_demo_steps()
    with transaction.atomic():
        loader = _Loader(scale)
        loader.build_tree()
        loader.build_people()
        loader.build_scale(scale)
        result = loader.result
        out = stdout if stdout is not None else _NullWriter()
        for name, step in demo_steps():
            step(scale, out)
            result.steps.append(name)
        record_event(
            "demo.load",
            org_path=OrgUnit.objects.get(code=DISTRICT_CODE).path,
            object_repr=_("演示数据"),
            data={
                "scale": scale,
                "steps": result.steps,
                "created": dict(sorted(result.created.items())),
                "updated": dict(sorted(result.updated.items())),
                "totals": result.totals(),
            },
        )
    return result


class _NullWriter(TextIOBase):
    def write(self, s: str) -> int:
        return len(s)


# ------------------------------------------------------------------------------------------------
# The login table
# ------------------------------------------------------------------------------------------------


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def login_rows() -> list[tuple[str, str, str, str, str]]:
    """(username, password, role, scope, name) of each fixed demo login present in the database."""
    users = {u.username: u for u in User.objects.filter(username__in=FIXED_LOGINS)}
    memberships: dict[int, Membership] = {}
    for member in (
        Membership.objects.filter(user__in=users.values(), is_active=True)
        .select_related("org_unit", "department")
        .order_by("org_path", "id")
    ):
        memberships.setdefault(member.user_id, member)
    rows = []
    for username in FIXED_LOGINS:
        user = users.get(username)
        if user is None:
            continue
        found = memberships.get(user.pk)
        if found is None:
            role, scope = "", ""
        else:
            role = str(Role(found.role).label)
            scope = found.org_unit.name
            if found.department is not None:
                scope = f"{scope} · {found.department.short_name or found.department.name}"
        rows.append((username, PASSWORD, role, scope, str(user)))
    return rows


def format_logins() -> str:
    rows = login_rows()
    if not rows:
        return _("尚未载入演示数据。") + "\n"
    header = (_("用户名"), _("密码"), _("角色"), _("范围"), _("姓名"))
    table = [header, *rows]
    widths = [max(_width(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip() for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append(_("其他演示账号（leader02…leader12、dept_*、comm_*、grid_* 等）使用同一密码。"))
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------
# Work items for the fixed logins, so that 我的待办 and the inbox show what they look like
# ------------------------------------------------------------------------------------------------

# (username, days from now, hour, title, body)
DEMO_REMINDERS: list[tuple[str, int, int, str, str]] = [
    ("leader", 1, 9, "陇海村回迁户走访", "与回迁户代表面谈，带上安置协议草案和上次走访记录。"),
    (
        "leader",
        3,
        15,
        "联系点例会：陇海东路第一社区",
        "听取老澡堂改建老年日间照料中心（1200 平方米）的进度。",
    ),
    ("comm_a", 2, 10, "老年日间照料中心方案征求意见截止", "汇总居民意见，准备提交两委会商议。"),
    ("grid_a", 0, 18, "雨后复查积水点", "复查网格内的涵洞和积水点，拍照上报。"),
    ("dept_xinfang", 5, 9, "信访积案周报", "整理本周信访积案化解进度，报党工委。"),
]
DEMO_KIND = "demo"


def demo_work_items(scale: int, stdout: TextIOBase) -> None:
    """Pending reminders (fired ones are set pending again, in the future) and one welcome notification."""
    from datetime import timedelta

    from django.utils import timezone

    from jiedao.core.models import DueState, Reminder
    from jiedao.notifications.models import Notification

    today = timezone.localtime().replace(minute=0, second=0, microsecond=0)
    for username, days, hour, title, body in DEMO_REMINDERS:
        user = User.objects.filter(username=username).first()
        membership = Membership.objects.filter(user__username=username, is_active=True).select_related(
            "org_unit"
        )
        first = membership.order_by("org_path").first()
        if user is None or first is None:
            continue
        due_at = (today + timedelta(days=days)).replace(hour=hour)
        if due_at <= timezone.now():
            due_at += timedelta(days=1)
        reminder, created = Reminder.objects.get_or_create(
            recipient=user,
            kind=DEMO_KIND,
            title=title,
            defaults={
                "body": body,
                "due_at": due_at,
                "org_unit": first.org_unit,
                "url": f"/org/{first.org_unit.code}/",
            },
        )
        if not created and (reminder.due_state != DueState.PENDING or reminder.due_at <= timezone.now()):
            reminder.due_at = due_at
            reminder.due_state = DueState.PENDING
            reminder.claim_token = None
            reminder.done_at = None
            reminder.save()
    for username in FIXED_LOGINS:
        user = User.objects.filter(username=username).first()
        if user is not None:
            Notification.objects.get_or_create(
                recipient=user,
                kind=DEMO_KIND,
                title="欢迎使用街道工作平台",  # stored data, in the demo district's language
                defaults={
                    "body": "这是演示数据。“我的待办”列出交办给您的事项，铃铛里是发给您的通知。",
                    "url": "/",
                },
            )


register_demo_step("core.work_items", demo_work_items)
