"""Fast bulk generator of the demo's people and places: compounds, buildings, entrances and dwellings with
their standard addresses; households with their members (户主, 配偶, 子女 …); residents with valid identity
numbers and phones (encrypted, blind-indexed and masked through `jiedao.people.personal`, as every other way
in does); tags; care subjects with the grid workers' visits; organisations with valid credit codes.

How many (`plan_communities(scale)`):

- 陇海东路第一社区 as seed 004 describes it: 7 楼院, 64 buildings, 2,729 households, about 7,000 residents, of
  whom about 40 % are 65 or older (the old workers of 郑州日产 and 郑州轻型汽车制造厂);
- every other community and the village of the two real sub-districts: `OTHER_HOUSEHOLDS` households
  (about 300 residents, an ordinary age mix);
- every community of the synthetic sub-districts (`--scale N` adds N − 1 of them, 9 communities each):
  `SYNTHETIC_HOUSEHOLDS` households, so each step of scale adds about 10,000 residents and `--scale 100`
  makes about 1,000,000.

Each community is generated from its own seeded random stream (the same data on every run), with ids counted
from 1; the writer renumbers them after the rows already stored and writes them with `cursor.executemany`
(SQLite) or COPY (PostgreSQL) in chunks of about `CHUNK` residents, with explicit primary keys (the sequences
are reset afterwards on PostgreSQL), inside the caller's transaction. From `PARALLEL_AFTER` residents on
(and with more than one core) the communities are generated in forked worker processes a few communities
ahead of the writer: encrypting and composing take about 200 µs per resident, which then overlaps the
writing. A community that already holds compounds or
residents is left as it is, so running the demo again adds nothing and a larger scale adds only the new
communities. No history rows and no audit events are written per row (the demo's own audit event records the
run); the search index is told about every new resident, compound, building, dwelling and organisation through
`jiedao.search.index.refresh_ids`.

Identity numbers are unique by construction: a resident of community number `c` (`community_ordinal`) aged
`a` with region `r` and sex `s` takes the next free slot `j` of the 182 that community owns for (r, s, a); the
slot gives the birth date (`a` years before today, less `j·149 mod 365` days) and the sequence code
(`j div 365`, odd for men), so no two slots give the same number. Numbers already in the database (an earlier
run on another day, residents entered by hand) are looked up by their blind index and skipped.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import os
import random
import time
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import TextIOBase
from typing import Any

from django.core.management.color import no_style
from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum.cn import ric, uscc

from jiedao.core.demo import COMMUNITY_FACTS, LONGYI_CODE
from jiedao.core.models import Membership, OrgUnit, Role
from jiedao.people import personal
from jiedao.people.care import next_due
from jiedao.people.models import (
    Building,
    CareSubject,
    Compound,
    CompoundKind,
    Dwelling,
    DwellingUse,
    Entrance,
    Household,
    HouseholdKind,
    Organisation,
    OrganisationKind,
    Relation,
    ResidenceType,
    Resident,
    ResidentTag,
    Sex,
    Structure,
    Tag,
    Visit,
    standard_address,
    years_before,
)
from jiedao.search import index as search_index

LONGYI_HOUSEHOLDS = COMMUNITY_FACTS[LONGYI_CODE]["households"]  # 2,729 (seed 004)
#: Households in each other community and the village of the two real sub-districts.
OTHER_HOUSEHOLDS = 120
#: Households in each community of a synthetic sub-district (9 per step of scale: ≈ 10,000 residents).
SYNTHETIC_HOUSEHOLDS = 430
#: Residents written per chunk (one executemany / COPY per table).
CHUNK = 20_000
#: After loading this many residents, refresh the planner's statistics (ANALYZE).
ANALYZE_AFTER = 10_000
#: Identity-number slots a community owns per (region, sex, age); see the module's docstring.
SLOTS = 182


def residents_for_scale(scale: int) -> int:
    """About how many residents the demo makes at `scale` (≈ 12,000 at 1, ≈ 1,000,000 at 100)."""
    return round(7000 + 17 * OTHER_HOUSEHOLDS * 2.6 + (max(scale, 1) - 1) * 9 * SYNTHETIC_HOUSEHOLDS * 2.6)


# ---------------------------------------------------------------------------------------------------------
# Stored texts (data in the district's language, not interface strings)

# Surnames with their weight (per mille, roughly the national frequencies; 王, 李, 张 lead in Henan too).
SURNAMES: list[tuple[str, float]] = [
    ("王", 74), ("李", 72), ("张", 70), ("刘", 54), ("陈", 45), ("杨", 31), ("赵", 24), ("黄", 20),
    ("周", 21), ("吴", 20), ("徐", 17), ("孙", 16), ("胡", 13), ("朱", 13), ("高", 13), ("林", 10),
    ("何", 11), ("郭", 14), ("马", 13), ("罗", 8), ("梁", 8), ("宋", 10), ("郑", 9), ("谢", 7),
    ("韩", 9), ("唐", 7), ("冯", 9), ("于", 7), ("董", 8), ("肖", 6), ("程", 7), ("曹", 7), ("袁", 6),
    ("邓", 5), ("许", 7), ("傅", 4), ("沈", 4), ("曾", 4), ("彭", 5), ("吕", 6), ("苏", 5), ("卢", 5),
    ("蒋", 4), ("蔡", 5), ("贾", 6), ("丁", 5), ("魏", 6), ("薛", 5), ("叶", 3), ("阎", 4), ("余", 3),
    ("潘", 3), ("杜", 5), ("戴", 3), ("夏", 3), ("钟", 2), ("汪", 3), ("田", 5), ("任", 5), ("姜", 3),
    ("范", 4), ("方", 3), ("石", 4), ("姚", 3), ("谭", 2), ("廖", 2), ("邹", 2), ("熊", 2), ("金", 3),
    ("陆", 2), ("郝", 4), ("孔", 3), ("白", 4), ("崔", 4), ("康", 3), ("毛", 3), ("邱", 2), ("秦", 3),
    ("江", 2), ("史", 4), ("顾", 2), ("侯", 4), ("邵", 2), ("孟", 4), ("龙", 1), ("万", 2), ("段", 3),
    ("雷", 2), ("钱", 2), ("汤", 2), ("尹", 2), ("常", 4), ("武", 4), ("乔", 3), ("贺", 2), ("牛", 4),
    ("申", 2), ("司", 2), ("楚", 1), ("岳", 2), ("闫", 3), ("耿", 2), ("靳", 2), ("翟", 2),
]  # fmt: skip
# 管城回族区: Hui families are common; their surnames.
HUI_SURNAMES: list[tuple[str, float]] = [
    ("马", 40), ("白", 10), ("海", 6), ("沙", 5), ("穆", 5), ("哈", 3), ("米", 4), ("丁", 7), ("金", 6),
    ("杨", 7), ("刘", 7),
]  # fmt: skip

# Given names by generation (born up to 1960, 1961–1985, 1986–2005, from 2006) and sex.
GIVEN: dict[tuple[int, str], list[str]] = {
    (0, Sex.MALE): [
        "建国", "建军", "国庆", "国强", "卫东", "卫国", "志刚", "德明", "德胜", "振华", "长江", "永福",
        "宝山", "金生", "文华", "学军", "保国", "树林", "春生", "福田", "广义", "新民", "光明", "跃进",
        "忠", "明", "军", "林", "玉明", "发展",
    ],
    (0, Sex.FEMALE): [
        "秀英", "桂兰", "淑珍", "玉兰", "凤英", "秀兰", "桂英", "玉珍", "淑英", "翠花", "素芳", "秀珍",
        "桂芳", "凤兰", "玉梅", "兰英", "淑兰", "美华", "春兰", "爱华", "丽华", "金凤", "月英", "素梅",
        "红", "华", "英", "兰", "秀云", "玉凤",
    ],
    (1, Sex.MALE): [
        "志强", "建华", "伟", "勇", "军", "磊", "涛", "斌", "强", "刚", "海涛", "建伟", "红军", "晓东",
        "海军", "卫华", "小龙", "永强", "国伟", "朝阳", "新华", "利民", "俊峰", "向东", "立新", "春雷",
        "少华", "宏伟", "建新", "亚军",
    ],
    (1, Sex.FEMALE): [
        "丽娟", "海燕", "红梅", "静", "敏", "艳", "丽", "娟", "霞", "燕", "玲", "丽萍", "红霞", "晓燕",
        "春梅", "秀梅", "艳红", "雪梅", "丽丽", "晓红", "彩霞", "桂香", "慧", "洁", "颖", "红艳", "俊霞",
        "文静", "利娟", "亚楠",
    ],
    (2, Sex.MALE): [
        "浩", "鹏", "超", "杰", "帅", "鑫", "宇", "阳", "博", "俊杰", "鹏飞", "晓峰", "志远", "家豪",
        "文博", "明轩", "天宇", "子豪", "浩然", "一鸣", "凯", "航", "旭", "晨", "亚洲", "伟豪", "嘉俊",
        "振宇", "梦龙", "世杰",
    ],
    (2, Sex.FEMALE): [
        "婷婷", "佳琪", "雪", "倩", "晶晶", "梦瑶", "欣", "璐", "丹丹", "佳慧", "雨婷", "思琪", "晓雪",
        "梦琪", "佳怡", "萌萌", "静怡", "可欣", "文婷", "慧敏", "欢欢", "瑶", "蕾", "楠", "悦", "月",
        "冰冰", "珂", "梦洁", "一帆",
    ],
    (3, Sex.MALE): [
        "子轩", "浩宇", "宇轩", "梓睿", "沐宸", "俊熙", "一诺", "宇航", "子墨", "奕辰", "皓轩", "梓豪",
        "明哲", "铭泽", "锦程", "天佑", "嘉懿", "思远", "承泽", "睿", "泽", "辰", "宸", "煜", "博文",
        "雨泽", "景行", "安然", "沐阳", "书豪",
    ],
    (3, Sex.FEMALE): [
        "梓涵", "欣怡", "诗涵", "梓萱", "雨桐", "可馨", "紫涵", "语桐", "若汐", "子涵", "思彤", "依诺",
        "语嫣", "沐瑶", "欣妍", "雨萱", "芷若", "梓琪", "诗琪", "艺涵", "安琪", "心怡", "彤", "萱", "佳琪",
        "一诺", "梦溪", "清妍", "知夏", "若曦",
    ],
}  # fmt: skip

# Identity-number regions (the first six digits), weighted, by residence type. People registered here were
# mostly issued their numbers in 管城 (410104) or elsewhere in 郑州; those living here with a registration
# elsewhere come from the rest of Henan; the floating population also from neighbouring provinces.
REGISTERED_REGIONS: list[tuple[str, float]] = [
    ("410104", 74), ("410102", 6), ("410103", 6), ("410105", 5), ("410108", 2), ("410122", 3),
    ("410181", 2), ("410183", 2),
]  # fmt: skip
HABITUAL_REGIONS: list[tuple[str, float]] = [
    ("410104", 10), ("410182", 8), ("410184", 8), ("410185", 5), ("410221", 6), ("410223", 5),
    ("410302", 4), ("410402", 4), ("410702", 5), ("411002", 4), ("411102", 3), ("411302", 6),
    ("411402", 6), ("411502", 4), ("411602", 6), ("411702", 5), ("412702", 5), ("412722", 4),
]  # fmt: skip
FLOATING_REGIONS: list[tuple[str, float]] = [
    ("411321", 8), ("411381", 6), ("411421", 7), ("411424", 6), ("411521", 5), ("411621", 7),
    ("411721", 6), ("412724", 6), ("412726", 5), ("412728", 5), ("410522", 4), ("410721", 4),
    ("342101", 4), ("342122", 3), ("340321", 3), ("320322", 2), ("370828", 2),
    ("130602", 2), ("610302", 2), ("420103", 2), ("430102", 1), ("362202", 1), ("140103", 2),
]  # fmt: skip

STREETS = [
    "陇海东路", "陇海路", "新郑路", "南仓街", "货站街", "新郑里", "二里岗南街", "城东南路", "紫荆山南路",
    "东明路", "航海东路", "凤凰路", "郑新里路", "亚星路", "城东路", "紫薇路", "南关街", "东三马路",
]  # fmt: skip
PLACE_WORDS = [
    "金水", "锦华", "馨园", "翠竹", "祥和", "康宁", "和平", "幸福", "润泽", "盛世", "华庭", "东风",
    "红旗", "光明", "向阳", "友谊", "建设", "丰收", "长青", "东方", "瑞丰", "嘉园", "汇丰", "福安",
    "安居", "怡景", "秀水", "春晖", "紫金", "银杏", "绿洲", "顺城", "宏达", "新华", "永安", "兴隆",
]  # fmt: skip
WORK_UNITS = [
    "铁路局", "电业局", "粮食局", "邮电局", "交通局", "建材厂", "机械厂", "纺织器材厂", "印刷厂", "制药厂",
    "自来水公司", "煤机厂", "烟草公司", "面粉厂", "搪瓷厂", "电缆厂", "工程机械厂", "市一建", "市二建",
    "供销社", "肉联厂", "化工厂",
]  # fmt: skip
PROPERTY_COMPANIES = [
    "郑州陇海物业服务有限公司", "郑州安居物业管理有限公司", "河南嘉诚物业服务有限公司",
    "郑州永安物业服务有限公司", "郑州瑞丰物业管理有限公司",
]  # fmt: skip

VISIT_SUMMARIES = [
    "上门看望，老人身体状况良好，家中水、电、燃气使用正常。",
    "电话回访，老人自述血压平稳，提醒按时服药、注意保暖。",
    "上门走访，帮助老人预约社区卫生服务站上门体检。",
    "老人反映楼道灯不亮，已报物业维修，次日复查已修好。",
    "协助老人办理高龄津贴资格认证。",
    "送去老年日间照料中心的助餐卡，讲解助餐、助浴服务的使用方法。",
    "检查家中燃气管道和电动车充电情况，讲解防火安全常识。",
    "老人腿脚不便，代办药品购买并送药上门。",
    "与老人子女电话沟通近况，子女表示每周回来看望一次。",
    "雨后上门查看房屋漏水情况，已联系维修。",
    "陪同老人到社区参加义诊活动，测量血压、血糖。",
    "帮助老人清理阳台杂物，消除火灾隐患。",
]  # fmt: skip
DISABILITIES = [
    "肢体残疾三级", "肢体残疾四级", "视力残疾二级", "视力残疾四级", "听力残疾三级", "言语残疾四级",
    "智力残疾三级", "精神残疾三级", "肢体残疾二级", "听力残疾四级",
]  # fmt: skip


@dataclass(frozen=True)
class CompoundSpec:
    """A compound to build: its buildings' count (None: as many as the households need) and shapes."""

    name: str
    kind: str
    grid: int  # 1-based grid number within the community
    address: str
    built: tuple[int, int]
    floors: tuple[int, ...]
    entrances: tuple[int, ...]
    buildings: int | None = None
    per_floor: int = 2
    property_company: str = ""
    aliases: str = ""
    note: str = ""


