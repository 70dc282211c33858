"""Import of residents (with their households and places) and of organisations from the sheets offices keep
(台账): .xlsx, .xls, .ods or .csv, the header row anywhere in the first rows (title rows, merged two-row
headers), columns recognised by the names they go by (and corrected on the mapping screen), values as people
type them.

    analyse(path, kind)                  → Analysis: header row, headers, {column: field}, rows, a sample
    run(path, unit=…, actor=…, …)        → ImportResult: created / updated / unchanged / errors
    errors_workbook(path or result, …)   → .xlsx of every bad row with its original cells and the errors
    template_bytes(kind)                 → the empty template

How a run goes. The sheet is streamed (`core.sheets.SheetRows`), never held as Python lists, in chunks of
`CHUNK_ROWS` rows:

1. *Prepare* (no database): each row's cells become checked values: the identity number parsed (check digit,
   birth date, region; a number Excel stored as a number is refused with a message that says so), its blind
   index and mask (and, for a commit, its ciphertext: as `personal.identity_columns` makes them), the phone
   through `personal.phone_columns`, the name's pinyin, dates as people write them, the choices (与户主关系,
   人口类型, 类型) and tags matched, a 出生日期 or 性别 column checked against the number. For a large file
   (`PARALLEL_MIN_ROWS`) on a machine with more than one core this runs in worker processes forked for the
   run, a few chunks ahead of the database stage, which keeps the chunks in order.
2. *Match* (one query per chunk for the residents; places and households once per community): duplicates
   within the file (the later row is the error, naming the first), the chunk's stored residents by blind
   index (one outside the target unit is an error that names no one), places and households by name within
   the community (made on the fly), and each row created, updated (a field differs: masks and indexes are
   compared, never ciphertexts, whose nonces differ) or unchanged. A blank cell keeps the stored value:
   ledgers hold different columns, and a blank means "not recorded here", not "erase".
3. *Write* (a commit, while no row has failed): new rows with primary keys taken beforehand (SQLite: after
   the table's largest id, under the write lock the transaction holds; PostgreSQL: from the sequence), one
   `executemany` (SQLite) or COPY (PostgreSQL) per table and chunk; changed rows with version + 1 and their
   personal data encrypted again (executemany on SQLite; on PostgreSQL COPY into a temporary table and one
   UPDATE … FROM), their history rows in bulk; the search index told by id.

A commit runs in one transaction: a row with an error, or a crash anywhere, and nothing of the file stays (the
rows written before the first error are rolled back with the rest; the remaining rows are still checked so
that every error is reported). A dry run writes nothing. A commit writes one "people.import" audit event with
the file's name, SHA-256 and counts; created rows are covered by it, updated residents and organisations also
get a history row each (django-simple-history's table, written in bulk).
"""

from __future__ import annotations

import gc
import hashlib
import io
import multiprocessing
import os
import pickle
import re
import tempfile
from array import array
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import chain, islice
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiedao.audit.services import record_event
from jiedao.core.models import OrgUnit, User
from jiedao.core.models.scope import under_path
from jiedao.core.permissions import can
from jiedao.core.privacy import encrypt, mask_id_number
from jiedao.core.sheets import (
    HEADER_SEARCH_ROWS,
    SheetFileError,
    SheetRows,
    cell_text,
    find_header,
    header_names,
    iter_body_rows,
    parse_date,
    write_rows,
)
from jiedao.core.stage import copy_into_stage
from jiedao.people import personal
from jiedao.people.identity import IdNumberError, parse_id_number
from jiedao.people.models import (
    ID_CONTEXT,
    Building,
    Compound,
    Dwelling,
    Entrance,
    Household,
    ImportKind,
    Organisation,
    OrganisationKind,
    Relation,
    ResidenceType,
    Resident,
    ResidentTag,
    Sex,
    Tag,
    standard_address,
)
from jiedao.people.services import check_credit_code
from jiedao.search import index as search_index

#: Rows prepared, matched and written together.
CHUNK_ROWS = 2000
#: Errors kept in a result (the count and the error workbook cover every one).
ERROR_LIMIT = 1000
#: From this many rows on, rows are prepared in worker processes (when the machine has more than one core).
PARALLEL_MIN_ROWS = 20_000
#: Chunks handed to the workers ahead of the database stage, per worker.
CHUNKS_AHEAD = 2
#: Primary keys taken from a PostgreSQL sequence at a time.
ID_BLOCK = 1000
#: Places (as rows write them) remembered as found; rows of one dwelling come one after another.
PLACES_KEPT = 20_000
#: SQLite's page cache during a commit, in KiB (the connection's own setting is restored afterwards).
SQLITE_CACHE_KB = 64 * 1024
SAMPLE_ROWS = 10
UNIT_KINDS = (OrgUnit.Kind.COMMUNITY, OrgUnit.Kind.VILLAGE, OrgUnit.Kind.GRID)


# ---------------------------------------------------------------------------------------------------------
# The columns


@dataclass(frozen=True)
class Field:
    """One thing a sheet can give: `label` names it on the template and the mapping screen; `synonyms` are the
    header names it is recognised by (compared as `core.sheets.header_key` gives them)."""

    name: str
    label: str | Promise
    synonyms: tuple[str, ...]
    required: bool = False
    in_template: bool = True


RESIDENT_FIELDS: tuple[Field, ...] = (
    Field("name", gettext_lazy("姓名"), ("姓名", "名字", "居民姓名", "人员姓名"), required=True),
    Field(
        "id_number",
        gettext_lazy("身份证号"),
        ("身份证号", "身份证号码", "公民身份号码", "公民身份证号码", "证件号码", "证件号", "身份证"),
        required=True,
    ),
    Field(
        "phone",
        gettext_lazy("联系电话"),
        ("联系电话", "手机", "手机号", "手机号码", "电话", "电话号码", "联系方式"),
    ),
    Field("sex", gettext_lazy("性别"), ("性别",), in_template=False),
    Field(
        "birth_date",
        gettext_lazy("出生日期"),
        ("出生日期", "出生年月", "出生年月日", "生日"),
        in_template=False,
    ),
    Field("ethnicity", gettext_lazy("民族"), ("民族",)),
    Field(
        "residence_type",
        gettext_lazy("人口类型"),
        ("人口类型", "人员类型", "户籍类型", "人口类别", "居住类型"),
    ),
    Field(
        "compound",
        gettext_lazy("小区/楼院"),
        ("小区/楼院", "小区", "楼院", "小区名称", "所在小区", "楼院名称", "小区楼院"),
    ),
    Field("building", gettext_lazy("楼栋"), ("楼栋", "楼号", "楼栋号", "栋", "幢", "楼")),
    Field("entrance", gettext_lazy("单元"), ("单元", "单元号")),
    Field("room", gettext_lazy("房号"), ("房号", "户室号", "门牌号", "房间号", "室", "户室", "房屋号")),
    Field("household", gettext_lazy("户号"), ("户号", "户编号", "户口号")),
    Field("relation", gettext_lazy("与户主关系"), ("与户主关系", "与户主的关系", "关系", "家庭关系")),
    Field(
        "address",
        gettext_lazy("住址"),
        ("住址", "地址", "现住址", "居住地址", "家庭住址", "现居住地址", "详细地址", "现居住地"),
    ),
    Field("moved_in", gettext_lazy("迁入日期"), ("迁入日期", "迁入时间", "入住日期", "入住时间")),
    Field(
        "tags",
        gettext_lazy("标签"),
        ("标签", "人员标签", "人员类别", "特殊人群", "重点人群", "人群类别", "人员属性"),
    ),
    Field("grid", gettext_lazy("网格"), ("网格", "所属网格", "所在网格", "网格名称", "网格编号")),
    Field("note", gettext_lazy("备注"), ("备注", "说明")),
)

ORGANISATION_FIELDS: tuple[Field, ...] = (
    Field(
        "name",
        gettext_lazy("名称"),
        ("名称", "单位名称", "企业名称", "组织名称", "机构名称", "单位"),
        required=True,
    ),
    Field("kind", gettext_lazy("类型"), ("类型", "单位类型", "组织类型", "单位性质", "类别")),
    Field("credit_code", gettext_lazy("统一社会信用代码"), ("统一社会信用代码", "社会信用代码", "信用代码")),
    Field(
        "address",
        gettext_lazy("地址"),
        ("地址", "住所", "单位地址", "经营地址", "注册地址", "办公地址", "详细地址"),
    ),
    Field("industry", gettext_lazy("行业"), ("行业", "所属行业", "行业类别")),
    Field("contact_name", gettext_lazy("联系人"), ("联系人", "负责人")),
    Field("phone", gettext_lazy("办公电话"), ("办公电话", "联系电话", "电话", "单位电话")),
    Field("employees", gettext_lazy("从业人数"), ("从业人数", "职工人数", "员工人数", "人数")),
    Field("grid", gettext_lazy("网格"), ("网格", "所属网格", "所在网格", "网格名称", "网格编号")),
    Field("note", gettext_lazy("备注"), ("备注", "说明")),
)

KINDS: dict[str, tuple[Field, ...]] = {
    ImportKind.RESIDENTS: RESIDENT_FIELDS,
    ImportKind.ORGANISATIONS: ORGANISATION_FIELDS,
}


def fields_for(kind: str) -> tuple[Field, ...]:
    try:
        return KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown import kind {kind!r}") from None


def _synonyms(kind: str) -> dict[str, tuple[str, ...]]:
    return {f.name: f.synonyms for f in fields_for(kind)}


ETHNIC_GROUPS = frozenset(
    {
        "汉族", "蒙古族", "回族", "藏族", "维吾尔族", "苗族", "彝族", "壮族",
        "布依族", "朝鲜族", "满族", "侗族", "瑶族", "白族", "土家族", "哈尼族",
        "哈萨克族", "傣族", "黎族", "傈僳族", "佤族", "畲族", "高山族", "拉祜族",
        "水族", "东乡族", "纳西族", "景颇族", "柯尔克孜族", "土族", "达斡尔族", "仫佬族",
        "羌族", "布朗族", "撒拉族", "毛南族", "仡佬族", "锡伯族", "阿昌族", "普米族",
        "塔吉克族", "怒族", "乌孜别克族", "俄罗斯族", "鄂温克族", "德昂族", "保安族", "裕固族",
        "京族", "塔塔尔族", "独龙族", "鄂伦春族", "赫哲族", "门巴族", "珞巴族", "基诺族",
    }
)  # fmt: skip

