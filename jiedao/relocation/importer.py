"""Importing a project's household list (被征收户清单) from a spreadsheet: the header row is found among
title rows (core.sheets), every row is checked, and either every row goes in (one transaction) or none does
and each bad row is listed with what to fix. "Check only" runs the same checks without writing.

New households start at 摸底 (the survey is what the list is). Team and 包户人 are matched by name (the
包户人 also by username) among the project's teams and their people."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from jiedao.audit.services import record_event
from jiedao.core.models import User
from jiedao.core.sheets import (
    SheetFileError,
    body_rows,
    cell_text,
    find_header,
    parse_date,
    read_rows,
    write_rows,
)
from jiedao.relocation import rules, services
from jiedao.relocation.models import ExpropriationHousehold, ExpropriationProject, Team

MAX_ROWS = 20000

SYNONYMS: dict[str, tuple[str, ...]] = {
    "number": ("户号", "房屋编号", "编号"),
    "owner_name": ("产权人", "被征收人", "户主", "姓名"),
    "phone": ("联系电话", "电话", "手机", "手机号码"),
    "address": ("房屋坐落", "坐落", "地址", "房屋地址"),
    "area": ("面积", "建筑面积", "面积(平方米)", "面积(㎡)"),
    "valuation": ("评估金额", "评估价", "评估值", "评估金额(元)"),
    "team": ("工作组", "组别", "小组"),
    "staff": ("包户人", "包户干部", "责任人"),
    "surveyed_on": ("摸底日期",),
    "note": ("备注",),
}
REQUIRED = ("number", "owner_name")
TEMPLATE_HEADER = [
    "户号",
    "产权人",
    "联系电话",
    "房屋坐落",
    "面积（平方米）",
    "评估金额（元）",
    "工作组",
    "包户人",
    "摸底日期",
    "备注",
]
TEMPLATE_EXAMPLE = [
    "ZB-001",
    "王建国",
    "13812345678",
    "中博社区东街 12 号",
    126.5,
    None,
    "",
    "",
    None,
    "",
]


def template(project: ExpropriationProject) -> bytes:
    """The header and one example row (with the project's first team, so the example imports as it is)."""
    example = list(TEMPLATE_EXAMPLE)
    team = Team.objects.filter(project=project).order_by("sort_order", "id").first()
    example[6] = team.name if team else ""
    return write_rows(_("被征收户清单"), TEMPLATE_HEADER, [example])


@dataclass
class RowError:
    row: int
    messages: list[str]


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    errors: list[RowError] = field(default_factory=list)
    file_error: str = ""
    committed: bool = False

    @property
    def ok(self) -> bool:
        return not self.file_error and not self.errors


def _decimal(value: Any, label: str, errors: list[str]) -> Decimal | None:
    text = cell_text(value).replace(",", "").replace("，", "")
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        errors.append(_("%(label)s“%(value)s”不是数字。") % {"label": label, "value": text})
        return None
    if number < 0 or number >= Decimal("1e12") or not number.is_finite():
        errors.append(_("%(label)s“%(value)s”超出范围。") % {"label": label, "value": text})
        return None
    return number.quantize(Decimal("0.01"))


class _People:
    """The project's teams and people, matched by name (and username for people)."""

    def __init__(self, project: ExpropriationProject) -> None:
        self.teams = {t.name: t for t in Team.objects.filter(project=project).prefetch_related("members")}
        people: dict[int, User] = {project.leader_id: project.leader}
        self.team_of: dict[int, set[int]] = {}
        for team in self.teams.values():
            for user in [team.leader, *team.members.all()]:
                people[user.pk] = user
                self.team_of.setdefault(user.pk, set()).add(team.pk)
        self.by_key: dict[str, list[User]] = {}
        for user in people.values():
            for key in {user.username, str(user)}:
                self.by_key.setdefault(key, []).append(user)

    def person(self, text: str) -> User | str | None:
        found = self.by_key.get(text, [])
        if len(found) == 1:
            return found[0]
        return "ambiguous" if found else None


def run(
    actor: User, project: ExpropriationProject, upload: BinaryIO, name: str, *, commit: bool
) -> ImportResult:
    if not rules.may_manage(actor, project):
        raise PermissionDenied("relocation.manage")
    result = ImportResult()
    try:
        rows = read_rows(upload, name)
    except SheetFileError as exc:
        result.file_error = str(exc)
        return result
    found = find_header(rows, SYNONYMS, min_matches=2)
    if found is None or any(f not in found[1] for f in REQUIRED):
        result.file_error = _("没有找到表头：至少要有“户号”和“产权人”两列。请用模板整理后再上传。")
        return result
    header_index, columns = found
    body = body_rows(rows, header_index, len(rows[header_index]))
    if len(body) > MAX_ROWS:
        result.file_error = _("一次最多导入 %(n)s 户。") % {"n": MAX_ROWS}
        return result
    result.rows = len(body)
    people = _People(project)
    existing = set(ExpropriationHousehold.objects.filter(project=project).values_list("number", flat=True))
    seen: dict[str, int] = {}
    households: list[ExpropriationHousehold] = []
    today = services.today()
    for number_in_sheet, cells in body:

        def get(key: str, cells: list[Any] = cells) -> Any:
            col = columns.get(key)
            return cells[col] if col is not None and col < len(cells) else None

        errors: list[str] = []
        number = cell_text(get("number"))
        owner = cell_text(get("owner_name"))
        if not number:
            errors.append(_("户号为空。"))
        elif number in existing:
            errors.append(_("户号 %(number)s 本项目已有。") % {"number": number})
        elif number in seen:
            errors.append(
                _("户号 %(number)s 与第 %(row)s 行重复。") % {"number": number, "row": seen[number]}
            )
        else:
            seen[number] = number_in_sheet
        if len(number) > 30:
            errors.append(_("户号太长（最多 30 个字）。"))
        if not owner:
            errors.append(_("产权人为空。"))
        token = mask = ""
        try:
            token, mask = services.phone_columns(cell_text(get("phone")))
        except ValidationError as exc:
            errors.extend(exc.messages)
        area = _decimal(get("area"), _("面积"), errors)
        valuation = _decimal(get("valuation"), _("评估金额"), errors)
        team: Team | None = None
        team_name = cell_text(get("team"))
        if team_name:
            team = people.teams.get(team_name)
            if team is None:
                errors.append(_("没有名为“%(team)s”的工作组。") % {"team": team_name})
        staff: User | None = None
        staff_name = cell_text(get("staff"))
        if staff_name:
            match = people.person(staff_name)
            if match == "ambiguous":
                errors.append(_("包户人“%(name)s”重名，请改填用户名。") % {"name": staff_name})
            elif match is None or isinstance(match, str):
                errors.append(_("包户人“%(name)s”不在本项目的工作组中。") % {"name": staff_name})
            else:
                staff = match
                if team is not None and team.pk not in people.team_of.get(staff.pk, set()):
                    errors.append(_("%(user)s 不是“%(team)s”的成员。") % {"user": staff, "team": team.name})
        surveyed_on: date | None = today
        raw_date = get("surveyed_on")
        if cell_text(raw_date):
            surveyed_on = parse_date(raw_date)
            if surveyed_on is None:
                errors.append(_("摸底日期“%(value)s”看不懂。") % {"value": cell_text(raw_date)})
            elif surveyed_on > today:
                errors.append(_("摸底日期不能晚于今天。"))
        if errors:
            result.errors.append(RowError(number_in_sheet, errors))
            continue
        households.append(
            ExpropriationHousehold(
                project=project,
                org_unit_id=project.org_unit_id,
                org_path=project.org_path,
                number=number,
                owner_name=owner[:60],
                phone_token=token,
                phone_mask=mask,
                address=cell_text(get("address"))[:200],
                area=area,
                valuation=valuation,
                team=team,
                staff=staff,
                surveyed_on=surveyed_on or today,
                note=cell_text(get("note")),
            )
        )
    if not result.ok or not commit:
        return result
    with transaction.atomic():
        created = bulk_create_with_history(
            households, ExpropriationHousehold, batch_size=500, default_user=actor
        )
        services.refresh_missing_all(project)
        record_event(
            "relocation.import", actor=actor, obj=project, data={"file": name[:200], "created": len(created)}
        )
    result.created = len(created)
    result.committed = True
    return result