# Seed 004: 陇海东路第一社区, 7 楼院 and 64 buildings; its residents are mostly the old workers of
# 郑州日产 and 郑州轻型汽车制造厂 (and their nine branch factories). The compounds' names are invented but
# plausible: 陇海花园 and 新郑里小区 are where the cases demo puts grid_a's reports.
C = CompoundKind
LONGYI_COMPOUNDS = [
    CompoundSpec("陇海花园", C.COMMERCIAL, 1, "陇海东路86号", (2003, 2006), (18, 11), (2,), 8,
                 property_company="郑州陇海物业服务有限公司"),
    CompoundSpec("新郑里小区", C.COMMERCIAL, 1, "新郑里15号", (1996, 1999), (6, 7), (2, 3, 4), 5,
                 property_company="郑州安居物业管理有限公司"),
    CompoundSpec("郑州日产家属院", C.WORK_UNIT, 2, "陇海东路120号", (1984, 1992), (6, 7), (4, 5), 13,
                 aliases="日产家属院", note="原郑州日产汽车职工住宅，楼院内老澡堂已改建为老年日间照料中心。"),
    CompoundSpec("轻汽厂家属院", C.WORK_UNIT, 3, "陇海东路138号", (1982, 1990), (5, 6), (4, 5), 12,
                 aliases="郑州轻型汽车制造厂家属院,轻汽家属院"),
    CompoundSpec("铁路家属院", C.WORK_UNIT, 4, "南仓街21号", (1978, 1988), (5, 6), (3, 4), 10,
                 aliases="铁路局家属院"),
    CompoundSpec("南仓街小区", C.OTHER, 5, "南仓街45号", (1992, 1998), (6, 7), (2, 3, 4), 9),
    CompoundSpec("陇海东路12号院", C.SELF_BUILT, 6, "陇海东路12号", (1980, 1986), (4, 5), (2, 3), 7,
                 note="散居楼院，无物业，由社区代管。"),
]  # fmt: skip

# The first compounds of the other communities of the two real sub-districts (the rest are generated).
COMMUNITY_COMPOUNDS: dict[str, list[tuple[str, str]]] = {
    "410104007002": [
        ("陇海东路56号院", C.SELF_BUILT), ("机械厂家属院", C.WORK_UNIT), ("东陇花园", C.COMMERCIAL),
    ],
    "410104007003": [("纺织器材厂家属院", C.WORK_UNIT), ("陇海东路108号院", C.SELF_BUILT)],
    "410104007004": [
        ("郑新里北院", C.WORK_UNIT), ("郑新里南院", C.WORK_UNIT), ("粮食局家属院", C.WORK_UNIT),
    ],
    "410104007005": [("陇新小区", C.OTHER), ("电业局家属院", C.WORK_UNIT), ("陇海佳苑", C.COMMERCIAL)],
    "410104007006": [("紫荆苑", C.COMMERCIAL), ("邮电局家属院", C.WORK_UNIT)],
    "410104007007": [
        ("新郑路小区", C.OTHER), ("交通局家属院", C.WORK_UNIT), ("新郑路22号院", C.SELF_BUILT),
    ],
    "410104007008": [("紫薇苑", C.COMMERCIAL), ("建材厂家属院", C.WORK_UNIT)],
    "410104007200": [("陇海村回迁安置小区", C.RESETTLEMENT), ("陇海村自建房片区", C.SELF_BUILT)],
    "410104006001": [("凤凰花园", C.COMMERCIAL), ("凤凰路15号院", C.SELF_BUILT)],
    "410104006002": [("货站街3号院", C.WORK_UNIT), ("货西小区", C.OTHER)],
    "410104006003": [("货东小区", C.OTHER), ("货站街东院", C.WORK_UNIT)],
    "410104006004": [("铁路新村一区", C.WORK_UNIT), ("铁路新村二区", C.WORK_UNIT)],
    "410104006005": [("杨庄安置小区", C.RESETTLEMENT), ("二里岗新村", C.OTHER)],
    "410104006006": [("城东路小区", C.OTHER), ("城东路61号院", C.SELF_BUILT)],
    "410104006007": [("东明小区", C.OTHER), ("东明路北院", C.WORK_UNIT)],
    "410104006008": [("紫云小区", C.OTHER), ("紫云花园", C.COMMERCIAL)],
}  # fmt: skip