# The words people write for the choices (besides the choices' own labels and codes).
RELATIONS: dict[str, str] = {
    **{w: Relation.HEAD for w in ("户主", "本人", "户主本人")},
    **{w: Relation.SPOUSE for w in ("配偶", "妻", "妻子", "夫", "丈夫", "爱人", "之妻", "之夫")},
    **{
        w: Relation.CHILD
        for w in (
            "子",
            "女",
            "子女",
            "儿子",
            "女儿",
            "长子",
            "次子",
            "三子",
            "四子",
            "长女",
            "次女",
            "三女",
            "四女",
            "独生子",
            "独生女",
            "养子",
            "养女",
            "继子",
            "继女",
            "之子",
            "之女",
        )
    },
    **{w: Relation.CHILD_IN_LAW for w in ("儿媳", "女婿", "媳妇", "儿媳妇")},
    **{
        w: Relation.PARENT
        for w in ("父亲", "母亲", "父", "母", "父母", "公公", "婆婆", "岳父", "岳母", "继父", "继母")
    },
    **{
        w: Relation.GRANDCHILD
        for w in ("孙子", "孙女", "外孙", "外孙子", "外孙女", "孙子女", "外孙子女", "曾孙", "曾孙女")
    },
    **{
        w: Relation.GRANDPARENT
        for w in ("祖父", "祖母", "外祖父", "外祖母", "爷爷", "奶奶", "姥爷", "姥姥", "外公", "外婆")
    },
    **{
        w: Relation.SIBLING
        for w in ("兄", "弟", "姐", "妹", "哥哥", "弟弟", "姐姐", "妹妹", "兄弟", "姐妹", "兄弟姐妹")
    },
    **{w: Relation.OTHER for w in ("其他", "其它", "亲属", "其他亲属", "非亲属", "保姆", "租户")},
}
RESIDENCE_TYPES: dict[str, str] = {
    **{w: ResidenceType.REGISTERED for w in ("户籍", "户籍人口", "本地", "本地户籍", "户籍居民")},
    **{w: ResidenceType.HABITUAL for w in ("常住", "常住人口", "人户分离", "寄住")},
    **{w: ResidenceType.FLOATING for w in ("流动", "流动人口", "外来", "外来人口", "暂住", "暂住人口")},
}
SEXES: dict[str, str] = {
    **{w: Sex.MALE for w in ("男", "男性", "m", "male")},
    **{w: Sex.FEMALE for w in ("女", "女性", "f", "female")},
}
ORGANISATION_KINDS: dict[str, str] = {
    **{
        w: OrganisationKind.INSTITUTION
        for w in ("驻区单位", "机关", "机关单位", "事业单位", "机关事业单位", "学校", "医院")
    },
    **{
        w: OrganisationKind.ENTERPRISE
        for w in ("企业", "公司", "国有企业", "国企", "民营企业", "私营企业", "外资企业")
    },
    **{w: OrganisationKind.SOCIAL for w in ("社会组织", "社团", "民办非企业", "民非", "基金会", "协会")},
    **{w: OrganisationKind.INDIVIDUAL for w in ("个体工商户", "个体户", "个体")},
}


def _choice_words(words: dict[str, str], choices: type[models.TextChoices]) -> dict[str, str]:
    """The words above plus each choice's code and label (labels in Chinese: the source language)."""
    table = dict(words)
    for value, label in zip(choices.values, choices.labels, strict=True):
        table.setdefault(str(value).lower(), str(value))
        table.setdefault(_label_source(label), str(value))
    return table


def _label_source(label: Any) -> str:
    """The Chinese text of a lazy label (its msgid), whatever language is active."""
    args = getattr(label, "_args", None)
    return str(args[0]) if args else str(label)


# ---------------------------------------------------------------------------------------------------------
# Results


class RowError(NamedTuple):
    row: int  # the row number as the spreadsheet shows it
    column: str  # the column's header as written in the file ("" for the row as a whole)
    message: str

    def __str__(self) -> str:
        where = f"{self.column}：" if self.column else ""
        return _("第 %(row)s 行 %(where)s%(message)s") % {
            "row": self.row,
            "where": where,
            "message": self.message,
        }


@dataclass
class Analysis:
    kind: str
    header_row: int  # the header's row number as the spreadsheet shows it
    headers: list[str]  # each column's header as written
    mapping: dict[int, str]  # column index → field name, recognised from the headers
    total: int  # data rows (non-blank rows below the header); an estimate when not counted
    sample: list[list[str]]  # the first data rows as text
    counted: bool = True

    @property
    def missing(self) -> list[Field]:
        """Required fields no column was recognised for."""
        mapped = set(self.mapping.values())
        return [f for f in fields_for(self.kind) if f.required and f.name not in mapped]


@dataclass
class ImportResult:
    kind: str
    path: str
    unit_id: int
    header_row: int
    headers: list[str]
    mapping: dict[int, str]
    committed: bool = False
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    error_count: int = 0  # rows with at least one error
    errors: list[RowError] = field(default_factory=list)  # the first `error_limit` errors
    places: dict[str, int] = field(default_factory=dict)  # compounds, buildings … made (or to be made)
    sha256: str = ""
    filename: str = ""
    estimate: int = 0  # data rows the sheet's size suggests (before they are read)

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def counts(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.error_count,
            **({"places": dict(self.places)} if self.places else {}),
        }


class _Failure(NamedTuple):
    row: int
    errors: tuple[tuple[str, str], ...]  # (field, message)


class ResidentRow(NamedTuple):
    """A prepared resident row; None means "not in the sheet or blank": the stored value stays."""

    row: int
    key: int  # the identity number's first 17 digits: duplicates within the file
    id_index: str
    id_token: str
    id_mask: str
    birth_date: date
    sex: str
    name: str
    name_pinyin: str
    phone: tuple[str, str, str] | None  # (token, index, mask)
    relation: str | None
    residence_type: str | None
    ethnicity: str | None
    address: str | None
    moved_in: date | None
    note: str | None
    unit_id: int | None  # the grid named in the row
    place: tuple[str, str, str, str] | None  # compound, building, entrance, room
    household: str | None
    tags: tuple[int, ...]


class OrganisationRow(NamedTuple):
    row: int
    name: str
    kind: str
    credit_code: str
    address: str | None
    industry: str | None
    contact_name: str | None
    phone: str | None
    employees: int | None
    note: str | None
    unit_id: int | None


# ---------------------------------------------------------------------------------------------------------
# Reading the sheet


@dataclass
class _Sheet:
    rows: _Rest
    header_index: int
    headers: list[str]
    mapping: dict[int, str]
    head: list[list[Any]]  # the first rows, read to find the header

    def body(self) -> Iterator[tuple[int, list[Any]]]:
        """The data rows, streamed; a row with nothing in the mapped columns counts as blank."""
        columns = sorted(self.mapping) or None
        yield from iter_body_rows(chain(self.head, self.rows), self.header_index, len(self.headers), columns)

    @property
    def estimate(self) -> int:
        return max(0, self.rows.size - self.header_index - 1)


def _open(path: Path | str, kind: str, name: str = "") -> _Sheet:
    rows = SheetRows(path, name)
    try:
        iterator = iter(rows)
        head = [list(r) for r in islice(iterator, HEADER_SEARCH_ROWS)]
        found = find_header(head, _synonyms(kind), min_matches=2)
        if found is None:
            labels = "、".join(str(f.label) for f in fields_for(kind) if f.required)
            raise SheetFileError(
                _("前 %(n)d 行中找不到表头（应有“%(labels)s”等列名），请检查是否选对了文件和导入内容。")
                % {"n": HEADER_SEARCH_ROWS, "labels": labels}
            )
        index, columns = found
        headers = header_names(head, index)
        mapping = {col: name for name, col in columns.items()}
        return _Sheet(_Rest(iterator, rows), index, headers, mapping, head)
    except BaseException:
        rows.close()
        raise


class _Rest:
    """The rows after the first ones already read, with the stream's size and close."""

    def __init__(self, iterator: Iterator[list[Any]], rows: SheetRows) -> None:
        self._iterator = iterator
        self._rows = rows
        self.size = rows.size

    def __iter__(self) -> Iterator[list[Any]]:
        return self._iterator

    def close(self) -> None:
        self._rows.close()


def analyse(
    path: Path | str, kind: str = ImportKind.RESIDENTS, *, count: bool = True, name: str = ""
) -> Analysis:
    """The header row, its columns and the fields recognised for them, the number of data rows (`count`:
    read to the end; otherwise estimated from the sheet's size) and the first rows. SheetFileError when the
    file cannot be read or has no recognisable header."""
    fields_for(kind)
    sheet = _open(path, kind, name)
    try:
        sample: list[list[str]] = []
        total = 0
        for _number, cells in sheet.body():
            if len(sample) < SAMPLE_ROWS:
                sample.append([_display(c) for c in cells])
            elif not count:
                break
            total += 1
        if not count:
            total = max(total, sheet.estimate)
        return Analysis(kind, sheet.header_index + 1, sheet.headers, sheet.mapping, total, sample, count)
    finally:
        sheet.rows.close()


