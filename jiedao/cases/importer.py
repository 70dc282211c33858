"""Import of 12345 transfer orders (转办工单) from an Excel sheet: template, reading, checking, committing.

`parse_workbook` and `validate` are pure functions over the file and the database's reference data (no
writes): the import page runs them for the dry run, shows every row's errors, and only then `commit`
writes all rows in one transaction (any error: nothing is written).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.cases import services
from jiedao.cases.models import Case, Category, Priority
from jiedao.core.models import OrgUnit, User
from jiedao.core.permissions import can
from jiedao.core.sheets import (
    HEADER_SEARCH_ROWS,
    SheetFileError,
    body_rows,
    cell_text,
    find_header,
    parse_datetime,
    read_rows,
    write_rows,
)

# The template's columns, in order, with the field each fills.
COLUMNS: list[tuple[str, str]] = [
    ("hotline_number", "转办编号"),
    ("received_at", "来电时间"),
    ("requester_name", "诉求人"),
    ("requester_phone", "联系电话"),
    ("category", "诉求类别"),
    ("unit", "所在社区/网格"),
    ("address", "详细地址"),
    ("description", "诉求内容"),
    ("priority", "紧急程度"),
]

# Header names accepted for each field (normalised: no spaces, full-width slashes as "/").
SYNONYMS: dict[str, set[str]] = {
    "hotline_number": {"转办编号", "工单编号", "12345编号", "热线编号", "编号", "转办单号", "工单号"},
    "received_at": {"来电时间", "来电日期", "受理时间", "登记时间", "诉求时间", "时间", "日期"},
    "requester_name": {"诉求人", "来电人", "姓名", "联系人", "诉求人姓名"},
    "requester_phone": {"联系电话", "电话", "手机", "手机号", "手机号码", "来电号码", "联系方式"},
    "category": {"诉求类别", "类别", "问题类别", "诉求类型", "问题类型", "事项类别"},
    "unit": {"所在社区/网格", "社区/网格", "所在社区", "所属社区", "社区", "网格", "所在网格", "所属网格"},
    "address": {"详细地址", "地址", "事发地址", "事发地点"},
    "description": {"诉求内容", "内容", "问题描述", "来电内容", "诉求描述", "反映内容"},
    "priority": {"紧急程度", "缓急程度", "优先级", "紧急度"},
}
REQUIRED_COLUMNS = ("hotline_number", "category", "unit", "description")

PRIORITY_NAMES = {
    "": Priority.NORMAL,
    "一般": Priority.NORMAL,
    "普通": Priority.NORMAL,
    "正常": Priority.NORMAL,
    "紧急": Priority.URGENT,
    "加急": Priority.URGENT,
    "急": Priority.URGENT,
    "特急": Priority.CRITICAL,
    "特别紧急": Priority.CRITICAL,
    "normal": Priority.NORMAL,
    "urgent": Priority.URGENT,
    "critical": Priority.CRITICAL,
}
UNIT_KINDS = (OrgUnit.Kind.GRID, OrgUnit.Kind.COMMUNITY, OrgUnit.Kind.VILLAGE, OrgUnit.Kind.SUBDISTRICT)
PHONE = re.compile(r"^(1\d{10}|0\d{2,3}-?\d{7,8}|\d{7,8}|12345)$")
MAX_ROWS = 5000


ImportFileError = (
    SheetFileError  # the file as a whole cannot be used (unreadable, no header, a column missing)
)


@dataclass
class RowError:
    row: int  # the row number as Excel shows it
    column: str  # the header text as it appears in the file ("" for the whole row)
    message: str


@dataclass
class ImportRow:
    row: int
    raw: list[Any]
    values: dict[str, Any] = field(default_factory=dict)  # cleaned values for create_case
    hotline_number: str = ""
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def error_text(self) -> str:
        return "；".join(f"{e.column}：{e.message}" if e.column else e.message for e in self.errors)


@dataclass
class Sheet:
    header_row: int  # Excel row number of the header
    headers: list[str]  # every header cell as written
    columns: dict[str, int]  # field → column index
    rows: list[tuple[int, list[Any]]]  # (Excel row number, cells) of the data rows

    def header_of(self, name: str) -> str:
        index = self.columns.get(name)
        return self.headers[index] if index is not None else dict(COLUMNS)[name]


@dataclass
class Checked:
    sheet: Sheet
    rows: list[ImportRow]

    @property
    def error_rows(self) -> list[ImportRow]:
        return [r for r in self.rows if not r.ok]

    @property
    def errors(self) -> list[RowError]:
        return [e for r in self.rows for e in r.errors]

    @property
    def ok(self) -> bool:
        return bool(self.rows) and not self.error_rows


# ---------------------------------------------------------------------------------------------------------
# Template


def template_bytes() -> bytes:
    """The empty import template: a title row, the header row, one example row."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("转办工单"))
    for index, width in enumerate([16, 18, 10, 14, 14, 20, 24, 40, 10]):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    title = WriteOnlyCell(sheet, value=_("12345转办工单导入模板（第二行为表头，请从第三行起填写）"))
    title.font = Font(bold=True)
    sheet.append([title])
    headers = []
    for _name, label in COLUMNS:
        cell = WriteOnlyCell(sheet, value=label)
        cell.font = Font(bold=True)
        headers.append(cell)
    sheet.append(headers)
    sheet.append(
        [
            "12345-20260101-0001",
            "2026-01-01 09:30",
            _("王先生"),
            "13800000000",
            _("占道经营"),
            _("陇海东路第一社区"),
            _("陇海东路 12 号门口"),
            _("门口有流动摊贩占道经营，影响通行，请处理。"),
            _("一般"),
        ]
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def errors_bytes(checked: Checked) -> bytes:
    """The rows with errors, as in the file, with an 错误 column (fix them and import again)."""
    return write_rows(
        _("错误行"),
        [_("行号"), *checked.sheet.headers, _("错误")],
        ([row.row, *row.raw, row.error_text] for row in checked.error_rows),
    )


# ---------------------------------------------------------------------------------------------------------
# Reading


def parse_workbook(path: Path | str) -> Sheet:
    """Read the first sheet (see core.sheets.read_rows); find the header row and the columns."""
    rows = read_rows(path)
    found = find_header(rows, SYNONYMS)
    if found is None:
        raise ImportFileError(
            _(
                "没有找到表头行：前 %(n)s 行中须有一行写明“转办编号”“诉求类别”“所在社区/网格”"
                "“诉求内容”等列名。"
            )
            % {"n": HEADER_SEARCH_ROWS}
        )
    index, columns = found
    missing = [dict(COLUMNS)[name] for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise ImportFileError(_("表头缺少必需的列：%(cols)s。") % {"cols": "、".join(missing)})
    headers = [str(c).strip() if c not in (None, "") else "" for c in rows[index]]
    body = body_rows(rows, index, len(headers))
    if len(body) > MAX_ROWS:
        raise ImportFileError(_("一次最多导入 %(n)s 行，请拆分文件。") % {"n": MAX_ROWS})
    return Sheet(index + 1, headers, columns, body)


# ---------------------------------------------------------------------------------------------------------
# Checking


def _norm(text: Any) -> str:
    """A category or unit name as matched: no spaces, full-width slashes and brackets folded."""
    return re.sub(r"\s+", "", str(text or "")).replace("／", "/").replace("（", "(").replace("）", ")")


@dataclass
class Reference:
    """What rows are matched against: the categories, the units the user may create cases in, and the
    转办编号 already imported."""

    categories: dict[str, Category | None]  # name or code → category (None when the name is ambiguous)
    units: dict[str, OrgUnit | None]  # name, short name or code → unit (None when ambiguous)
    known_numbers: dict[str, str]  # 转办编号 → case number

    @classmethod
    def load(cls, user: User, numbers: Sequence[str]) -> Reference:
        categories: dict[str, Category | None] = {}
        active = list(Category.objects.filter(is_active=True).select_related("parent"))
        parents = {c.parent_id for c in active if c.parent_id is not None}
        for category in active:
            if category.pk in parents:
                continue
            keys = {category.code, category.name, _norm(category.full_name)}
            if category.parent is not None:
                keys |= {f"{category.parent.name}/{category.name}", f"{category.parent.name}-{category.name}"}
            for key in keys:
                key = _norm(key).lower()
                categories[key] = None if key in categories and categories[key] != category else category
        units: dict[str, OrgUnit | None] = {}
        for unit in OrgUnit.objects.visible_to(user).filter(kind__in=UNIT_KINDS, is_active=True):
            if not can(user, "case.create", unit):
                continue
            for key in {unit.code, unit.name, unit.short_name} - {""}:
                key = _norm(key).lower()
                units[key] = None if key in units and units[key] != unit else unit
        known: dict[str, str] = {}
        wanted = [n for n in numbers if n]
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            for number, extra in Case.objects.filter(extra__hotline_number__in=chunk).values_list(
                "number", "extra"
            ):
                known[str(extra.get("hotline_number"))] = number
        return cls(categories, units, known)


def validate(sheet: Sheet, user: User, *, now: datetime | None = None) -> Checked:
    """Check every row; nothing is written. Each error names the row, the column and what is wrong."""
    now = now or timezone.now()

    def cell(raw: list[Any], name: str) -> Any:
        index = sheet.columns.get(name)
        return raw[index] if index is not None and index < len(raw) else None

    numbers = [cell_text(cell(raw, "hotline_number")) for _row, raw in sheet.rows]
    reference = Reference.load(user, numbers)
    seen: dict[str, int] = {}
    rows: list[ImportRow] = []
    for number, raw in sheet.rows:
        item = ImportRow(number, raw)

        def error(name: str, message: str, item: ImportRow = item) -> None:
            item.errors.append(RowError(item.row, sheet.header_of(name), message))

        hotline = cell_text(cell(raw, "hotline_number"))
        item.hotline_number = hotline
        if not hotline:
            error("hotline_number", _("缺少转办编号。"))
        elif hotline in reference.known_numbers:
            error(
                "hotline_number",
                _("转办编号 %(n)s 已导入过（工单 %(case)s）。")
                % {"n": hotline, "case": reference.known_numbers[hotline]},
            )
        elif hotline in seen:
            error(
                "hotline_number",
                _("转办编号 %(n)s 与第 %(row)s 行重复。") % {"n": hotline, "row": seen[hotline]},
            )
        else:
            seen[hotline] = number

        raw_when = cell(raw, "received_at")
        when = now
        if cell_text(raw_when):
            parsed = parse_datetime(raw_when)
            if parsed is None:
                error(
                    "received_at",
                    _("无法识别的时间“%(v)s”，请写成 2026-01-01 09:30 的格式。") % {"v": cell_text(raw_when)},
                )
            elif parsed > now + timedelta(minutes=5):
                error("received_at", _("来电时间晚于当前时间。"))
            elif parsed.year < 2000:
                error("received_at", _("来电时间早于 2000 年，请检查。"))
            else:
                when = parsed

        category_text = cell_text(cell(raw, "category"))
        category = None
        if not category_text:
            error("category", _("缺少诉求类别。"))
        else:
            key = _norm(category_text).lower()
            if key not in reference.categories:
                error("category", _("未知的诉求类别“%(v)s”（按名称或代码匹配）。") % {"v": category_text})
            elif reference.categories[key] is None:
                error("category", _("诉求类别“%(v)s”有重名，请写成“上级类别/类别”。") % {"v": category_text})
            else:
                category = reference.categories[key]

        unit_text = cell_text(cell(raw, "unit"))
        unit = None
        if not unit_text:
            error("unit", _("缺少所在社区或网格。"))
        else:
            key = _norm(unit_text).lower()
            if key not in reference.units:
                error(
                    "unit",
                    _("未知的社区/网格“%(v)s”，或不在您的管辖范围内（按名称、简称或代码匹配）。")
                    % {"v": unit_text},
                )
            elif reference.units[key] is None:
                error("unit", _("社区/网格“%(v)s”有重名，请改用统计代码。") % {"v": unit_text})
            else:
                unit = reference.units[key]

        description = cell_text(cell(raw, "description"))
        if not description:
            error("description", _("缺少诉求内容。"))
        elif len(description) < 5:
            error("description", _("诉求内容过短（至少 5 个字）。"))

        phone = re.sub(r"[\s()（）]", "", cell_text(cell(raw, "requester_phone")))
        if phone and not PHONE.fullmatch(phone):
            error("requester_phone", _("电话号码“%(v)s”格式不对。") % {"v": phone})

        priority_text = cell_text(cell(raw, "priority"))
        priority = PRIORITY_NAMES.get(priority_text.lower())
        if priority is None:
            error(
                "priority",
                _("未知的紧急程度“%(v)s”（可填 一般、紧急、特急）。") % {"v": priority_text},
            )

        if category is not None:
            try:
                services.validate_extra(category, {})
            except ValidationError as exc:
                for message in exc.messages:
                    error(
                        "category",
                        _("该类别有必填的附加信息，无法批量导入：%(m)s") % {"m": message},
                    )

        if item.ok:
            assert category is not None and unit is not None and priority is not None
            item.values = {
                "category": category,
                "org_unit": unit,
                "description": description,
                "requester_name": cell_text(cell(raw, "requester_name"))[:60],
                "requester_phone": phone[:20],
                "address": cell_text(cell(raw, "address"))[:200],
                "priority": priority,
                "now": when,
            }
        rows.append(item)
    return Checked(sheet, rows)


# ---------------------------------------------------------------------------------------------------------
# Committing


def commit(checked: Checked, user: User) -> list[Case]:
    """Create every row's case in one transaction (all rows or none). Raises ValidationError naming the row
    when the service refuses one."""
    if not checked.ok:
        raise ValidationError(_("文件中还有错误，未导入任何数据。"))
    created: list[Case] = []
    with transaction.atomic():
        for row in checked.rows:
            try:
                case = services.import_case_row(
                    user,
                    idempotency_key=f"hotline-import:{row.hotline_number}",
                    hotline_number=row.hotline_number,
                    **row.values,
                )
            except (ValidationError, PermissionDenied) as exc:
                reason = (
                    "；".join(exc.messages) if isinstance(exc, ValidationError) else _("无权在该地点登记")
                )
                raise ValidationError(
                    _("第 %(row)s 行无法导入：%(reason)s。整个文件未导入。")
                    % {"row": row.row, "reason": reason}
                ) from exc
            created.append(case)
    return created


def common_path(paths: Sequence[str]) -> str:
    """The deepest org path above all of `paths` (whole steps only), for scoping the import's audit event."""
    if not paths:
        return ""
    prefix = paths[0]
    for path in paths[1:]:
        while not path.startswith(prefix):
            prefix = prefix[:-1]
    return prefix[: len(prefix) - len(prefix) % OrgUnit.steplen]