# Building shapes by compound kind: (years built, floors, entrances, dwellings per floor).
SHAPES: dict[str, tuple[tuple[int, int], tuple[int, ...], tuple[int, ...], int]] = {
    C.WORK_UNIT: ((1978, 1996), (5, 6, 7), (2, 3, 4), 2),
    C.COMMERCIAL: ((2002, 2016), (11, 18, 26), (1, 2), 2),
    C.RESETTLEMENT: ((2008, 2018), (6, 11, 18), (2, 3), 2),
    C.SELF_BUILT: ((1980, 1995), (3, 4, 5), (1, 2), 2),
    C.OTHER: ((1990, 2002), (6, 7), (2, 3), 2),
}
#: How likely each kind is for a generated compound: (kind, weight) for ordinary communities and the village.
KIND_WEIGHTS = [(C.WORK_UNIT, 30), (C.COMMERCIAL, 30), (C.OTHER, 20), (C.RESETTLEMENT, 8), (C.SELF_BUILT, 12)]
VILLAGE_KIND_WEIGHTS = [(C.RESETTLEMENT, 60), (C.SELF_BUILT, 40)]

# Organisations of 陇海东路第一社区: (kind, name, credit-code prefix or "" for none, industry, compound,
# note).
Org = OrganisationKind
LONGYI_ORGANISATIONS: list[tuple[str, str, str, str, str, str]] = [
    (Org.INSTITUTION, "郑州市管城回族区陇海马路小学", "12", "教育", "", ""),
    (Org.INSTITUTION, "管城回族区陇海马路街道社区卫生服务中心陇一服务站", "12", "卫生", "郑州日产家属院", ""),
    (Org.INSTITUTION, "郑州市公安局管城分局陇海马路派出所东路警务室", "11", "公共安全", "", ""),
    (Org.INSTITUTION, "郑州日产汽车有限公司离退休职工管理站", "91", "社会保障", "郑州日产家属院",
     "负责原郑州日产职工的离退休管理和慰问。"),
    (Org.INSTITUTION, "郑州轻型汽车制造厂离退休管理办公室", "91", "社会保障", "轻汽厂家属院", ""),
    (Org.INSTITUTION, "中国邮政集团有限公司郑州市陇海东路营业所", "91", "邮政", "", ""),
    (Org.ENTERPRISE, "郑州陇海物业服务有限公司", "91", "物业管理", "陇海花园", ""),
    (Org.ENTERPRISE, "郑州安居物业管理有限公司", "91", "物业管理", "新郑里小区", ""),
    (Org.ENTERPRISE, "河南康乐养老服务有限公司", "91", "养老服务", "郑州日产家属院",
     "通过政府购买服务运营老年日间照料中心，为空巢、孤寡老人提供助餐、助浴服务。"),
    (Org.ENTERPRISE, "郑州鑫隆超市有限公司", "91", "零售", "", ""),
    (Org.ENTERPRISE, "郑州百姓大药房有限公司陇海东路店", "91", "医药零售", "", ""),
    (Org.ENTERPRISE, "郑州陇东餐饮管理有限公司", "91", "餐饮", "", ""),
    (Org.ENTERPRISE, "郑州新郑里家政服务有限公司", "91", "家政服务", "新郑里小区", ""),
    (Org.ENTERPRISE, "郑州市管城区陇海东路农贸市场管理有限公司", "91", "市场管理", "", ""),
    (Org.ENTERPRISE, "郑州轻汽汽车配件有限公司", "91", "汽车配件", "轻汽厂家属院", ""),
    (Org.ENTERPRISE, "郑州华通电动车销售有限公司", "91", "零售", "", ""),
    (Org.ENTERPRISE, "郑州鑫源建筑装饰工程有限公司", "91", "建筑装饰", "", ""),
    (Org.ENTERPRISE, "郑州铁港物流有限公司", "91", "物流", "铁路家属院", ""),
    (Org.ENTERPRISE, "中国工商银行股份有限公司郑州陇海路支行", "91", "金融", "", ""),
    (Org.INDIVIDUAL, "管城回族区老马牛肉烩面馆", "92", "餐饮", "", ""),
    (Org.INDIVIDUAL, "管城回族区清真老白家水煎包店", "92", "餐饮", "", ""),
    (Org.INDIVIDUAL, "管城回族区新郑里便民理发店", "92", "居民服务", "新郑里小区", ""),
    (Org.INDIVIDUAL, "管城回族区陇东修鞋配钥匙店", "92", "居民服务", "", ""),
    (Org.INDIVIDUAL, "管城回族区鑫鑫水果店", "92", "零售", "", ""),
    (Org.INDIVIDUAL, "管城回族区南仓街早餐店", "92", "餐饮", "南仓街小区", ""),
    (Org.INDIVIDUAL, "管城回族区惠民粮油店", "92", "零售", "", ""),
    (Org.SOCIAL, "郑州市管城回族区康乐老年日间照料中心", "52", "养老服务", "郑州日产家属院",
     "由小区内1200平方米的老澡堂改建，政府购买服务，提供助餐、助浴、日间照料。"),
    (Org.SOCIAL, "郑州市管城回族区阳光社会工作服务中心", "52", "社会工作", "", ""),
    (Org.SOCIAL, "陇海东路第一社区老年协会", "", "社区社会组织", "", "社区社会组织，已在街道备案。"),
    (Org.SOCIAL, "陇海东路第一社区党员志愿服务队", "", "志愿服务", "", "社区社会组织，已在街道备案。"),
    (Org.SOCIAL, "陇海东路第一社区夕阳红秧歌队", "", "文体活动", "", "社区社会组织，已在街道备案。"),
]  # fmt: skip
#: Employees by kind of organisation (low, high).
EMPLOYEES: dict[str, tuple[int, int]] = {
    Org.INDIVIDUAL: (1, 6),
    Org.ENTERPRISE: (5, 180),
    Org.INSTITUTION: (8, 120),
    Org.SOCIAL: (3, 40),
}
GENERIC_ENTERPRISES = [
    ("超市", "零售"), ("餐饮管理", "餐饮"), ("物业服务", "物业管理"), ("家政服务", "家政服务"),
    ("商贸", "批发零售"), ("电子科技", "信息技术"), ("汽车服务", "汽车维修"), ("建筑装饰工程", "建筑装饰"),
    ("文化传媒", "文化"), ("大药房", "医药零售"), ("养老服务", "养老服务"), ("教育咨询", "教育培训"),
]  # fmt: skip
GENERIC_SHOPS = [
    ("烩面馆", "餐饮"), ("水果店", "零售"), ("理发店", "居民服务"), ("便利店", "零售"), ("早餐店", "餐饮"),
    ("五金店", "零售"), ("干洗店", "居民服务"), ("修车铺", "居民服务"), ("粮油店", "零售"),
    ("清真牛肉汤馆", "餐饮"), ("裁缝店", "居民服务"), ("小吃店", "餐饮"),
]  # fmt: skip


# ---------------------------------------------------------------------------------------------------------
# Households: who lives together


@dataclass(frozen=True)
class Profile:
    """The mix of household shapes and tag rates of a community."""

    name: str
    shapes: list[tuple[str, float]]
    hui_share: float
    dibao_households: float
    party_elderly: float
    party_adults: float


# Shares of household shapes. WORKERS (陇一: an old work-unit community, ≈ 40 % aged 65+, 2.57 per household)
# and ORDINARY (≈ 20 % aged 65+, 2.6 per household).
WORKERS = Profile(
    "workers",
    [
        ("solitary", 18), ("elderly_couple", 23), ("elderly_with_child", 7), ("three_generations", 16),
        ("with_parent", 6), ("young_family", 12), ("middle_couple", 5), ("middle_with_child", 6),
        ("single", 2), ("renters", 5),
    ],
    hui_share=0.09,
    dibao_households=0.025,
    party_elderly=0.14,
    party_adults=0.07,
)  # fmt: skip
ORDINARY = Profile(
    "ordinary",
    [
        ("solitary", 7), ("elderly_couple", 9), ("elderly_with_child", 4), ("three_generations", 8),
        ("with_parent", 5), ("young_family", 24), ("middle_couple", 11), ("middle_with_child", 13),
        ("single", 9), ("renters", 10),
    ],
    hui_share=0.06,
    dibao_households=0.015,
    party_elderly=0.10,
    party_adults=0.06,
)  # fmt: skip


@dataclass
class Member:
    relation: str
    age: int
    sex: str
    residence: str = ResidenceType.REGISTERED
    surname: str = ""  # "" : the head's