def _display(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") if value.time() else value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    return cell_text(value)


def check_mapping(kind: str, mapping: dict[Any, Any], width: int | None = None) -> dict[int, str]:
    """The mapping with integer columns and known fields, each field once, every required field present;
    SheetFileError (a sentence for the person who chose the columns) otherwise."""
    fields = {f.name: f for f in fields_for(kind)}
    result: dict[int, str] = {}
    seen: dict[str, int] = {}
    for raw_col, raw_field in mapping.items():
        name = str(raw_field or "")
        if not name:
            continue
        try:
            col = int(raw_col)
        except (TypeError, ValueError):
            raise SheetFileError(_("列的对应关系无效。")) from None
        if name not in fields or col < 0 or (width is not None and col >= width):
            raise SheetFileError(_("列的对应关系无效。"))
        if name in seen:
            raise SheetFileError(
                _("“%(field)s”只能对应一列（第 %(a)d 列和第 %(b)d 列都选了它）。")
                % {"field": fields[name].label, "a": seen[name] + 1, "b": col + 1}
            )
        seen[name] = col
        result[col] = name
    missing = [str(f.label) for f in fields.values() if f.required and f.name not in seen]
    if missing:
        raise SheetFileError(_("缺少必需的列：%(fields)s。") % {"fields": "、".join(missing)})
    return dict(sorted(result.items()))


# ---------------------------------------------------------------------------------------------------------
# Preparing rows (no database: runs in worker processes for large files)


@dataclass(frozen=True)
class _Plan:
    """What turning a row into values needs; plain data, handed to the worker processes once."""

    kind: str
    columns: dict[str, int]  # field → column index
    seal: bool  # encrypt (a commit) or only index and mask (a dry run)
    today: date
    units: dict[str, int]  # names, short names and codes of the target unit and its grids → unit id
    unit_name: str
    tags: dict[str, int]  # tag names and codes → id
    derived_tags: frozenset[str]
    tag_names: str  # for the message about an unknown tag


_CJK_SPACE = re.compile(r"(?<=[\u3400-\u9fff\uf900-\ufaff])\s+(?=[\u3400-\u9fff\uf900-\ufaff])")
_TAG_SPLIT = re.compile(r"[,，、;；/|\s]+")
_BUILDING = re.compile(r"^(\d+)(?:号楼|号|栋|幢|楼|#)?$")
_ENTRANCE = re.compile(r"^(\d+)(?:单元)?$")
_ROOM = re.compile(r"^(\d+)(?:室|号)?$")
_INTEGER = re.compile(r"^\d+$")


def clean_name(text: str) -> str:
    """Spaces collapsed; none between two Chinese characters (王 秀 英 and the padded 王　英 of aligned
    ledgers are 王秀英 and 王英); kept between Latin words."""
    text = " ".join(text.split())
    return _CJK_SPACE.sub("", text) if " " in text else text


def building_name(text: str) -> str:
    """3, 3号, 3栋, 3幢, 3# → 3号楼; anything else as written."""
    match = _BUILDING.match(text)
    return f"{int(match.group(1))}号楼" if match else text


def entrance_name(text: str) -> str:
    match = _ENTRANCE.match(text)
    return f"{int(match.group(1))}单元" if match else text


def ethnicity_name(text: str) -> str:
    """汉 → 汉族, 维吾尔 → 维吾尔族: the 56 groups by their full names; anything else as written."""
    return f"{text}族" if text and not text.endswith("族") and f"{text}族" in ETHNIC_GROUPS else text


def room_number(text: str) -> str:
    match = _ROOM.match(text)
    return match.group(1) if match else text


def _prepare(plan: _Plan, rows: list[tuple[int, list[Any]]]) -> list[Any]:
    if plan.kind == ImportKind.ORGANISATIONS:
        return [_prepare_organisation(plan, number, cells) for number, cells in rows]
    return _prepare_residents(plan, rows)


def _prepare_residents(plan: _Plan, rows: list[tuple[int, list[Any]]]) -> list[ResidentRow | _Failure]:
    c = plan.columns
    i_name, i_id, i_phone = c.get("name"), c.get("id_number"), c.get("phone")
    i_sex, i_birth, i_ethnicity = c.get("sex"), c.get("birth_date"), c.get("ethnicity")
    i_type, i_relation, i_address = c.get("residence_type"), c.get("relation"), c.get("address")
    i_moved, i_tags, i_grid, i_note = c.get("moved_in"), c.get("tags"), c.get("grid"), c.get("note")
    i_compound, i_building = c.get("compound"), c.get("building")
    i_entrance, i_room, i_household = c.get("entrance"), c.get("room"), c.get("household")
    relations = _choice_words(RELATIONS, Relation)
    types = _choice_words(RESIDENCE_TYPES, ResidenceType)
    seal, today = plan.seal, plan.today
    out: list[ResidentRow | _Failure] = []
    for number, cells in rows:
        errors: list[tuple[str, str]] = []

        def text(index: int | None, cells: list[Any] = cells) -> str:
            return "" if index is None else cell_text(cells[index])

        name = clean_name(text(i_name))
        if not name:
            errors.append(("name", _("请填写姓名。")))
        elif len(name) > 60:
            errors.append(("name", _("姓名超过 60 个字。")))

        raw_id = cells[i_id] if i_id is not None else ""
        parsed = None
        if raw_id is None or (isinstance(raw_id, str) and not raw_id.strip()):
            errors.append(
                ("id_number", _("请填写身份证号：导入按身份证号识别居民，没有身份证号的行无法导入。"))
            )
        else:
            try:
                parsed = parse_id_number(raw_id, today)
            except IdNumberError as exc:
                errors.append(("id_number", str(exc)))

        phone = None
        if i_phone is not None and (raw_phone := cells[i_phone]) not in (None, ""):
            try:
                columns = personal.phone_columns(raw_phone)
                phone = (columns.phone_token if seal else "", columns.phone_index, columns.phone_mask)
            except personal.PhoneError as exc:
                errors.append(("phone", str(exc)))

        if parsed is not None:
            if sex_text := text(i_sex).lower():
                sex = SEXES.get(sex_text)
                if sex is None:
                    errors.append(("sex", _("性别应为“男”或“女”。")))
                elif sex != parsed.sex:
                    errors.append(("sex", _("性别与身份证号不符，请核对身份证号。")))
            if i_birth is not None and cells[i_birth] not in (None, ""):
                born = parse_day(cells[i_birth], today)
                year = _year_only(cells[i_birth], today)
                if year is not None:  # 出生年份 written alone: the year is what can be compared
                    if year != parsed.birth_date.year:
                        message = _("出生年份 %(given)s 与身份证号中的 %(id)s 不符，请核对身份证号。")
                        errors.append(("birth_date", message % {"given": year, "id": parsed.birth_date.year}))
                elif born is None:
                    errors.append(("birth_date", _date_message(cells[i_birth])))
                elif (born.year, born.month) != (parsed.birth_date.year, parsed.birth_date.month):
                    errors.append(
                        (
                            "birth_date",
                            _("出生日期 %(given)s 与身份证号中的 %(id)s 不符，请核对身份证号。")
                            % {"given": f"{born:%Y-%m}", "id": f"{parsed.birth_date:%Y-%m}"},
                        )
                    )

        relation = None
        if relation_text := text(i_relation):
            relation = relations.get(relation_text.lower())
            if relation is None:
                errors.append(
                    (
                        "relation",
                        _("与户主关系“%(v)s”无法识别，请填写户主、配偶、子女、父母、孙子女、兄弟姐妹等。")
                        % {"v": relation_text},
                    )
                )
        residence_type = None
        if type_text := text(i_type):
            residence_type = types.get(type_text.lower())
            if residence_type is None:
                errors.append(
                    (
                        "residence_type",
                        _("人口类型“%(v)s”无法识别，请填写户籍、常住或流动。") % {"v": type_text},
                    )
                )

        ethnicity = ethnicity_name(text(i_ethnicity)) or None
        if ethnicity is not None and len(ethnicity) > 20:
            errors.append(("ethnicity", _("民族超过 20 个字。")))
        address = text(i_address) or None
        if address is not None and len(address) > 200:
            errors.append(("address", _("住址超过 200 个字。")))
        note = text(i_note) or None

        moved_in = None
        if i_moved is not None and cells[i_moved] not in (None, ""):
            moved_in = parse_day(cells[i_moved], today)
            if moved_in is None:
                errors.append(("moved_in", _date_message(cells[i_moved])))
            elif moved_in > today:
                errors.append(("moved_in", _("迁入日期 %(d)s 晚于今天。") % {"d": moved_in.isoformat()}))

        tags: tuple[int, ...] = ()
        if tags_text := text(i_tags):
            found: list[int] = []
            for word in _TAG_SPLIT.split(tags_text):
                if not word or word in plan.derived_tags:
                    continue
                tag_id = plan.tags.get(word) or plan.tags.get(word.lower())
                if tag_id is None:
                    errors.append(
                        (
                            "tags",
                            _("标签“%(t)s”不存在，可用的标签：%(names)s。")
                            % {"t": word, "names": plan.tag_names},
                        )
                    )
                elif tag_id not in found:
                    found.append(tag_id)
            tags = tuple(found)

        unit_id = None
        if grid_text := text(i_grid):
            unit_id = plan.units.get(grid_text) or plan.units.get(clean_name(grid_text))
            if unit_id is None:
                errors.append(
                    (
                        "grid",
                        _("网格“%(g)s”不在%(unit)s内，请填写其中网格的名称或编号。")
                        % {"g": grid_text, "unit": plan.unit_name},
                    )
                )

        place = None
        compound, building = text(i_compound), building_name(text(i_building))
        entrance, room = entrance_name(text(i_entrance)), room_number(text(i_room))
        if compound or building or entrance or room:
            if not compound:
                errors.append(("compound", _("填写了楼栋、单元或房号时，请同时填写小区/楼院。")))
            elif (entrance or room) and not building:
                errors.append(("building", _("填写了单元或房号时，请同时填写楼栋。")))
            for field_name, value, limit in (
                ("compound", compound, 100),
                ("building", building, 40),
                ("entrance", entrance, 20),
                ("room", room, 20),
            ):
                if len(value) > limit:
                    errors.append((field_name, _("超过 %(n)d 个字。") % {"n": limit}))
            place = (compound, building, entrance, room)
        household = text(i_household) or None
        if household is not None and len(household) > 40:
            errors.append(("household", _("户号超过 40 个字。")))

        if errors or parsed is None:
            out.append(_Failure(number, tuple(errors)))
            continue
        # As personal.identity_columns composes them (its parse is the one above: parsed once, not twice).
        id_number = parsed.number
        out.append(
            ResidentRow(
                row=number,
                key=int(id_number[:17]),
                id_index=personal.id_lookup(id_number),
                id_token=encrypt(id_number, ID_CONTEXT) if seal else "",
                id_mask=mask_id_number(id_number),
                birth_date=parsed.birth_date,
                sex=parsed.sex,
                name=name,
                name_pinyin=personal.name_pinyin(name) if seal else "",
                phone=phone,
                relation=relation,
                residence_type=residence_type,
                ethnicity=ethnicity,
                address=address,
                moved_in=moved_in,
                note=note,
                unit_id=unit_id,
                place=place,
                household=household,
                tags=tags,
            )
        )
    return out


def parse_day(value: Any, today: date) -> date | None:
    """core.sheets.parse_date, and an Excel serial number that a CSV wrote as text with fewer than five
    digits (a date before 1927: "9676" is 1926-06-28). A number up to this year stays a year, not a date."""
    day = parse_date(value)
    if day is None and isinstance(value, str):
        text = cell_text(value)
        if text.isdigit() and len(text) <= 4 and int(text) > today.year:
            day = parse_date(float(text))
    return day


def _year_only(value: Any, today: date) -> int | None:
    """A year written alone (1953, as text or as a number), else None."""
    text = cell_text(value) if not isinstance(value, date) else ""
    if len(text) == 4 and text.isdigit() and 1880 <= int(text) <= today.year:
        return int(text)
    return None


def _date_message(value: Any) -> str:
    return _("无法识别的日期“%(v)s”，请写成 2020-05-01、2020/5/1、2020年5月 或 2020.05 这样的格式。") % {
        "v": cell_text(value)
    }


def _prepare_organisation(plan: _Plan, number: int, cells: list[Any]) -> OrganisationRow | _Failure:
    c = plan.columns

    def text(name: str) -> str | None:
        index = c.get(name)
        return None if index is None else cell_text(cells[index])

    errors: list[tuple[str, str]] = []
    name = " ".join((text("name") or "").split())
    if not name:
        errors.append(("name", _("请填写名称。")))
    elif len(name) > 200:
        errors.append(("name", _("名称超过 200 个字。")))
    credit_code = ""
    if raw_code := text("credit_code"):
        try:
            credit_code = check_credit_code(raw_code)
        except ValidationError as exc:
            errors.append(("credit_code", "".join(exc.message_dict.get("credit_code", exc.messages))))
    kind = ""
    if kind_text := text("kind"):
        kind = _choice_words(ORGANISATION_KINDS, OrganisationKind).get(kind_text.lower(), "")
        if not kind:
            errors.append(
                (
                    "kind",
                    _("类型“%(v)s”无法识别，请填写驻区单位、企业、社会组织或个体工商户。") % {"v": kind_text},
                )
            )
    elif credit_code:
        kind = _kind_from_credit_code(credit_code)
    else:
        errors.append(("kind", _("请填写类型（驻区单位、企业、社会组织或个体工商户）。")))
    employees = None
    if employees_text := text("employees"):
        if _INTEGER.match(employees_text):
            employees = int(employees_text)
        else:
            errors.append(("employees", _("从业人数应为整数。")))
    unit_id = None
    if grid_text := text("grid"):
        unit_id = plan.units.get(grid_text)
        if unit_id is None:
            errors.append(
                (
                    "grid",
                    _("网格“%(g)s”不在%(unit)s内，请填写其中网格的名称或编号。")
                    % {"g": grid_text, "unit": plan.unit_name},
                )
            )
    values: dict[str, str | None] = {}
    for name_, limit in (("address", 200), ("industry", 60), ("contact_name", 40), ("phone", 40)):
        value = text(name_) or None
        if value is not None and len(value) > limit:
            errors.append((name_, _("超过 %(n)d 个字。") % {"n": limit}))
        values[name_] = value
    if errors:
        return _Failure(number, tuple(errors))
    return OrganisationRow(
        number,
        name,
        kind,
        credit_code,
        values["address"],
        values["industry"],
        values["contact_name"],
        values["phone"],
        employees,
        text("note") or None,
        unit_id,
    )


def _kind_from_credit_code(code: str) -> str:
    """The registering authority (first character) and entity type (second) of a 统一社会信用代码."""
    if code.startswith("92"):
        return OrganisationKind.INDIVIDUAL
    return {"1": OrganisationKind.INSTITUTION, "5": OrganisationKind.SOCIAL}.get(
        code[0], OrganisationKind.ENTERPRISE
    )


# ---------------------------------------------------------------------------------------------------------
# Running the preparation: here, or in worker processes


_WORKER_PLAN: _Plan | None = None


def _init_worker(plan: _Plan) -> None:
    global _WORKER_PLAN
    _WORKER_PLAN = plan


def _prepare_in_worker(rows: list[tuple[int, list[Any]]]) -> list[Any]:
    """Prepared rows as plain tuples (pickled in half the time named tuples take); failures as they are."""
    assert _WORKER_PLAN is not None
    return [item if isinstance(item, _Failure) else tuple(item) for item in _prepare(_WORKER_PLAN, rows)]


def _noop() -> None:
    return None


def worker_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class _Preparer:
    """Prepares chunks in order: in this process, or in `workers` processes forked when the run starts
    (before its transaction opens), with `CHUNKS_AHEAD` chunks per worker in flight."""

    def __init__(self, plan: _Plan, workers: int) -> None:
        self.plan = plan
        self.pool: ProcessPoolExecutor | None = None
        if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
            self.pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_init_worker,
                initargs=(plan,),
            )
            self.pool.submit(_noop).result()  # fork now, outside any transaction
            self.ahead = workers * CHUNKS_AHEAD

    def map(
        self, chunks: Iterable[list[tuple[int, list[Any]]]]
    ) -> Iterator[tuple[list[tuple[int, list[Any]]], list[Any]]]:
        if self.pool is None:
            for chunk in chunks:
                yield chunk, _prepare(self.plan, chunk)
            return
        pending: deque[tuple[list[tuple[int, list[Any]]], Future[list[Any]]]] = deque()
        row_type = OrganisationRow if self.plan.kind == ImportKind.ORGANISATIONS else ResidentRow
        for chunk in chunks:
            pending.append((chunk, self.pool.submit(_prepare_in_worker, chunk)))
            if len(pending) >= self.ahead:
                done, future = pending.popleft()
                yield done, _named(row_type, future.result())
        while pending:
            done, future = pending.popleft()
            yield done, _named(row_type, future.result())

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