def quota(shares: Sequence[tuple[str, float]], total: int) -> list[str]:
    """`total` items split by `shares` exactly (largest remainders), e.g. the shapes of a community's
    households: the mix is the profile's, not a random draw from it."""
    weight = sum(w for _v, w in shares)
    exact = [(value, total * w / weight) for value, w in shares]
    counts = {value: int(x) for value, x in exact}
    by_remainder = sorted(exact, key=lambda item: item[1] - int(item[1]), reverse=True)
    for value, _x in by_remainder[: total - sum(counts.values())]:
        counts[value] += 1
    return [value for value, _w in shares for _n in range(counts[value])]


def elderly_age(rng: random.Random) -> int:
    """An age of 65 or more, as the old are spread (fewer at every five years)."""
    band = _weighted(rng, [(65, 30), (70, 26), (75, 20), (80, 13), (85, 8), (90, 3)])
    return band + rng.randrange(5 if band < 90 else 8)


def _other(sex: str) -> str:
    return Sex.FEMALE if sex == Sex.MALE else Sex.MALE


def _spouse_age(rng: random.Random, head_age: int) -> int:
    return max(18, head_age + round(rng.gauss(-2, 3)))


def _children(rng: random.Random, parent_age: int, count: int, low: int = 0, high: int = 99) -> list[Member]:
    kids = []
    for _n in range(count):
        age = parent_age - rng.randint(23, 34)
        kids.append(Member(Relation.CHILD, max(low, min(high, age, parent_age - 18)), rng.choice(Sex.values)))
    return [k for k in kids if k.age >= 0]


def household_members(rng: random.Random, shape: str) -> list[Member]:
    """The members of one household of `shape`, the head first."""
    male_head = rng.random() < 0.8
    sex = Sex.MALE if male_head else Sex.FEMALE
    if shape == "solitary":
        return [Member(Relation.HEAD, elderly_age(rng), Sex.FEMALE if rng.random() < 0.68 else Sex.MALE)]
    if shape == "elderly_couple":
        age = elderly_age(rng)
        return [
            Member(Relation.HEAD, age, sex),
            Member(
                Relation.SPOUSE,
                max(65, _spouse_age(rng, age)) if rng.random() < 0.9 else age - 6,
                _other(sex),
            ),
        ]
    if shape == "elderly_with_child":
        age = elderly_age(rng)
        members = [Member(Relation.HEAD, age, sex if rng.random() < 0.5 else Sex.FEMALE)]
        if rng.random() < 0.4:
            members.append(Member(Relation.SPOUSE, _spouse_age(rng, age), _other(members[0].sex)))
        members += _children(rng, age, 1, low=28)
        return members
    if shape == "three_generations":
        age = rng.randint(62, 88)
        members = [Member(Relation.HEAD, age, sex)]
        if rng.random() < 0.75:
            members.append(Member(Relation.SPOUSE, _spouse_age(rng, age), _other(sex)))
        child = _children(rng, age, 1, low=30)[0]
        members.append(child)
        if rng.random() < 0.85:
            members.append(
                Member(Relation.CHILD_IN_LAW, _spouse_age(rng, child.age), _other(child.sex), surname="*")
            )
        for kid in _children(rng, child.age, 1 if rng.random() < 0.8 else 2):
            kid.relation = Relation.GRANDCHILD
            if child.sex == Sex.FEMALE:
                kid.surname = "*"  # the son-in-law's surname
            members.append(kid)
        return members
    if shape == "with_parent":
        age = rng.randint(36, 58)
        members = [Member(Relation.HEAD, age, sex)]
        if rng.random() < 0.9:
            members.append(Member(Relation.SPOUSE, _spouse_age(rng, age), _other(sex)))
        if rng.random() < 0.8:
            members += _children(rng, age, 1)
        parent_age = max(65, min(99, age + rng.randint(24, 33)))
        members.append(Member(Relation.PARENT, parent_age, Sex.FEMALE if rng.random() < 0.7 else Sex.MALE))
        return members
    if shape == "young_family":
        age = rng.randint(27, 45)
        return [
            Member(Relation.HEAD, age, sex),
            Member(Relation.SPOUSE, _spouse_age(rng, age), _other(sex)),
            *_children(rng, age, 1 if rng.random() < 0.72 else 2, high=19),
        ]
    if shape == "middle_couple":
        age = rng.randint(46, 64)
        return [Member(Relation.HEAD, age, sex), Member(Relation.SPOUSE, _spouse_age(rng, age), _other(sex))]
    if shape == "middle_with_child":
        age = rng.randint(45, 64)
        members = [Member(Relation.HEAD, age, sex)]
        if rng.random() < 0.9:
            members.append(Member(Relation.SPOUSE, _spouse_age(rng, age), _other(sex)))
        return members + _children(rng, age, 1, low=16)
    if shape == "single":
        return [Member(Relation.HEAD, rng.randint(22, 64), rng.choice(Sex.values))]
    if shape == "renters":
        age = rng.randint(20, 42)
        head = Member(Relation.HEAD, age, rng.choice(Sex.values), ResidenceType.FLOATING)
        x = rng.random()
        if x < 0.45:
            return [head]
        if x < 0.62:  # two friends or colleagues sharing a flat
            return [head, Member(Relation.OTHER, rng.randint(20, 35), head.sex, ResidenceType.FLOATING, "*")]
        spouse = Member(Relation.SPOUSE, _spouse_age(rng, age), _other(head.sex), ResidenceType.FLOATING, "*")
        if x < 0.8:
            return [head, spouse]
        kids = _children(rng, age, 1, high=12)
        for kid in kids:
            kid.residence = ResidenceType.FLOATING
        return [head, spouse, *kids]
    raise ValueError(shape)


# ---------------------------------------------------------------------------------------------------------
# Names, identity numbers, phones


def _weighted(rng: random.Random, pairs: Sequence[tuple[Any, float]]) -> Any:
    total = sum(w for _v, w in pairs)
    x = rng.random() * total
    for value, weight in pairs:
        x -= weight
        if x <= 0:
            return value
    return pairs[-1][0]


class Picker:
    """Weighted choice from a fixed table, by bisection over the cumulative weights."""

    def __init__(self, pairs: Sequence[tuple[Any, float]]) -> None:
        self.values = [v for v, _w in pairs]
        self.cumulative: list[float] = []
        total = 0.0
        for _v, w in pairs:
            total += w
            self.cumulative.append(total)

    def __call__(self, rng: random.Random) -> Any:
        import bisect

        x = rng.random() * self.cumulative[-1]
        return self.values[min(bisect.bisect_right(self.cumulative, x), len(self.values) - 1)]


SURNAME = Picker(SURNAMES)
HUI_SURNAME = Picker(HUI_SURNAMES)
REGION: dict[str, Picker] = {
    ResidenceType.REGISTERED: Picker(REGISTERED_REGIONS),
    ResidenceType.HABITUAL: Picker(HABITUAL_REGIONS),
    ResidenceType.FLOATING: Picker(FLOATING_REGIONS),
}
ALL_REGIONS = [r for table in (REGISTERED_REGIONS, HABITUAL_REGIONS, FLOATING_REGIONS) for r, _w in table]


def generation(birth_year: int) -> int:
    return 0 if birth_year <= 1960 else 1 if birth_year <= 1985 else 2 if birth_year <= 2005 else 3


def given_name(rng: random.Random, birth_year: int, sex: str) -> str:
    return rng.choice(GIVEN[generation(birth_year), sex])


def street_address(rng: random.Random) -> str:
    return f"{rng.choice(STREETS)}{rng.randint(1, 260)}号"


def mobile(rng: random.Random) -> str:
    prefix = rng.choice(
        ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "156",
         "157", "158", "159", "166", "173", "176", "177", "180", "181", "183", "185", "186", "187", "188",
         "189", "191", "199"]
    )  # fmt: skip
    return f"{prefix}{rng.randrange(100_000_000):08d}"


def landline(rng: random.Random) -> str:
    """A 郑州 fixed line (area code 0371, eight digits starting 6)."""
    return f"0371-6{rng.randrange(10_000_000):07d}"