def _named(row_type: Any, items: list[Any]) -> list[Any]:
    return [item if isinstance(item, _Failure) else row_type._make(item) for item in items]


def _chunks(rows: Iterable[tuple[int, list[Any]]], size: int) -> Iterator[list[tuple[int, list[Any]]]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


# ---------------------------------------------------------------------------------------------------------
# Writing in bulk


class _Table:
    """Rows of one model written in bulk: column order, defaults, and which columns hold date-times."""

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        pk = model._meta.pk
        assert pk is not None
        self.pk = str(pk.attname)
        fields = [f for f in model._meta.concrete_fields if not (f.primary_key and f.attname != "id")]
        self.columns = [str(f.attname) for f in fields]
        self.db_columns = {str(f.attname): str(f.column) for f in fields}
        self.datetimes = {str(f.attname) for f in fields if isinstance(f, models.DateTimeField)}
        self.defaults: dict[str, Any] = {}
        for f in fields:
            if f.has_default():
                self.defaults[f.attname] = f.get_default()
            elif f.null:
                self.defaults[f.attname] = None
            elif isinstance(f, models.CharField | models.TextField):
                self.defaults[f.attname] = ""
        self.table = connection.ops.quote_name(model._meta.db_table)


class _Writer:
    """Bulk statements on the default connection: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self) -> None:
        self.postgres = connection.vendor == "postgresql"
        self.tables: dict[type[models.Model], _Table] = {}
        self.next_id: dict[type[models.Model], int] = {}
        self.id_blocks: dict[type[models.Model], deque[int]] = {}

    def table(self, model: type[models.Model]) -> _Table:
        if model not in self.tables:
            self.tables[model] = _Table(model)
        return self.tables[model]

    def stamp(self, moment: datetime | None) -> Any:
        """A date-time as the database takes it in a raw statement (SQLite: UTC text, as Django writes it)."""
        if moment is None or self.postgres:
            return moment
        return connection.ops.adapt_datetimefield_value(moment)

    def allocate(self, model: type[models.Model], n: int) -> list[int] | range:
        """`n` new primary keys. SQLite: after the largest id ever used (the import's transaction holds the
        write lock, so no one else takes them). PostgreSQL: from the table's sequence, taken `ID_BLOCK` at a
        time (a block's unused ids are a gap, as a rolled-back insert leaves)."""
        if n <= 0:
            return []
        if self.postgres:
            block = self.id_blocks.setdefault(model, deque())
            if len(block) < n:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                        [connection.ops.quote_name(model._meta.db_table), max(n - len(block), ID_BLOCK)],
                    )
                    block.extend(int(r[0]) for r in cursor.fetchall())
            return [block.popleft() for _ in range(n)]
        if model not in self.next_id:
            table = model._meta.db_table
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}")
                largest = int(cursor.fetchone()[0])
                cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
                found = cursor.fetchone()
            self.next_id[model] = max(largest, int(found[0]) if found else 0) + 1
        first = self.next_id[model]
        self.next_id[model] = first + n
        return range(first, first + n)

    def insert(self, model: type[models.Model], rows: list[dict[str, Any]], with_id: bool = True) -> None:
        """INSERT the rows (dicts by attname; missing columns take the field's default; date-times already as
        `stamp` gives them). `with_id` False: the database numbers them."""
        if not rows:
            return
        table = self.table(model)
        columns = table.columns if with_id or table.pk != "id" else [c for c in table.columns if c != "id"]
        defaults = table.defaults
        getter = itemgetter(*columns)
        values = [getter(defaults | r) for r in rows]
        qn = connection.ops.quote_name
        names = ", ".join(qn(table.db_columns[c]) for c in columns)
        with connection.cursor() as cursor:
            if self.postgres:
                with cursor.cursor.copy(f"COPY {table.table} ({names}) FROM STDIN") as copy:
                    for row in values:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(columns))
                cursor.executemany(f"INSERT INTO {table.table} ({names}) VALUES ({marks})", values)

    def update(self, model: type[models.Model], columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        """UPDATE … SET each column (by attname) WHERE id = the row's last value; a "version" is bumped.
        SQLite: executemany. PostgreSQL: COPY into a temporary table, then one UPDATE … FROM it (executemany
        makes one round trip a row there)."""
        if not rows:
            return
        table = self.table(model)
        qn = connection.ops.quote_name
        names = [qn(table.db_columns[c]) for c in columns]
        bump = f", {qn('version')} = t.{qn('version')} + 1" if "version" in table.columns else ""
        with connection.cursor() as cursor:
            if not self.postgres:
                sets = ", ".join(f"{n} = %s" for n in names) + bump.replace("t.", "")
                cursor.executemany(f"UPDATE {table.table} SET {sets} WHERE id = %s", rows)
                return
            temp = qn(f"import_{model._meta.db_table}_{len(columns)}")
            copy_into_stage(cursor, temp, table.table, [*names, "id"], rows)
            sets = ", ".join(f"{n} = s.{n}" for n in names)
            cursor.execute(f"UPDATE {table.table} AS t SET {sets}{bump} FROM {temp} AS s WHERE t.id = s.id")


def _history_rows(
    model: type[models.Model], states: list[dict[str, Any]], actor: User | None, moment: Any, reason: str
) -> list[dict[str, Any]]:
    """Rows of the model's django-simple-history table for these changed records ("~" entries); `moment`
    and the states' date-times as the writer's `stamp` gives them."""
    history = model.history.model  # type: ignore[attr-defined]
    user_id = actor.pk if actor is not None else None
    fields = [f.attname for f in history._meta.concrete_fields if f.attname != "history_id"]
    rows = []
    for state in states:
        row: dict[str, Any] = {}
        for name in fields:
            if name == "history_date":
                row[name] = moment
            elif name == "history_change_reason":
                row[name] = reason
            elif name == "history_type":
                row[name] = "~"
            elif name == "history_user_id":
                row[name] = user_id
            else:
                row[name] = state[name]
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------------------
# Matching and writing: residents with their places and households


_Place = tuple[int | None, str, int | None]  # dwelling (or None), address, the dwelling's unit


def _signed_key(pk: int) -> int:
    """A positive table key for a row id (negative ids stand for rows a dry run would make)."""
    return pk * 2 if pk > 0 else -pk * 2 + 1


class _IntTable:
    """A map of 64-bit integers for the run's largest maps (a million rows' identity numbers, hundreds of
    thousands of households): open addressing in two arrays, about 32 bytes an entry where a dict of Python
    ints takes over 100. Keys are positive; 0 is no value."""

    def __init__(self, capacity: int = 1 << 16) -> None:
        self.keys = array("q", bytes(8 * capacity))
        self.values = array("q", bytes(8 * capacity))
        self.count = 0

    @classmethod
    def for_rows(cls, rows: int) -> _IntTable:
        """Sized for about `rows` keys without growing."""
        capacity = 1 << 16
        while capacity < 2 * rows + 2:
            capacity *= 2
        return cls(capacity)

    def _slot(self, key: int) -> int:
        """The slot holding `key`, or the empty slot where it would go."""
        keys, mask = self.keys, len(self.keys) - 1
        mixed = key ^ (key >> 29)
        slot = ((mixed * 0xBF58476D1CE4E5B9) >> 32) & mask
        while True:
            found = keys[slot]
            if found == key or found == 0:
                return slot
            slot = (slot + 1) & mask

    def get(self, key: int) -> int:
        slot = self._slot(key)
        return int(self.values[slot]) if self.keys[slot] == key else 0

    def set(self, key: int, value: int) -> None:
        slot = self._slot(key)
        self.values[slot] = value
        if self.keys[slot] != key:
            self.keys[slot] = key
            self.count += 1
            if self.count * 2 > len(self.keys):
                self._grow()

    def first(self, key: int, value: int) -> int:
        """The value `key` was first given: `value` when the key is new (and then kept)."""
        slot = self._slot(key)
        if self.keys[slot] == key:
            return int(self.values[slot])
        self.set(key, value)
        return value

    def _grow(self) -> None:
        old_keys, old_values = self.keys, self.values
        self.keys = array("q", bytes(16 * len(old_keys)))
        self.values = array("q", bytes(16 * len(old_keys)))
        self.count = 0
        for slot, key in enumerate(old_keys):
            if key:
                self.set(key, old_values[slot])


class _KeyMap:
    """A map of string keys to ids for the run's large string-keyed maps (household numbers, dwellings): a
    key given as a positive integer (`_number_key`, `_dwelling_key`) goes into an `_IntTable`, any other into
    a dict. 0 is no value."""

    def __init__(self) -> None:
        self.ints = _IntTable()
        self.others: dict[str, int] = {}

    def get(self, key: int | str) -> int:
        return self.ints.get(key) if isinstance(key, int) else self.others.get(key, 0)

    def set(self, key: int | str, value: int) -> None:
        if isinstance(key, int):
            self.ints.set(key, value)
        else:
            self.others[key] = value

    def first(self, key: int | str, value: int) -> int:
        if isinstance(key, int):
            return self.ints.first(key, value)
        return self.others.setdefault(key, value)


def _number_key(number: str) -> int | str:
    """A household number's key: up to 17 ASCII digits as the integer of "1" + them (leading zeros count)."""
    if len(number) <= 17 and number.isascii() and number.isdigit():
        return int("1" + number)
    return number


def _dwelling_key(building_id: int, entrance_id: int, room: str) -> int | str:
    """A dwelling's key from its building, entrance (0: none) and room number: one integer when the room is up
    to six ASCII digits and the ids fit (22 + 20 + 21 bits), else the string "building/entrance/room"."""
    building, entrance = _signed_key(building_id), _signed_key(entrance_id)
    if len(room) <= 6 and room.isascii() and room.isdigit() and building < 1 << 22 and entrance < 1 << 20:
        return (building << 41) | (entrance << 21) | int("1" + room)
    return f"{building_id}/{entrance_id}/{room}"


#: A household known to have no head (in the heads table, where 0 is "not known").
NO_HEAD = -(1 << 62)


@dataclass
class _Target:
    unit: OrgUnit
    community: OrgUnit  # where places and households are looked up by name

    def within(self, path: str) -> bool:
        return path.startswith(self.unit.path)


_Failures = dict[int, list[tuple[str, str]]]


class _Store:
    """The database stage of one run: classifies each prepared row and, while `writing`, writes it."""

    def __init__(self, target: _Target, result: ImportResult, *, commit: bool, actor: User | None) -> None:
        self.target = target
        self.result = result
        self.commit = commit
        self.writing = commit
        self.actor = actor
        self.writer = _Writer()
        self.now = self.writer.stamp(timezone.now())  # as the database takes it in raw statements
        self.today = timezone.localdate()
        self.virtual = 0
        self.reason = _("导入 %(file)s") % {"file": result.filename or Path(result.path).name}
        # Paths of every unit of the community: rows go to the target unit and its grids; places made under
        # an existing compound or building go to that one's unit, anywhere in the community.
        self.paths = dict(
            OrgUnit.objects.filter(under_path("path", target.community.path)).values_list("id", "path")
        )

    def new_ids(self, model: type[models.Model], n: int) -> list[int] | range:
        """Primary keys for new rows: real ones while writing, negative stand-ins otherwise (a dry run, or
        a commit that has met an error and will be rolled back)."""
        if self.writing:
            return self.writer.allocate(model, n)
        ids = list(range(self.virtual - 1, self.virtual - 1 - n, -1))
        self.virtual -= n
        return ids

    def stop_writing(self) -> None:
        self.writing = False

    def refresh(self, model: type[models.Model], ids: list[int]) -> None:
        if ids:
            search_index.refresh_ids(model, ids)

    def process(self, prepared: list[Any]) -> _Failures:
        raise NotImplementedError


def _fail(failures: _Failures, row: int, field_name: str, message: str) -> None:
    failures.setdefault(row, []).append((field_name, message))


_State = dict[str, Any]


class _ResidentStore(_Store):
    def __init__(self, target: _Target, result: ImportResult, *, commit: bool, actor: User | None) -> None:
        super().__init__(target, result, commit=commit, actor=actor)
        self.seen = _IntTable.for_rows(result.estimate)  # identity key → the first row with it
        self.compounds: dict[str, tuple[int, int]] | None = None  # name or alias → (id, unit id)
        self.compound_names: dict[int, str] = {}
        self.loaded_compounds: set[int] = set()
        self.buildings: dict[tuple[int, str], tuple[int, int]] = {}  # (compound, name) → (id, unit id)
        self.entrances: dict[tuple[int, str], int] = {}  # (building, name) → id
        # (building, entrance or 0, number) → id (a million rows hold a quarter of a million dwellings: the
        # key is one integer, see `_dwelling_key`). A stored dwelling's address and unit are kept aside; a new
        # one's address is composed again when needed, its unit is its building's.
        self.dwellings = _KeyMap()
        self.stored_dwellings: dict[int, tuple[str, int]] = {}
        self.by_number = _KeyMap()  # household number (`_number_key`) → household
        self.by_dwelling = _IntTable()  # dwelling (_signed_key) → household
        self.households_loaded = False
        # A row's place as found last (rows of one dwelling come together; bounded by PLACES_KEPT).
        self.places: dict[tuple[str, str, str, str], _Place] = {}
        self.heads = _IntTable()  # household (_signed_key) → its head, NO_HEAD, or 0: not known yet
        self.head_rows = _IntTable()  # household (_signed_key) → the row of this file naming its head
        self.pending: dict[type[models.Model], list[dict[str, Any]]] = {}
        self.made: Counter[type[models.Model]] = Counter()

    # ---- places -------------------------------------------------------------------------------------

    def _compounds(self) -> dict[str, tuple[int, int]]:
        if self.compounds is None:
            self.compounds = {}
            area = under_path("org_path", self.target.community.path)
            for pk, name, aliases, unit_id in (
                Compound.objects.filter(area)
                .order_by("id")
                .values_list("id", "name", "aliases", "org_unit_id")
            ):
                self.compound_names[pk] = name
                for word in [name, *(a.strip() for a in re.split(r"[,，、]", aliases))]:
                    if word:
                        self.compounds.setdefault(word, (pk, unit_id))
        return self.compounds

    def _load_compound(self, compound_id: int) -> None:
        """The buildings, entrances and dwellings of an existing compound (once: when a row names it)."""
        if compound_id in self.loaded_compounds or compound_id < 0:
            return
        self.loaded_compounds.add(compound_id)
        buildings = Building.objects.filter(compound_id=compound_id).values_list("id", "name", "org_unit_id")
        building_ids = []
        for pk, name, unit_id in buildings:
            self.buildings[(compound_id, name)] = (pk, unit_id)
            building_ids.append(pk)
        entrances = Entrance.objects.filter(building_id__in=building_ids).values_list(
            "id", "building_id", "name"
        )
        for pk, building_id, name in entrances:
            self.entrances[(building_id, name)] = pk
        dwellings = (
            Dwelling.objects.filter(building_id__in=building_ids)
            .order_by("id")
            .values_list("id", "building_id", "entrance_id", "number", "org_unit_id", "address")
        )
        for pk, building_id, entrance_id, number, unit_id, address in dwellings:
            if self.dwellings.first(_dwelling_key(building_id, entrance_id or 0, number), pk) == pk:
                self.stored_dwellings[pk] = (address, unit_id)

    def _make(self, model: type[models.Model], values: dict[str, Any], unit_id: int) -> int:
        """Queue a new row in `unit_id` (written with the chunk while writing) and return its id."""
        (pk,) = self.new_ids(model, 1)
        values["id"] = pk
        values["org_unit_id"] = unit_id
        values["org_path"] = self.paths[unit_id]
        if model is not Entrance:
            values["created_at"] = values["updated_at"] = self.now
        pending = self.pending.get(model)
        if pending is None:
            pending = self.pending[model] = []
        pending.append(values)
        self.made[model] += 1
        return pk

    def place(self, place: tuple[str, str, str, str], unit_id: int) -> _Place:
        """The dwelling a row names (None without a room number), the address its place gives, and the
        dwelling's unit. Places not found by name (or alias) in the community are made: a compound in the
        row's unit, the rest in their compound's unit."""
        found_before = self.places.get(place)
        if found_before is not None:
            return found_before
        if len(self.places) >= PLACES_KEPT:
            self.places.clear()
        result = self.places[place] = self._place(place, unit_id)
        return result

    def _place(self, place: tuple[str, str, str, str], unit_id: int) -> _Place:
        compound_name, building, entrance, room = place
        compounds = self._compounds()
        found = compounds.get(compound_name)
        if found is None:
            pk = self._make(Compound, {"name": compound_name}, unit_id)
            found = compounds[compound_name] = (pk, unit_id)
            self.compound_names[pk] = compound_name
            self.loaded_compounds.add(pk)  # new: nothing under it to read
        compound_id, compound_unit = found
        self._load_compound(compound_id)
        name = self.compound_names[compound_id]
        if not building:
            return None, name, None
        b_found = self.buildings.get((compound_id, building))
        if b_found is None:
            values = {
                "compound_id": compound_id,
                "name": building,
                "address": standard_address(name, building),
            }
            b_found = self.buildings[(compound_id, building)] = (
                self._make(Building, values, compound_unit),
                compound_unit,
            )
        building_id, building_unit = b_found
        entrance_id = 0
        if entrance:
            entrance_id = self.entrances.get((building_id, entrance), 0)
            if not entrance_id:
                values = {"building_id": building_id, "name": entrance}
                entrance_id = self.entrances[(building_id, entrance)] = self._make(
                    Entrance, values, building_unit
                )
        if not room:
            return None, standard_address(name, building, entrance), None
        key = _dwelling_key(building_id, entrance_id, room)
        address = standard_address(name, building, entrance, room)
        found_pk = self.dwellings.get(key)
        if found_pk:
            stored = self.stored_dwellings.get(found_pk)
            return (found_pk, *stored) if stored is not None else (found_pk, address, building_unit)
        values = {
            "building_id": building_id,
            "entrance_id": entrance_id or None,
            "number": room,
            "address": address,
        }
        pk = self._make(Dwelling, values, building_unit)
        self.dwellings.set(key, pk)
        return pk, address, building_unit

    # ---- households ---------------------------------------------------------------------------------

    def _load_households(self, needed: bool, member_of: set[int]) -> None:
        """The community's households by number and by dwelling (all of them, once, in one query, when the
        sheet names households or places), and the heads of the households this chunk's residents are in."""
        if needed and not self.households_loaded:
            self.households_loaded = True
            area = under_path("org_path", self.target.community.path)
            query = (
                Household.objects.filter(area)
                .order_by("id")
                .values_list("id", "number", "dwelling_id", "head_id")
            )
            for pk, number, dwelling_id, head in query.iterator(chunk_size=10_000):
                if number:
                    self.by_number.first(_number_key(number), pk)
                if dwelling_id:
                    self.by_dwelling.first(_signed_key(dwelling_id), pk)
                self._set_head(pk, head)
        unknown = [pk for pk in member_of if not self.heads.get(_signed_key(pk))]
        if unknown:
            for pk, head in Household.objects.filter(id__in=unknown).values_list("id", "head_id"):
                self._set_head(pk, head)

    def _head(self, household_id: int) -> int | None:
        head = self.heads.get(_signed_key(household_id))
        return None if head in (0, NO_HEAD) else head

    def _set_head(self, household_id: int, head: int | None) -> None:
        self.heads.set(_signed_key(household_id), NO_HEAD if head is None else head)

    def household(
        self, number: str | None, dwelling_id: int | None, unit_id: int, address: str, head: int | None
    ) -> int:
        """The household with this number (else the one at this dwelling); made when there is none, in the
        dwelling's unit (`unit_id`: the dwelling's, else the row's), with `head` as its head."""
        if number:
            pk = self.by_number.get(_number_key(number))
        else:
            pk = self.by_dwelling.get(_signed_key(dwelling_id)) if dwelling_id is not None else 0
        if not pk:
            values = {"number": number or "", "dwelling_id": dwelling_id, "address": address, "head_id": head}
            pk = self._make(Household, values, unit_id)
            self._set_head(pk, head)
            if number:
                self.by_number.set(_number_key(number), pk)
            if dwelling_id is not None:
                self.by_dwelling.first(_signed_key(dwelling_id), pk)
        return pk

    # ---- one chunk ----------------------------------------------------------------------------------

    def process(self, prepared: list[Any]) -> _Failures:
        failures: _Failures = {}
        rows: list[ResidentRow] = []
        for item in prepared:
            if isinstance(item, _Failure):
                failures[item.row] = list(item.errors)
                continue
            first = self.seen.first(item.key, item.row)
            if first != item.row:
                message = _("与第 %(row)d 行的身份证号相同，同一人只能出现一次。") % {"row": first}
                _fail(failures, item.row, "id_number", message)
                continue
            rows.append(item)
        existing = self._existing([r.id_index for r in rows])
        matched: list[tuple[ResidentRow, _State | None]] = []
        for r in rows:
            old = existing.get(r.id_index)
            if old is not None and not self.target.within(old["org_path"]):
                message = _(
                    "该身份证号已登记在%(unit)s以外，不能在此导入；如此人已迁入，请联系街道管理员办理。"
                ) % {"unit": self.target.unit.name}
                _fail(failures, r.row, "id_number", message)
                continue
            matched.append((r, old))
        if failures:
            self.stop_writing()  # the whole import will be rolled back: write nothing more
        states = self._states(matched, failures)
        if self.writing:
            self._write(states)
        self.pending = {}
        return failures

    def _existing(self, indexes: list[str]) -> dict[str, _State]:
        """The stored residents with these blind indexes (locked for the commit on PostgreSQL), one query.
        `NOT (id_index = '')` repeats the unique index's condition: SQLite uses a partial index only when the
        query states it, and scans the table otherwise."""
        if not indexes:
            return {}
        table = connection.ops.quote_name(Resident._meta.db_table)
        marks = ", ".join(["%s"] * len(indexes))
        lock = " FOR UPDATE" if self.commit and connection.features.has_select_for_update else ""
        sql = (
            f"SELECT {', '.join(_RESIDENT_READ)} FROM {table} "
            f"WHERE id_index IN ({marks}) AND NOT (id_index = ''){lock}"
        )
        found: dict[str, _State] = {}
        with connection.cursor() as cursor:
            cursor.execute(sql, indexes)
            for row in cursor.fetchall():
                state = dict(zip(_RESIDENT_READ, row, strict=True))
                found[state["id_index"]] = state
        return found

    def _states(
        self, matched: list[tuple[ResidentRow, _State | None]], failures: _Failures
    ) -> list[tuple[str, _State, _State | None, tuple[int, ...]]]:
        """(created / updated / unchanged, the new state, the stored state, tags to add) of each row."""
        # Places first (they may be made), then the households of the places and numbers the chunk names.
        placed: list[tuple[ResidentRow, _State | None, int, int | None, str, int]] = []
        for r, old in matched:
            unit_id = r.unit_id or (old["org_unit_id"] if old is not None else self.target.unit.pk)
            if unit_id not in self.paths:
                self.paths[unit_id] = old["org_path"] if old is not None else self.target.unit.path
            dwelling_id = old["dwelling_id"] if old is not None else None
            address = r.address if r.address is not None else (old["address"] if old is not None else "")
            household_unit = unit_id
            if r.place is not None:
                place_dwelling, place_address, dwelling_unit = self.place(r.place, unit_id)
                if place_dwelling is not None:
                    dwelling_id, address = place_dwelling, place_address
                    household_unit = dwelling_unit or unit_id
                elif r.address is None:
                    address = place_address
            placed.append((r, old, unit_id, dwelling_id, address, household_unit))
        self._load_households(
            any(r.household is not None or r.place is not None for r, *_rest in placed),
            {o["household_id"] for _r, o, *_rest in placed if o is not None and o["household_id"]},
        )
        old_tags = self._active_tags([o["id"] for _r, o, *_rest in placed if o is not None])
        new_ids = iter(self.new_ids(Resident, sum(1 for _r, o, *_rest in placed if o is None)))
        out: list[tuple[str, _State, _State | None, tuple[int, ...]]] = []
        result = self.result
        for r, old, unit_id, dwelling_id, address, household_unit in placed:
            rid = old["id"] if old is not None else next(new_ids)
            relation = r.relation if r.relation is not None else (old["relation"] if old is not None else "")
            head = rid if relation == Relation.HEAD else None  # the head of a household made for this row
            household_id = old["household_id"] if old is not None else None
            if r.household is not None:
                household_id = self.household(r.household, dwelling_id, household_unit, address, head)
            elif r.place is not None and dwelling_id is not None:
                stays = old is not None and household_id is not None and dwelling_id == old["dwelling_id"]
                if not stays:
                    household_id = self.household(None, dwelling_id, household_unit, address, head)
            if household_id is not None and not relation:
                relation = Relation.OTHER
            if relation == Relation.HEAD and household_id is not None:
                first = self.head_rows.first(_signed_key(household_id), r.row)
                if first != r.row:
                    message = _("第 %(row)d 行已是这一户的户主，一户只能有一个户主。") % {"row": first}
                    _fail(failures, r.row, "relation", message)
                    self.stop_writing()
                    continue
            kept = old if old is not None else _NEW_KEPT
            state: _State = {
                "org_unit_id": unit_id,
                "org_path": self.paths[unit_id],
                "household_id": household_id,
                "relation": relation,
                "name": r.name,
                "name_pinyin": r.name_pinyin,
                "id_token": r.id_token,
                "id_index": r.id_index,
                "id_mask": r.id_mask,
                "birth_date": r.birth_date,
                "sex": r.sex,
                "residence_type": r.residence_type
                or (old["residence_type"] if old is not None else ResidenceType.REGISTERED),
                # A blank cell (None) keeps the stored value (`_keep`, written out: this runs for every row).
                "ethnicity": r.ethnicity if r.ethnicity is not None else kept["ethnicity"],
                "dwelling_id": dwelling_id,
                "address": address,
                "moved_in": r.moved_in if r.moved_in is not None else kept["moved_in"],
                "note": r.note if r.note is not None else kept["note"],
            }
            if r.phone is not None:
                state["phone_token"], state["phone_index"], state["phone_mask"] = r.phone
            elif old is not None:
                for name in ("phone_token", "phone_index", "phone_mask"):
                    state[name] = old[name]
            if old is None:
                state.update(id=rid, created_at=self.now, updated_at=self.now)
                result.created += 1
                out.append(("created", state, None, r.tags))
                continue
            state.update(id=old["id"], moved_out=old["moved_out"])
            tags = tuple(t for t in r.tags if (old["id"], t) not in old_tags)
            if tags or any(state[k] != old[k] for k in _RESIDENT_COMPARED):
                state["created_at"] = self.writer.stamp(old["created_at"])  # for its history row
                result.updated += 1
                out.append(("updated", state, old, tags))
            else:
                result.unchanged += 1
                out.append(("unchanged", state, old, ()))
        return out

    def _active_tags(self, resident_ids: list[int]) -> set[tuple[int, int]]:
        if not resident_ids:
            return set()
        today = self.today
        current = Q(start__isnull=True) | Q(start__lte=today), Q(end__isnull=True) | Q(end__gte=today)
        query = ResidentTag.objects.filter(*current, resident_id__in=resident_ids)
        return set(query.values_list("resident_id", "tag_id"))

    def _write(self, states: list[tuple[str, _State, _State | None, tuple[int, ...]]]) -> None:
        w = self.writer
        for model in (Compound, Building, Entrance, Dwelling, Household):
            w.insert(model, self.pending.get(model, []))
        created = [state for kind, state, _o, _t in states if kind == "created"]
        updated = [state for kind, state, _o, _t in states if kind == "updated"]
        w.insert(Resident, created)
        if updated:
            for state in updated:
                state["updated_at"] = self.now
            w.update(
                Resident, _RESIDENT_UPDATED, [(*(s[c] for c in _RESIDENT_UPDATED), s["id"]) for s in updated]
            )
            history = _history_rows(Resident, updated, self.actor, self.now, self.reason)
            w.insert(Resident.history.model, history, with_id=False)
        tags = [
            {"resident_id": state["id"], "tag_id": tag} for _kind, state, _o, added in states for tag in added
        ]
        w.insert(ResidentTag, tags, with_id=False)
        self._write_heads(states)
        # The search index from the values just written (what `refresh_ids` would read back): the new places
        # first, so that the segmenter knows a new compound's name before it cuts the addresses naming it
        # (as `manage.py reindex` would cut them).
        for model in (Compound, Building, Dwelling):
            pending = self.pending.get(model)
            if pending:
                search_index.refresh_values(model, self._place_entries(model, pending))
        search_index.refresh_values(Resident, (_resident_entry(s) for s in chain(created, updated)))

    def _place_entries(self, model: type[models.Model], pending: list[dict[str, Any]]) -> Iterator[_State]:
        """New places' values as their search provider reads them (defaults for the columns left out)."""
        defaults = self.writer.table(model).defaults
        for values in pending:
            entry = defaults | values
            entry["pk"] = values["id"]
            if model is Building:
                entry["compound__name"] = self.compound_names[values["compound_id"]]
            yield entry

    def _write_heads(self, states: list[tuple[str, _State, _State | None, tuple[int, ...]]]) -> None:
        """Household.head follows the members' relation 户主: a head who left the household or is no longer
        户主 is cleared; a row that says 户主 makes its resident the head."""
        changed: dict[int, int | None] = {}
        for _kind, state, old, _tags in states:
            rid, household_id = state["id"], state["household_id"]
            left = old["household_id"] if old is not None else None
            is_head = state["relation"] == Relation.HEAD
            if left and self._head(left) == rid and (left != household_id or not is_head):
                self._set_head(left, None)
                changed[left] = None
            if household_id is not None and is_head and self._head(household_id) != rid:
                self._set_head(household_id, rid)
                changed[household_id] = rid
        rows = [(head, self.now, pk) for pk, head in changed.items()]
        self.writer.update(Household, ["head_id", "updated_at"], rows)


def _resident_entry(state: _State) -> _State:
    """A written resident's values as the search provider reads them (a new one without a phone has none)."""
    return {
        "pk": state["id"],
        "name": state["name"],
        "name_pinyin": state["name_pinyin"],
        "id_mask": state["id_mask"],
        "phone_mask": state.get("phone_mask", ""),
        "address": state["address"],
        "org_path": state["org_path"],
        "moved_out": state.get("moved_out"),
    }


#: What a blank cell of a new resident's row gives (a stored resident's keeps its value).
_NEW_KEPT: _State = {"ethnicity": "", "moved_in": None, "note": ""}


def _keep(value: Any, old: _State | None, name: str, default: Any) -> Any:
    """The row's value; a blank cell (None) keeps the stored one."""
    if value is not None:
        return value
    return old[name] if old is not None else default


#: What an existing resident's row is read with, and which of its values an import compares and writes.
_RESIDENT_READ = (
    "id",
    "org_unit_id",
    "org_path",
    "household_id",
    "relation",
    "name",
    "name_pinyin",
    "id_index",
    "id_mask",
    "birth_date",
    "sex",
    "phone_token",
    "phone_index",
    "phone_mask",
    "residence_type",
    "ethnicity",
    "dwelling_id",
    "address",
    "moved_in",
    "moved_out",
    "note",
    "created_at",
)
_RESIDENT_COMPARED = (
    "org_unit_id",
    "household_id",
    "relation",
    "name",
    "id_mask",
    "birth_date",
    "sex",
    "phone_index",
    "residence_type",
    "ethnicity",
    "dwelling_id",
    "address",
    "moved_in",
    "note",
)
_RESIDENT_UPDATED = (
    "org_unit_id",
    "org_path",
    "household_id",
    "relation",
    "name",
    "name_pinyin",
    "id_token",
    "id_mask",
    "birth_date",
    "sex",
    "phone_token",
    "phone_index",
    "phone_mask",
    "residence_type",
    "ethnicity",
    "dwelling_id",
    "address",
    "moved_in",
    "note",
    "updated_at",
)


# ---------------------------------------------------------------------------------------------------------
# Matching and writing: organisations


class _OrganisationStore(_Store):
    def __init__(self, target: _Target, result: ImportResult, *, commit: bool, actor: User | None) -> None:
        super().__init__(target, result, commit=commit, actor=actor)
        self.seen: dict[tuple[str, str], int] = {}  # ("code", code) or ("name", name) → the first row
        self.by_name: dict[str, _State] | None = None

    def process(self, prepared: list[Any]) -> _Failures:
        failures: _Failures = {}
        rows: list[OrganisationRow] = []
        for item in prepared:
            if isinstance(item, _Failure):
                failures[item.row] = list(item.errors)
                continue
            key = ("code", item.credit_code) if item.credit_code else ("name", item.name)
            first = self.seen.setdefault(key, item.row)
            if first != item.row:
                if item.credit_code:
                    message = _("与第 %(row)d 行的统一社会信用代码相同，同一单位只能出现一次。")
                else:
                    message = _("与第 %(row)d 行的名称相同（都没有统一社会信用代码），同一单位只能出现一次。")
                _fail(
                    failures,
                    item.row,
                    "credit_code" if item.credit_code else "name",
                    message % {"row": first},
                )
                continue
            rows.append(item)
        by_code = self._by_code([r.credit_code for r in rows if r.credit_code])
        by_name = self._by_name()
        matched: list[tuple[OrganisationRow, _State | None]] = []
        for r in rows:
            old = by_code.get(r.credit_code) if r.credit_code else by_name.get(r.name)
            if old is not None and not self.target.within(old["org_path"]):
                message = _("该统一社会信用代码已登记在%(unit)s以外，不能在此导入。") % {
                    "unit": self.target.unit.name
                }
                _fail(failures, r.row, "credit_code", message)
                continue
            matched.append((r, old))
        if failures:
            self.stop_writing()
        created: list[_State] = []
        updated: list[_State] = []
        new_ids = iter(self.new_ids(Organisation, sum(1 for _r, o in matched if o is None)))
        for r, old in matched:
            unit_id = r.unit_id or (old["org_unit_id"] if old is not None else self.target.unit.pk)
            if unit_id not in self.paths:
                self.paths[unit_id] = old["org_path"] if old is not None else self.target.unit.path
            state: _State = {
                "org_unit_id": unit_id,
                "org_path": self.paths[unit_id],
                "name": r.name,
                "kind": r.kind,
                "credit_code": r.credit_code or (old["credit_code"] if old is not None else ""),
                "address": _keep(r.address, old, "address", ""),
                "industry": _keep(r.industry, old, "industry", ""),
                "contact_name": _keep(r.contact_name, old, "contact_name", ""),
                "phone": _keep(r.phone, old, "phone", ""),
                "employees": _keep(r.employees, old, "employees", None),
                "note": _keep(r.note, old, "note", ""),
            }
            if old is None:
                state.update(id=next(new_ids), created_at=self.now, updated_at=self.now)
                self.result.created += 1
                created.append(state)
            elif any(state[k] != old[k] for k in _ORGANISATION_COMPARED):
                state.update(
                    id=old["id"],
                    created_at=self.writer.stamp(old["created_at"]),
                    updated_at=self.now,
                    compound_id=old["compound_id"],
                    is_active=old["is_active"],
                )
                self.result.updated += 1
                updated.append(state)
            else:
                self.result.unchanged += 1
        if self.writing:
            w = self.writer
            w.insert(Organisation, created)
            columns = _ORGANISATION_UPDATED
            w.update(Organisation, columns, [(*(s[c] for c in columns), s["id"]) for s in updated])
            history = _history_rows(Organisation, updated, self.actor, self.now, self.reason)
            w.insert(Organisation.history.model, history, with_id=False)
            self.refresh(Organisation, [s["id"] for s in created + updated])
        return failures

    def _by_code(self, codes: list[str]) -> dict[str, _State]:
        if not codes:
            return {}
        query = Organisation.objects.filter(credit_code__in=codes).exclude(credit_code="").order_by()
        return {row["credit_code"]: row for row in query.values(*_ORGANISATION_READ)}

    def _by_name(self) -> dict[str, _State]:
        """The organisations in the target unit by name (for rows without a credit code)."""
        if self.by_name is None:
            query = Organisation.objects.filter(under_path("org_path", self.target.unit.path)).order_by("id")
            self.by_name = {}
            for row in query.values(*_ORGANISATION_READ):
                self.by_name.setdefault(row["name"], row)
        return self.by_name


_ORGANISATION_COMPARED = (
    "org_unit_id",
    "name",
    "kind",
    "credit_code",
    "address",
    "industry",
    "contact_name",
    "phone",
    "employees",
    "note",
)
_ORGANISATION_READ = ("id", "org_path", "created_at", "compound_id", "is_active", *_ORGANISATION_COMPARED)
_ORGANISATION_UPDATED = ("org_path", *_ORGANISATION_COMPARED, "updated_at")


# ---------------------------------------------------------------------------------------------------------
# The run


def community_of(unit: OrgUnit) -> OrgUnit:
    """The community or village a unit is (or lies in): where places and households are looked up."""
    if unit.kind == OrgUnit.Kind.GRID:
        parent = OrgUnit.objects.get_parent(unit)
        if parent is not None:
            return parent
    return unit


def _target(unit: OrgUnit) -> _Target:
    if unit.kind not in UNIT_KINDS:
        raise SheetFileError(_("请选择导入到哪个社区、村或网格。"))
    return _Target(unit, community_of(unit))


def _plan(kind: str, sheet_mapping: dict[int, str], target: _Target, seal: bool) -> _Plan:
    units: dict[str, int] = {}
    for u in OrgUnit.objects.filter(under_path("path", target.unit.path), is_active=True).order_by("path"):
        for word in (u.code, u.name, u.short_name):
            if word:
                units.setdefault(word, u.pk)
    tags: dict[str, int] = {}
    derived: set[str] = set()
    names: dict[str, int] = {}
    for tag in Tag.objects.filter(is_active=True).order_by("sort_order", "code"):
        if tag.derived:
            derived.add(tag.name)
            continue
        names.setdefault(tag.name, tag.pk)
        tags.setdefault(tag.name, tag.pk)
        tags.setdefault(tag.code.lower(), tag.pk)
    # A shorter word people write for a tag (残疾: 残疾人, 空巢: 空巢老人) when it begins one tag only.
    for tag_name, pk in names.items():
        for n in range(2, len(tag_name)):
            prefix = tag_name[:n]
            if prefix not in tags and sum(1 for other in names if other.startswith(prefix)) == 1:
                tags[prefix] = pk
    return _Plan(
        kind=kind,
        columns={name: col for col, name in sheet_mapping.items()},
        seal=seal,
        today=timezone.localdate(),
        units=units,
        unit_name=target.unit.name,
        tags=tags,
        derived_tags=frozenset(derived),
        tag_names="、".join(names),
    )


def _sha256(path: Path | str) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as raw:
        while block := raw.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


ProgressCallback = Callable[[int, int], None]
BadRowCallback = Callable[[int, list[Any], str], None]


def run(
    path: Path | str,
    *,
    unit: OrgUnit,
    actor: User | None,
    kind: str = ImportKind.RESIDENTS,
    mapping: dict[Any, Any] | None = None,
    commit: bool = False,
    progress: ProgressCallback | None = None,
    error_limit: int = ERROR_LIMIT,
    filename: str = "",
    on_bad_row: BadRowCallback | None = None,
    source: models.Model | None = None,
    workers: int | None = None,
) -> ImportResult:
    """Check every row of the file against `unit` (a community, village or grid) and, with `commit`, write
    them all in one transaction, or nothing when any row has an error.

    `actor` None is the command line (the system); otherwise the actor must hold "people_import.create" on
    the unit. `mapping` ({column index: field}) overrides the columns recognised from the headers.
    `progress(done, total)` is called after each chunk; `on_bad_row(row number, cells, message)` for every
    row with an error. `source` (the PeopleImport) is named by the audit event. SheetFileError when the file
    as a whole cannot be used."""
    fields_for(kind)
    if actor is not None and not can(actor, "people_import.create", unit):
        raise PermissionDenied("people_import.create")
    target = _target(unit)
    sheet = _open(path, kind, filename or Path(path).name)
    try:
        sheet.mapping = check_mapping(
            kind, mapping if mapping is not None else sheet.mapping, len(sheet.headers)
        )
        result = ImportResult(
            kind=kind,
            path=str(path),
            unit_id=unit.pk,
            header_row=sheet.header_index + 1,
            headers=sheet.headers,
            mapping=dict(sheet.mapping),
            filename=filename or Path(path).name,
            estimate=sheet.estimate,
        )
        plan = _plan(kind, sheet.mapping, target, seal=commit)
        estimate = sheet.estimate
        if workers is None:
            workers = worker_count() if estimate >= PARALLEL_MIN_ROWS else 1
        collector = _Collector(estimate >= PARALLEL_MIN_ROWS)
        preparer: _Preparer | None = None
        try:
            collector.start()  # before the workers fork, so that they run without it too
            preparer = _Preparer(plan, workers)
            if commit:
                with _sqlite_cache(), transaction.atomic():
                    _run_rows(
                        sheet,
                        preparer,
                        target,
                        result,
                        commit=True,
                        actor=actor,
                        progress=progress,
                        error_limit=error_limit,
                        on_bad_row=on_bad_row,
                        collector=collector,
                    )
                    if result.error_count:
                        transaction.set_rollback(True)
                    else:
                        result.sha256 = _sha256(path)
                        result.committed = True
                        record_event(
                            "people.import",
                            actor=actor,
                            obj=source,
                            org_path=unit.path,
                            object_repr=result.filename,
                            data={
                                "file": result.filename,
                                "sha256": result.sha256,
                                "kind": kind,
                                "unit": unit.code,
                                **result.counts(),
                                **({} if actor is not None else {"by": "command line"}),
                            },
                        )
            else:
                _run_rows(
                    sheet,
                    preparer,
                    target,
                    result,
                    commit=False,
                    actor=actor,
                    progress=progress,
                    error_limit=error_limit,
                    on_bad_row=on_bad_row,
                    collector=collector,
                )
        finally:
            if preparer is not None:
                preparer.close()
            collector.stop()
    finally:
        sheet.rows.close()
    return result


@contextmanager
def _sqlite_cache() -> Iterator[None]:
    """SQLite: a larger page cache for the import's transaction (`SQLITE_CACHE_KB`), given back after it.
    With the default 2 MB, every chunk spills the resident table's random-order index pages (blind indexes,
    names) to the WAL again and again; the import then spends as long writing as inserting."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = -{int(SQLITE_CACHE_KB)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")


def _run_rows(
    sheet: _Sheet,
    preparer: _Preparer,
    target: _Target,
    result: ImportResult,
    *,
    commit: bool,
    actor: User | None,
    progress: ProgressCallback | None,
    error_limit: int,
    on_bad_row: BadRowCallback | None,
    collector: _Collector,
) -> None:
    store_class = _OrganisationStore if result.kind == ImportKind.ORGANISATIONS else _ResidentStore
    store = store_class(target, result, commit=commit, actor=actor)
    headers = {name: sheet.headers[col] for col, name in sheet.mapping.items()}
    labels = {f.name: str(f.label) for f in fields_for(result.kind)}
    estimate = sheet.estimate
    for chunk, prepared in preparer.map(_chunks(sheet.body(), CHUNK_ROWS)):
        failures = store.process(prepared)
        result.total += len(chunk)
        if failures:
            for number, cells in chunk:
                problems = failures.get(number)
                if not problems:
                    continue
                result.error_count += 1
                errors = [RowError(number, headers.get(f) or labels.get(f, ""), m) for f, m in problems]
                room = error_limit - len(result.errors)
                if room > 0:
                    result.errors.extend(errors[:room])
                if on_bad_row is not None:
                    on_bad_row(
                        number,
                        cells,
                        " ".join(f"{e.column}：{e.message}" if e.column else e.message for e in errors),
                    )
        checkpoint(result)
        collector.chunk_done()
        if progress is not None:
            progress(result.total, max(estimate, result.total))
    if isinstance(store, _ResidentStore):
        result.places = {str(model._meta.model_name): n for model, n in store.made.items()}
    if progress is not None:
        progress(result.total, result.total)


class _Collector:
    """Garbage collection through a long run: the automatic collector off and, after each chunk, one pass
    over what the chunk made (reference cycles of the ORM or the search index are freed), its survivors then
    frozen, so that no later pass walks the run's growing caches (places, households, an entry per row)
    again; the automatic passes over them took a tenth of the run and found nothing. Left as found."""

    def __init__(self, active: bool) -> None:
        self.active = active and gc.isenabled()

    def start(self) -> None:
        if self.active:
            gc.disable()

    def chunk_done(self) -> None:
        if self.active:
            gc.collect(1)
            gc.freeze()

    def stop(self) -> None:
        if self.active:
            gc.unfreeze()
            gc.enable()
            self.active = False


def checkpoint(result: ImportResult) -> None:
    """Called after every chunk (a test makes it fail to show that a crash leaves nothing behind)."""
    return None


# ---------------------------------------------------------------------------------------------------------
# Error workbook and template


def errors_workbook(
    source: Path | str | ImportResult,
    *,
    unit: OrgUnit | None = None,
    actor: User | None = None,
    kind: str = ImportKind.RESIDENTS,
    mapping: dict[Any, Any] | None = None,
) -> bytes:
    """An .xlsx of every row with an error: the original columns, then 原表行号 and 错误. From a result (its
    file checked again with its unit and columns) or a file (checked with `unit`, `kind`, `mapping`)."""
    if isinstance(source, ImportResult):
        path: Path | str = source.path
        unit = OrgUnit.objects.get(pk=source.unit_id)
        kind, mapping = source.kind, source.mapping
    else:
        path = source
        if unit is None:
            raise ValueError("errors_workbook(path) needs the unit the rows are checked against")
    book = ErrorBook()
    result = run(path, unit=unit, actor=actor, kind=kind, mapping=mapping, on_bad_row=book.add, error_limit=0)
    return book.finish(result.headers)


class ErrorBook:
    """Collects bad rows (run's `on_bad_row`) in a temporary file, not in memory, and makes the workbook of
    them once the run is over (its header is the file's, known then)."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by finish()
        self.rows = 0

    def add(self, number: int, cells: list[Any], message: str) -> None:
        pickle.dump([*cells, number, message], self.file, protocol=pickle.HIGHEST_PROTOCOL)
        self.rows += 1

    def _read(self) -> Iterator[list[Any]]:
        self.file.seek(0)
        for _row in range(self.rows):
            yield pickle.load(self.file)

    def finish(self, headers: list[str]) -> bytes:
        try:
            return write_rows(_("错误行"), [*headers, _("原表行号"), _("错误")], self._read())
        finally:
            self.file.close()


def template_bytes(kind: str = ImportKind.RESIDENTS) -> bytes:
    """The empty template: a title row, the header (required columns marked *, the identity number and phone
    columns formatted as text so that Excel keeps every digit), and a sheet of notes with accepted values."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    fields = [f for f in fields_for(kind) if f.in_template]
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = _("居民") if kind == ImportKind.RESIDENTS else _("单位组织")
    title = _("居民信息导入表") if kind == ImportKind.RESIDENTS else _("单位组织导入表")
    sheet.append([f"{title}（{_('带 * 的列必填；表头可以在标题行下方，列的顺序不限')}）"])
    sheet.append([f"{f.label}*" if f.required else str(f.label) for f in fields])
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    for cell in sheet[2]:
        cell.font, cell.fill = bold, fill
    for index, f in enumerate(fields, start=1):
        letter = sheet.cell(row=2, column=index).column_letter
        sheet.column_dimensions[letter].width = (
            22 if f.name in ("id_number", "credit_code", "address") else 14
        )
        if f.name in ("id_number", "phone", "credit_code", "household", "room"):
            for row in range(3, 1003):
                sheet.cell(row=row, column=index).number_format = "@"
    notes = workbook.create_sheet(_("填写说明"))
    for line in _template_notes(kind):
        notes.append(line)
    notes.column_dimensions["A"].width = 18
    notes.column_dimensions["B"].width = 90
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _template_notes(kind: str) -> list[list[str]]:
    if kind == ImportKind.ORGANISATIONS:
        return [
            [_("列"), _("说明")],
            [_("名称"), _("必填。有统一社会信用代码的按代码识别同一单位，没有的按名称识别。")],
            [_("类型"), _("驻区单位、企业、社会组织或个体工商户；不填时按统一社会信用代码判断。")],
            [_("统一社会信用代码"), _("18 位，末位为校验码。")],
            [_("从业人数"), _("整数。")],
            [_("网格"), _("网格名称或编号，须在所选社区内；不填则记在所选单位。")],
            [_("示例"), "郑州市管城区某某商贸有限公司 | 企业 | 91410104MA44XXXXXX | 陇海东路 88 号"],
        ]
    tags = "、".join(Tag.objects.filter(is_active=True, min_age__isnull=True).values_list("name", flat=True))
    return [
        [_("列"), _("说明")],
        [_("姓名"), _("必填。")],
        [
            _("身份证号"),
            _(
                "必填，18 位。导入按身份证号识别同一居民：已登记的更新，未登记的新增。"
                "请把该列设为“文本”，否则 Excel 会丢掉末几位。"
            ),
        ],
        [_("联系电话"), _("手机 11 位，或区号加座机号码。")],
        [_("人口类型"), _("户籍、常住或流动；不填为户籍。")],
        [_("小区/楼院、楼栋、单元、房号"), _("按名称找到本社区已有的小区、楼栋和房屋，没有的自动新建。")],
        [_("户号"), _("户号相同的为一户；不填户号时，同一房屋的为一户。")],
        [
            _("与户主关系"),
            _(
                "户主、配偶、子女、儿媳/女婿、父母、孙子女、祖父母、兄弟姐妹、其他。填“户主”的人设为该户户主。"
            ),
        ],
        [_("迁入日期"), _("如 2020-05-01、2020/5/1、2020年5月、2020.05。")],
        [
            _("标签"),
            _("多个用逗号或顿号分隔，可用：%(tags)s。65岁以上老人按出生日期自动判定，无需填写。")
            % {"tags": tags},
        ],
        [_("网格"), _("网格名称或编号，须在所选社区内；不填则记在所选单位。")],
        [_("空白单元格"), _("已登记居民的空白单元格保留原值，不会清空。")],
        [
            _("示例"),
            "张三 | 410104195302121239 | 13812345678 | 汉族 | 户籍 | 陇海花园 | 3号楼 | 1单元 | 301 | | 户主",
        ],
    ]


__all__ = [
    "CHUNK_ROWS",
    "ERROR_LIMIT",
    "ORGANISATION_FIELDS",
    "RESIDENT_FIELDS",
    "Analysis",
    "ErrorBook",
    "Field",
    "ImportResult",
    "RowError",
    "SheetFileError",
    "analyse",
    "check_mapping",
    "errors_workbook",
    "fields_for",
    "run",
    "template_bytes",
]