class IdentityMaker:
    """Unique, valid identity numbers for a community: see the module's docstring (slots per region, sex and
    age). `taken` holds the blind indexes of numbers already stored, which are skipped."""

    def __init__(self, base: int, today: date, taken: set[str] | None = None, limit: int = SLOTS) -> None:
        self.base = base
        self.limit = limit
        self.today = today
        self.taken = taken or set()
        self.counters: Counter[tuple[str, str, int]] = Counter()
        self._anchor: dict[int, date] = {}

    def number(self, region: str, sex: str, age: int) -> str:
        for candidate in itertools.chain((region,), ALL_REGIONS):
            key = (candidate, sex, age)
            while self.counters[key] < self.limit:
                n = self.counters[key]
                self.counters[key] = n + 1
                number = self.compose(candidate, sex, age, self.base + n)
                if self.taken and personal.id_lookup(number) in self.taken:
                    continue
                return number
        raise ValueError(f"no identity number left for {region}/{sex}/{age}")

    def compose(self, region: str, sex: str, age: int, slot: int) -> str:
        anchor = self._anchor.get(age)
        if anchor is None:
            anchor = self._anchor[age] = years_before(self.today, age)
        born = anchor - timedelta(days=(slot * 149) % 365)
        sequence = (slot // 365) * 2 + (1 if sex == Sex.MALE else 0)
        first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
        return first17 + ric.calc_check_digit(first17 + "0")


_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # the credit code's characters


def organisation_code(body: str) -> str:
    """The 9-character organisation code (GB 11714): 8 characters and their check character."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body, weights, strict=True))
    check = 11 - total % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


def credit_code(prefix: str, region: str, serial: int) -> str:
    """A valid 统一社会信用代码: registering authority and entity type (`prefix`, e.g. 91 for a company), the
    region, an organisation code derived from `serial` (new style "MA…" for companies and individual
    businesses, eight digits for public bodies) and the check character (stdnum's calc_check_digit)."""
    if prefix in ("91", "92", "93"):  # market entities registered since 2015: the "MA…" codes
        space = len(_ALPHABET) ** 6
        n = (serial * 2_654_435_761 + 12_345) % space
        chars = []
        for _i in range(6):
            n, r = divmod(n, len(_ALPHABET))
            chars.append(_ALPHABET[r])
        body = "MA" + "".join(chars)
    else:
        body = f"{(serial * 7919 + 41_000_000) % 100_000_000:08d}"
    first17 = f"{prefix}{region}{organisation_code(body)}"
    return first17 + uscc.calc_check_digit(first17)


# ---------------------------------------------------------------------------------------------------------
# Which communities, with how many households


@dataclass
class GridInfo:
    unit: OrgUnit
    worker: int | None  # the grid worker's user id
    centre: tuple[float, float]


@dataclass
class CommunityPlan:
    unit: OrgUnit
    ordinal: int
    households: int
    profile: Profile
    grids: list[GridInfo]
    compounds: list[CompoundSpec]
    organisations: list[tuple[str, str, str, str, str, str]] = field(default_factory=list)


def community_ordinal(code: str) -> int:
    """A number below 1000 for each demo community, from its code (the identity-number and credit-code space
    the community owns): 二里岗 1–8, 陇海马路 11–18 and the village 19, community c of synthetic
    sub-district n 20 + 9(n−1) + c − 1."""
    sub, number = int(code[6:9]), int(code[9:12])
    if sub == 6:
        return number
    if sub == 7:
        return 19 if number == 200 else 10 + number
    if 900 <= sub <= 998:
        return 20 + (sub - 900) * 9 + (number - 1)
    raise ValueError(f"{code} is not a demo community")


def _centre(unit: OrgUnit) -> tuple[float, float]:
    try:
        ring = (unit.boundary or {})["coordinates"][0][:-1]
        return (sum(p[0] for p in ring) / len(ring), sum(p[1] for p in ring) / len(ring))
    except (KeyError, IndexError, TypeError, ZeroDivisionError):
        return (113.68, 34.73)


def plan_communities(scale: int) -> list[CommunityPlan]:
    """Every demo community present (the real ones and those of synthetic sub-districts up to `scale`)."""
    demo_codes = _demo_codes(scale)
    units = {u.code: u for u in OrgUnit.objects.filter(code__in=demo_codes)}
    communities = [units[c] for c in demo_codes if c in units]
    step = OrgUnit.steplen
    grids_by_parent: dict[str, list[OrgUnit]] = {}
    grid_query = OrgUnit.objects.filter(kind=OrgUnit.Kind.GRID, code__startswith="410104").order_by("path")
    wanted = {u.path for u in communities}
    for grid in grid_query:
        if grid.path[:-step] in wanted:
            grids_by_parent.setdefault(grid.path[:-step], []).append(grid)
    workers: dict[int, int] = {}
    for user_id, unit_id in (
        Membership.objects.filter(role=Role.GRID_WORKER, is_active=True, user__is_active=True)
        .order_by("user__username")
        .values_list("user_id", "org_unit_id")
    ):
        workers.setdefault(unit_id, user_id)
    plans = []
    for unit in communities:
        grids = [GridInfo(g, workers.get(g.pk), _centre(g)) for g in grids_by_parent.get(unit.path, [])]
        if not grids:
            continue
        ordinal = community_ordinal(unit.code)
        if unit.code == LONGYI_CODE:
            plans.append(
                CommunityPlan(unit, ordinal, LONGYI_HOUSEHOLDS, WORKERS, grids, LONGYI_COMPOUNDS,
                              LONGYI_ORGANISATIONS)
            )  # fmt: skip
            continue
        synthetic = unit.code[6:9] >= "900"
        households = SYNTHETIC_HOUSEHOLDS if synthetic else OTHER_HOUSEHOLDS
        rng = random.Random(f"compounds:{unit.code}")
        specs = generic_compounds(rng, unit, len(grids), COMMUNITY_COMPOUNDS.get(unit.code, []))
        plans.append(
            CommunityPlan(unit, ordinal, households, ORDINARY, grids, specs, generic_organisations(rng, unit))
        )
    return plans


def _demo_codes(scale: int) -> list[str]:
    codes = [LONGYI_CODE]
    codes += [f"410104007{n:03d}" for n in range(2, 9)] + ["410104007200"]
    codes += [f"410104006{n:03d}" for n in range(1, 9)]
    for n in range(1, max(scale, 1)):
        codes += [f"410104{899 + n:03d}{c:03d}" for c in range(1, 10)]
    return codes


def generic_compounds(
    rng: random.Random, unit: OrgUnit, grids: int, named: list[tuple[str, str]]
) -> list[CompoundSpec]:
    """One compound per grid (buildings as the households need): the community's named compounds first,
    then plausible generated names, unique within the community."""
    village = unit.kind == OrgUnit.Kind.VILLAGE
    used: set[str] = set()
    specs = []
    for g in range(grids):
        if g < len(named):
            name, kind = named[g]
        else:
            kind = _weighted(rng, VILLAGE_KIND_WEIGHTS if village else KIND_WEIGHTS)
            name = _compound_name(rng, kind, used)
        used.add(name)
        built, floors, entrances, per_floor = SHAPES[kind]
        street = rng.choice(STREETS)
        specs.append(
            CompoundSpec(
                name,
                kind,
                g + 1,
                f"{street}{rng.randint(1, 260)}号",
                built,
                floors,
                entrances,
                None,
                per_floor,
                property_company=rng.choice(PROPERTY_COMPANIES) if kind in (C.COMMERCIAL, C.OTHER) else "",
            )
        )
    return specs


def _compound_name(rng: random.Random, kind: str, used: set[str]) -> str:
    for _attempt in range(50):
        if kind == C.WORK_UNIT:
            name = f"{rng.choice(WORK_UNITS)}家属院"
        elif kind == C.SELF_BUILT:
            name = f"{rng.choice(STREETS)}{rng.randint(1, 199)}号院"
        elif kind == C.RESETTLEMENT:
            name = f"{rng.choice(PLACE_WORDS)}{rng.choice(['安置小区', '新城', '家园'])}"
        elif kind == C.COMMERCIAL:
            name = f"{rng.choice(PLACE_WORDS)}{rng.choice(['花园', '苑', '家园', '华府', '名邸', '公馆'])}"
        else:
            name = f"{rng.choice(PLACE_WORDS)}{rng.choice(['小区', '新村', '里'])}"
        if name not in used:
            return name
    return f"{rng.choice(STREETS)}{len(used) + 200}号院"


def generic_organisations(rng: random.Random, unit: OrgUnit) -> list[tuple[str, str, str, str, str, str]]:
    short = unit.short_name or unit.name
    orgs: list[tuple[str, str, str, str, str, str]] = [
        (Org.INSTITUTION, f"{short}卫生服务站", "12", "卫生", "", ""),
        (Org.SOCIAL, f"{short}老年协会", "", "社区社会组织", "", "社区社会组织，已在街道备案。"),
        (Org.SOCIAL, f"{short}志愿服务队", "", "志愿服务", "", "社区社会组织，已在街道备案。"),
    ]
    for _n in range(4):
        biz, industry = rng.choice(GENERIC_ENTERPRISES)
        orgs.append((Org.ENTERPRISE, f"郑州{rng.choice(PLACE_WORDS)}{biz}有限公司", "91", industry, "", ""))
    for _n in range(4):
        shop, industry = rng.choice(GENERIC_SHOPS)
        orgs.append((Org.INDIVIDUAL, f"管城回族区{rng.choice(STREETS)}{shop}", "92", industry, "", ""))
    if rng.random() < 0.3:
        orgs.append(
            (
                Org.SOCIAL,
                f"郑州市管城回族区{rng.choice(PLACE_WORDS)}社会工作服务中心",
                "52",
                "社会工作",
                "",
                "",
            )
        )
    return orgs


# ---------------------------------------------------------------------------------------------------------
# Writing rows


MISSING = object()


class Table:
    """One model's rows of one community, as tuples in column order, with ids counted from 1 (the writer
    renumbers them when it merges the community: `Sink.merge`)."""

    def __init__(self, model: type[models.Model], explicit_id: bool) -> None:
        self.model = model
        self.cols = [str(f.column) for f in model._meta.concrete_fields if explicit_id or f.column != "id"]
        defaults: dict[str, Any] = {}
        for f in model._meta.concrete_fields:
            if f.has_default():
                defaults[str(f.column)] = f.get_default()
            elif f.null:
                defaults[str(f.column)] = None
            else:
                defaults[str(f.column)] = MISSING
        self.explicit_id = explicit_id
        self.pairs = [(c, defaults[c]) for c in self.cols]
        self.rows: list[tuple[Any, ...]] = []
        self.next_id = 1

    def add(self, values: dict[str, Any]) -> int:
        """Queue a row; returns its (local) id, or 0 for a table without explicit ids."""
        row_id = 0
        if self.explicit_id:
            if values.setdefault("id", self.next_id) != self.next_id:
                raise ValueError(f"{self.model.__name__}: ids must be added in order")
            row_id = self.next_id
            self.next_id += 1
        get = values.get
        row = tuple([get(c, d) for c, d in self.pairs])
        if MISSING in row:
            missing = [c for c, value in zip(self.cols, row, strict=True) if value is MISSING]
            raise ValueError(f"{self.model.__name__}: no value for {missing}")
        self.rows.append(row)
        return row_id


ORDER: list[type[models.Model]] = [
    Compound,
    Building,
    Entrance,
    Dwelling,
    Household,
    Resident,
    ResidentTag,
    Organisation,
    CareSubject,
    Visit,
]
EXPLICIT_IDS = [m for m in ORDER if m not in (ResidentTag, Visit)]
INDEXED = [Resident, Compound, Building, Dwelling, Organisation]  # told to the search index
#: The generated rows' references to each other (column → model): renumbered with the ids on merge.
REFERENCES: dict[type[models.Model], dict[str, type[models.Model]]] = {
    Building: {"compound_id": Compound},
    Entrance: {"building_id": Building},
    Dwelling: {"building_id": Building, "entrance_id": Entrance},
    Household: {"dwelling_id": Dwelling, "head_id": Resident},
    Resident: {"household_id": Household, "dwelling_id": Dwelling},
    ResidentTag: {"resident_id": Resident},
    Organisation: {"compound_id": Compound},
    CareSubject: {"resident_id": Resident},
    Visit: {"care_id": CareSubject},
}


@dataclass
class Context:
    """What every community's generation shares: the day, the database's date-time form, the tags, and the
    identity numbers (blind indexes) and credit codes already stored."""

    today: date
    now: datetime
    sqlite: bool
    tags: dict[str, int]
    taken: set[str]
    credit_codes: set[str]

    @classmethod
    def load(cls, today: date, now: datetime) -> Context:
        taken: set[str] = set()
        if Resident.objects.exclude(id_index="").exists():
            taken = set(
                Resident.objects.exclude(id_index="").values_list("id_index", flat=True).iterator(50_000)
            )
        return cls(
            today,
            now,
            connection.vendor == "sqlite",
            dict(Tag.objects.filter(is_active=True).values_list("code", "id")),
            taken,
            set(Organisation.objects.exclude(credit_code="").values_list("credit_code", flat=True)),
        )

    def dt(self, value: datetime | None) -> Any:
        """SQLite stores UTC as text (what Django's adapt_datetimefield_value makes)."""
        if value is None or not self.sqlite:
            return value
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")


@dataclass
class BuildResult:
    created: dict[str, int]
    communities: int
    skipped: int
    seconds: float
    workers: int = 0

    @property
    def residents(self) -> int:
        return self.created.get("resident", 0)


class Community:
    """Generates the rows of one community from its own random stream. No database access: it may run in a
    worker process (`build`)."""

    def __init__(self, context: Context, plan: CommunityPlan) -> None:
        self.context = context
        self.plan = plan
        self.today = context.today
        self.stamp = context.dt(context.now)
        self.tags = context.tags
        self.credit_codes = context.credit_codes
        self.tables = {m: Table(m, explicit_id=m in EXPLICIT_IDS) for m in ORDER}

    def dt(self, value: datetime | None) -> Any:
        return self.context.dt(value)

    def generate(self) -> dict[str, list[tuple[Any, ...]]]:
        """{model label: rows} with ids from 1 in every table."""
        plan = self.plan
        rng = random.Random(f"people:{plan.unit.code}")
        ids = IdentityMaker(plan.ordinal * SLOTS, self.today, self.context.taken)
        compounds = self.places(rng, plan)
        dwellings = [d for c in compounds for d in c["dwellings"]]
        occupied = sorted(rng.sample(range(len(dwellings)), plan.households))
        occupied_set = set(occupied)
        shapes = quota(plan.profile.shapes, plan.households)
        rng.shuffle(shapes)
        households: list[tuple[dict[str, Any], list[Member]]] = []
        for n, (index, shape) in enumerate(zip(occupied, shapes, strict=True), start=1):
            dwelling = dwellings[index]
            members = household_members(rng, shape)
            floating = members[0].residence == ResidenceType.FLOATING
            dwelling["use"] = DwellingUse.RENTED if floating else DwellingUse.OWNER
            dwelling["household_no"] = n
            households.append((dwelling, members))
        for index, dwelling in enumerate(dwellings):
            if index not in occupied_set:
                dwelling["use"] = DwellingUse.VACANT
            self.write_dwelling(dwelling)
        for dwelling, members in households:
            self.household(rng, plan, ids, dwelling, members)
        self.organisations(rng, plan, compounds)
        return {m._meta.label: self.tables[m].rows for m in ORDER}

    def places(self, rng: random.Random, plan: CommunityPlan) -> list[dict[str, Any]]:
        """Compounds, buildings and entrances written; the dwellings returned (written once their use is
        known). Enough dwellings for the households and about 6 % more (vacant)."""
        target = math.ceil(plan.households * 1.06)
        specs = plan.compounds
        compounds = []
        fixed = sum(spec.buildings or 0 for spec in specs)
        shares = [target / len(specs)] * len(specs)
        if fixed:  # the seed's counts: each compound's share follows its number of buildings
            shares = [target * (spec.buildings or 0) / fixed for spec in specs]
        carry = 0.0  # dwellings a compound fell short of (or beyond) its share, for the next to take on
        for spec, share in zip(specs, shares, strict=True):
            grid = plan.grids[(spec.grid - 1) % len(plan.grids)]
            lon = grid.centre[0] + rng.uniform(-0.0015, 0.0015)
            lat = grid.centre[1] + rng.uniform(-0.0010, 0.0010)
            compound_id = self.tables[Compound].add(
                {
                    "name": spec.name,
                    "aliases": spec.aliases,
                    "kind": spec.kind,
                    "address": spec.address,
                    "is_old": spec.built[1] < 2000,
                    "property_company": spec.property_company,
                    "longitude": Decimal(f"{lon:.6f}"),
                    "latitude": Decimal(f"{lat:.6f}"),
                    "note": spec.note,
                    **self.scope(grid.unit),
                    **self.versioned(),
                }
            )
            shapes = self.building_shapes(rng, spec, share + carry, last=spec is specs[-1])
            carry += share - sum(f * e * p for f, e, p, _y in shapes)
            dwellings: list[dict[str, Any]] = []
            for number, (floors, entrances, per_floor, year) in enumerate(shapes, start=1):
                dwellings += self.building(
                    rng, spec, compound_id, grid, number, floors, entrances, per_floor, year
                )
            compounds.append({"spec": spec, "id": compound_id, "grid": grid, "dwellings": dwellings})
        return compounds

    def building_shapes(
        self, rng: random.Random, spec: CompoundSpec, share: float, last: bool
    ) -> list[tuple[int, int, int, int]]:
        """(floors, entrances, dwellings per floor, year built) of each building. The seed's number of
        buildings is kept (made larger until they hold the share); otherwise buildings of the kind's shapes
        are added, each no larger than what is still needed where a shape allows, until the share is held
        (but for less than half the smallest building, which the next compound takes on; the last compound
        holds all that is left)."""
        per_floor = spec.per_floor
        if spec.buildings:
            shapes = [
                [rng.choice(spec.floors), rng.choice(spec.entrances), per_floor, rng.randint(*spec.built)]
                for _b in range(spec.buildings)
            ]
            while sum(f * e * p for f, e, p, _y in shapes) < share:
                smallest = min(shapes, key=lambda s: s[0] * s[1] * s[2])
                smallest[1] += 1
            return [(f, e, p, y) for f, e, p, y in shapes]
        combos = sorted({(f, e) for f in spec.floors for e in spec.entrances}, key=lambda c: c[0] * c[1])
        built: list[tuple[int, int, int, int]] = []
        need = share
        slack = 0.0 if last else combos[0][0] * combos[0][1] * per_floor / 2
        while need > slack or not built:
            fitting = [c for c in combos if c[0] * c[1] * per_floor <= need * 1.15]
            floors, entrances = rng.choice(fitting) if fitting else combos[0]
            built.append((floors, entrances, per_floor, rng.randint(*spec.built)))
            need -= floors * entrances * per_floor
        return built

    def building(
        self,
        rng: random.Random,
        spec: CompoundSpec,
        compound_id: int,
        grid: GridInfo,
        number: int,
        floors: int,
        entrances: int,
        per_floor: int,
        year: int,
    ) -> list[dict[str, Any]]:
        name = f"{number}号楼"
        structure = (
            Structure.SHEAR_WALL
            if floors >= 11
            else Structure.BRICK_WOOD
            if spec.kind == C.SELF_BUILT and year < 1985
            else Structure.BRICK_CONCRETE
            if year < 2000
            else Structure.FRAME
        )
        scope = self.scope(grid.unit)
        building_id = self.tables[Building].add(
            {
                "compound_id": compound_id,
                "name": name,
                "floors": floors,
                "entrance_count": entrances,
                "year_built": year,
                "structure": structure,
                "is_old": year < 2000,
                "address": standard_address(spec.address or spec.name, name),
                "note": "",
                **scope,
                **self.versioned(),
            }
        )
        small = spec.kind in (C.WORK_UNIT, C.SELF_BUILT) or year < 2000
        dwellings = []
        for e in range(1, entrances + 1):
            entrance = f"{e}单元"
            entrance_id = self.tables[Entrance].add({"building_id": building_id, "name": entrance, **scope})
            for floor in range(1, floors + 1):
                for door in range(1, per_floor + 1):
                    room = f"{floor}{door:02d}"
                    area = rng.uniform(42, 86) if small else rng.uniform(78, 145)
                    dwellings.append(
                        {
                            "building_id": building_id,
                            "entrance_id": entrance_id,
                            "number": room,
                            "floor": floor,
                            "area": Decimal(f"{area:.2f}"),
                            "address": standard_address(spec.name, name, entrance, room),
                            "grid": grid,
                            "compound": spec,
                            "year": year,
                        }
                    )
        return dwellings

    def write_dwelling(self, d: dict[str, Any]) -> None:
        d["id"] = self.tables[Dwelling].add(
            {
                "building_id": d["building_id"],
                "entrance_id": d["entrance_id"],
                "number": d["number"],
                "floor": d["floor"],
                "area": d["area"],
                "use": d["use"],
                "address": d["address"],
                **self.scope(d["grid"].unit),
                **self.versioned(),
            }
        )

    # ---- households and residents --------------------------------------------------------------------

    def household(
        self,
        rng: random.Random,
        plan: CommunityPlan,
        ids: IdentityMaker,
        dwelling: dict[str, Any],
        members: list[Member],
    ) -> None:
        grid: GridInfo = dwelling["grid"]
        scope = self.scope(grid.unit)
        floating = members[0].residence == ResidenceType.FLOATING
        hui = not floating and rng.random() < plan.profile.hui_share
        family_name = HUI_SURNAME(rng) if hui else SURNAME(rng)
        in_law_name = SURNAME(rng)
        moved = self.moved_in(rng, members[0], dwelling["year"])
        household_id = self.tables[Household].next_id
        resident_ids = [self.tables[Resident].next_id + i for i in range(len(members))]
        self.tables[Household].add(
            {
                "number": "" if floating else f"{plan.unit.code[6:]}{dwelling['household_no']:04d}",
                "kind": HouseholdKind.FAMILY,
                "dwelling_id": dwelling["id"],
                "address": dwelling["address"],
                "head_id": resident_ids[0],
                "note": "",
                **scope,
                **self.versioned(),
            }
        )
        elderly_only = all(m.age >= 60 for m in members)
        dibao = not floating and rng.random() < plan.profile.dibao_households
        for member, resident_id in zip(members, resident_ids, strict=True):
            residence = member.residence
            if residence == ResidenceType.REGISTERED and rng.random() < 0.07:
                residence = ResidenceType.HABITUAL
            name = self.surname(rng, member, family_name, in_law_name) + given_name(
                rng, self.today.year - member.age, member.sex
            )
            number = ids.number(REGION[residence](rng), member.sex, member.age)
            identity = personal.identity_columns(number, self.today)
            phone = self.phone(rng, member.age)
            phone_cols = personal.phone_columns(phone) if phone else personal.NO_PHONE
            moved_in = moved
            if identity.birth_date is not None and identity.birth_date > moved:
                moved_in = identity.birth_date
            ethnicity = (
                "回族" if hui and (member.relation != Relation.SPOUSE or rng.random() < 0.6) else "汉族"
            )
            if not hui and rng.random() < 0.004:
                ethnicity = rng.choice(["满族", "蒙古族", "壮族"])
            self.tables[Resident].add(
                {
                    "id": resident_id,
                    "household_id": household_id,
                    "relation": member.relation,
                    "name": name,
                    "name_pinyin": personal.name_pinyin(name),
                    "id_token": identity.id_token,
                    "id_index": identity.id_index,
                    "id_mask": identity.id_mask,
                    "birth_date": identity.birth_date,
                    "sex": identity.sex,
                    "phone_token": phone_cols.phone_token,
                    "phone_index": phone_cols.phone_index,
                    "phone_mask": phone_cols.phone_mask,
                    "residence_type": residence,
                    "ethnicity": ethnicity,
                    "dwelling_id": dwelling["id"],
                    "address": dwelling["address"],
                    "moved_in": moved_in,
                    "moved_out": None,
                    "note": "",
                    **scope,
                    **self.versioned(),
                }
            )
            self.tags_and_care(
                rng,
                plan,
                grid,
                resident_id,
                member,
                identity.birth_date,
                moved_in,
                members,
                elderly_only,
                dibao,
            )

    @staticmethod
    def surname(rng: random.Random, member: Member, family: str, in_law: str) -> str:
        """The head's children and grandchildren (through a son) carry the family's surname; a daughter's
        children and the child-in-law the in-law's; spouses, mothers and flatmates their own."""
        relation = member.relation
        if relation in (Relation.HEAD, Relation.CHILD, Relation.SIBLING):
            return family
        if relation == Relation.GRANDCHILD:
            return in_law if member.surname == "*" else family
        if relation == Relation.CHILD_IN_LAW:
            return in_law
        if relation == Relation.PARENT and member.sex == Sex.MALE:
            return family
        return str(SURNAME(rng))

    def moved_in(self, rng: random.Random, head: Member, year_built: int) -> date:
        """When the household came: the old workers when their building was new, renters lately."""
        if head.residence == ResidenceType.FLOATING:
            return self.today - timedelta(days=rng.randint(20, 3 * 365))
        earliest = max(year_built, self.today.year - head.age + 22)
        latest = self.today.year - 1
        year = rng.randint(min(earliest, latest), latest)
        return date(year, rng.randint(1, 12), rng.randint(1, 28))

    def phone(self, rng: random.Random, age: int) -> str:
        if age < 16:
            return ""
        if age >= 80:
            x = rng.random()
            return mobile(rng) if x < 0.55 else landline(rng) if x < 0.8 else ""
        return mobile(rng) if rng.random() < 0.96 else ""

    def tags_and_care(
        self,
        rng: random.Random,
        plan: CommunityPlan,
        grid: GridInfo,
        resident_id: int,
        member: Member,
        born: date | None,
        moved_in: date,
        members: list[Member],
        elderly_only: bool,
        dibao: bool,
    ) -> None:
        """Tags at realistic rates (the 65+ tag is derived from the birth date, never stored) and, for the
        elderly living alone or without their children, a care subject with the grid worker's visits."""
        age, today = member.age, self.today
        profile = plan.profile
        tags: list[tuple[str, date | None, str]] = []

        def since(low_years: float, high_years: float) -> date:
            return today - timedelta(days=rng.randint(int(low_years * 365), int(high_years * 365)))

        def at_age(years: int) -> date | None:
            return None if born is None else born + timedelta(days=round(years * 365.25))

        care: tuple[str, int] | None = None
        if age >= 60 and len(members) == 1:
            tags.append(("living_alone", since(0.5, 8), ""))
            if rng.random() < 0.12:
                tags.append(("solitary", since(1, 10), "无配偶、无子女"))
                care = ("孤寡老人", 14)
            else:
                tags.append(("empty_nest", since(1, 10), "子女在外地工作" if rng.random() < 0.5 else ""))
                care = ("独居老人", 30)
        elif age >= 60 and elderly_only:
            tags.append(("empty_nest", since(1, 12), ""))
            if age >= 80:
                care = ("空巢高龄老人", 30)
        if dibao:
            tags.append(("dibao", since(0.3, 8), "城市居民最低生活保障"))
        if rng.random() < (0.05 if age >= 60 else 0.015):
            tags.append(("disabled", since(1, 20), rng.choice(DISABILITIES)))
        if member.sex == Sex.MALE and age >= 22 and rng.random() < (0.04 if age >= 40 else 0.02):
            tags.append(("veteran", at_age(rng.randint(21, 25)), ""))
        party = age >= 18 and rng.random() < (profile.party_elderly if age >= 65 else profile.party_adults)
        if party:
            tags.append(("party_member", at_age(rng.randint(min(22, age), min(45, age))), ""))
        if 18 <= age <= 75 and rng.random() < (0.25 if party else 0.03):
            tags.append(("volunteer", since(0.2, 9), ""))
        if age >= 40 and rng.random() < 0.01:
            tags.append(("serious_illness", since(0.2, 5), ""))
        for code, start, note in tags:
            tag_id = self.tags.get(code)
            if tag_id is None:
                continue
            if start is not None and born is not None and start < born:
                start = born
            self.tables[ResidentTag].add(
                {"resident_id": resident_id, "tag_id": tag_id, "start": start, "end": None, "note": note}
            )
        if care is not None:
            self.care(rng, grid, resident_id, care[0], care[1], moved_in)

    def care(
        self, rng: random.Random, grid: GridInfo, resident_id: int, reason: str, every: int, moved_in: date
    ) -> None:
        """A care subject listed months or years ago; the last visit is within its period for most, past it
        for about one in eight (the engine's warning shows); one to three visits before it."""
        today = self.today
        listed = max(moved_in, today - timedelta(days=rng.randint(45, 1000)))
        visits: list[date] = []
        if grid.worker is not None:
            overdue = rng.random() < 0.12
            gap = rng.randint(every + 2, every + 45) if overdue else rng.randint(0, every - 2)
            day = today - timedelta(days=gap)
            while day >= listed and len(visits) < 3:
                visits.append(day)
                day -= timedelta(days=max(3, every + rng.randint(-5, 5)))
        last = visits[0] if visits else None
        due = next_due(last or listed, every)
        care_id = self.tables[CareSubject].add(
            {
                "resident_id": resident_id,
                "reason": reason,
                "visit_every_days": every,
                "worker_id": grid.worker,
                "since": listed,
                "until": None,
                "last_visit_at": last,
                "warned_at": None,
                "note": "",
                "due_at": self.dt(due),
                "due_state": "pending",
                "claim_token": None,
                "claimed_at": None,
                "done_at": None,
                "attempts": 0,
                "last_error": "",
                **self.scope(grid.unit),
                **self.versioned(),
            }
        )
        for day in visits:
            at = timezone.make_aware(datetime.combine(day, datetime.min.time())) + timedelta(
                hours=rng.randint(9, 17), minutes=rng.randint(0, 59)
            )
            self.tables[Visit].add(
                {
                    "care_id": care_id,
                    "visited_on": day,
                    "visitor_id": grid.worker,
                    "summary": rng.choice(VISIT_SUMMARIES),
                    "photo": "",
                    "created_at": self.dt(at),
                    **self.scope(grid.unit),
                }
            )

    # ---- organisations ---------------------------------------------------------------------------------

    def organisations(self, rng: random.Random, plan: CommunityPlan, compounds: list[dict[str, Any]]) -> None:
        by_name = {c["spec"].name: c for c in compounds}
        for k, (kind, name, prefix, industry, compound_name, note) in enumerate(plan.organisations):
            compound = by_name.get(compound_name) or rng.choice(compounds)
            code = ""
            if prefix:
                serial = plan.ordinal * 1000 + k
                code = credit_code(prefix, "410104", serial)
                while code in self.credit_codes:
                    serial += 1_000_000
                    code = credit_code(prefix, "410104", serial)
                self.credit_codes.add(code)
            employees = rng.randint(*EMPLOYEES[kind])
            spec: CompoundSpec = compound["spec"]
            self.tables[Organisation].add(
                {
                    "name": name,
                    "kind": kind,
                    "credit_code": code,
                    "address": spec.address if compound_name else street_address(rng),
                    "compound_id": compound["id"] if compound_name else None,
                    "industry": industry,
                    "contact_name": self.person_name(rng),
                    "phone": landline(rng) if rng.random() < 0.6 else mobile(rng),
                    "employees": employees,
                    "is_active": True,
                    "note": note,
                    **self.scope(compound["grid"].unit),
                    **self.versioned(),
                }
            )

    # ---- helpers ---------------------------------------------------------------------------------------

    def person_name(self, rng: random.Random) -> str:
        sex = rng.choice(Sex.values)
        return str(SURNAME(rng)) + given_name(rng, self.today.year - rng.randint(28, 60), sex)

    @staticmethod
    def scope(unit: OrgUnit) -> dict[str, Any]:
        return {"org_unit_id": unit.pk, "org_path": unit.path}

    def versioned(self) -> dict[str, Any]:
        return {"version": 1, "created_at": self.stamp, "updated_at": self.stamp}


class Sink:
    """One model's rows on their way into the database: ids continuing the table's, written in chunks with
    executemany (SQLite) or COPY (PostgreSQL)."""

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        self.explicit_id = model in EXPLICIT_IDS
        self.cols = Table(model, self.explicit_id).cols
        self.next_id = (model._default_manager.aggregate(m=models.Max("id"))["m"] or 0) + 1
        refs = {"id": model} if self.explicit_id else {}
        refs.update(REFERENCES.get(model, {}))
        self.renumber = [(self.cols.index(col), target) for col, target in refs.items()]
        self.rows: list[tuple[Any, ...]] = []
        self.ids: list[int] = []
        self.written = 0

    def merge(self, rows: list[tuple[Any, ...]], offsets: dict[type[models.Model], int]) -> None:
        shifts = [(i, offsets[target]) for i, target in self.renumber]
        for row in rows:
            values = list(row)
            for i, shift in shifts:
                if values[i] is not None:
                    values[i] += shift
            self.rows.append(tuple(values))
        if self.explicit_id:
            first = self.next_id
            self.ids.extend(range(first, first + len(rows)))
            self.next_id += len(rows)

    def flush(self) -> list[int]:
        if not self.rows:
            return []
        qn = connection.ops.quote_name
        table = qn(self.model._meta.db_table)
        names = ", ".join(qn(c) for c in self.cols)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                raw = cursor.cursor  # psycopg's own cursor: COPY
                with raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in self.rows:
                        copy.write_row(row)
            else:
                placeholders = ", ".join(["%s"] * len(self.cols))
                cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({placeholders})", self.rows)
        self.written += len(self.rows)
        ids, self.rows, self.ids = self.ids, [], []
        return ids


class Writer:
    """Merges the communities' rows (renumbered after the rows already there) and writes them in chunks of
    about `CHUNK` residents, telling the search index about the new rows of each chunk."""

    def __init__(self, stdout: TextIOBase | None = None) -> None:
        self.out = stdout
        self.sinks = {m: Sink(m) for m in ORDER}
        self.started = time.perf_counter()
        self.residents = 0
        self.pending = 0
        self.next_report = 100_000

    def merge(self, result: dict[str, list[tuple[Any, ...]]]) -> None:
        offsets = {m: self.sinks[m].next_id - 1 for m in ORDER}
        for model in ORDER:
            self.sinks[model].merge(result[model._meta.label], offsets)
        made = len(result[Resident._meta.label])
        self.residents += made
        self.pending += made
        if self.pending >= CHUNK:
            self.flush()

    def flush(self) -> None:
        for model in ORDER:
            ids = self.sinks[model].flush()
            if model in INDEXED and ids:
                search_index.refresh_ids(model, ids)
        self.pending = 0
        if self.out is not None and self.residents >= self.next_report:
            self.next_report += 100_000
            self.out.write(
                _("居民 %(done)s 人，已用 %(s).0f 秒")
                % {"done": f"{self.residents:,}", "s": time.perf_counter() - self.started}
                + "\n"
            )

    def finish(self) -> dict[str, int]:
        self.flush()
        written = {m._meta.model_name or "": self.sinks[m].written for m in ORDER}
        if written.get("resident", 0) >= ANALYZE_AFTER:
            with connection.cursor() as cursor:
                for model in ORDER:
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for sql in connection.ops.sequence_reset_sql(no_style(), EXPLICIT_IDS):
                    cursor.execute(sql)
        return written


def communities_with_people() -> set[str]:
    """The paths of communities that already hold compounds or residents (left as they are)."""
    step = OrgUnit.steplen
    paths: set[str] = set()
    for model in (Compound, Resident):
        for path in model.objects.order_by().values_list("org_path", flat=True).distinct():
            paths.add(path[: 3 * step])  # district / sub-district / community
    return paths


#: Generation moves to worker processes when a run makes at least this many residents (and the machine has
#: more than one core): the main process writes while the workers encrypt and compose.
PARALLEL_AFTER = 50_000
#: Communities generated ahead of the writer at most (bounds the memory the workers' results take).
AHEAD = 4

_CONTEXT: Context | None = None  # the workers' copy (inherited when they are forked)


def _generate(plan: CommunityPlan) -> dict[str, list[tuple[Any, ...]]]:
    assert _CONTEXT is not None
    return Community(_CONTEXT, plan).generate()


def worker_count(residents: int) -> int:
    cores = os.cpu_count() or 1
    if residents < PARALLEL_AFTER or cores < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return 0
    return min(4, cores - 1)


def _generated(plans: list[CommunityPlan], workers: int) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
    """Each plan's rows, in order: here, or from `workers` forked processes (a few communities ahead)."""
    if not workers:
        yield from (_generate(plan) for plan in plans)
        return
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        queue = iter(plans)
        running = deque(pool.apply_async(_generate, (plan,)) for plan in itertools.islice(queue, AHEAD))
        while running:
            result = running.popleft().get()
            following = next(queue, None)
            if following is not None:
                running.append(pool.apply_async(_generate, (following,)))
            yield result


def build(
    scale: int,
    *,
    stdout: TextIOBase | None = None,
    today: date | None = None,
    now: datetime | None = None,
    workers: int | None = None,
) -> BuildResult:
    """Generate the people and places of every demo community at `scale` that has none yet. Call inside a
    transaction (the demo's). `workers`: generation processes (None: by size and cores, 0: none)."""
    global _CONTEXT
    started = time.perf_counter()
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    plans = plan_communities(scale)
    done = communities_with_people()
    todo = [p for p in plans if p.unit.path[: 3 * OrgUnit.steplen] not in done]
    if not todo:
        return BuildResult({}, 0, len(plans), time.perf_counter() - started)
    _CONTEXT = Context.load(today, now)
    if workers is None:
        workers = worker_count(round(sum(p.households for p in todo) * 2.6))
    writer = Writer(stdout)
    try:
        for rows in _generated(todo, workers):
            writer.merge(rows)
    finally:
        _CONTEXT = None
    created = writer.finish()
    return BuildResult(created, len(todo), len(plans) - len(todo), time.perf_counter() - started, workers)
