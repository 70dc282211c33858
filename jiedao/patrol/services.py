"""Every change to hazard points, emergencies and patrols goes through these functions: the acting user, the
permission on the unit, a transaction, a version or conditional update where two people may act at once, an
audit event and notifications after commit. Findings become hazard cases through `jiedao.cases.services`.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.audit.services import record_event
from jiedao.cases.models import Case, Category, Channel, Priority
from jiedao.cases.uploads import CheckedUpload
from jiedao.core.concurrency import DOUBLE_SUBMIT_SECONDS, ConflictError
from jiedao.core.models import Membership, OrgUnit, Role, User
from jiedao.core.models.deadlines import DueState
from jiedao.core.permissions import can, require
from jiedao.patrol.kinds import FALLBACK_CATEGORY, ensure_hazard_categories
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
from jiedao.patrol.rules import may_declare

logger = logging.getLogger(__name__)

#: How many point names a worker's notification body lists (the page lists them all).
LISTED_POINTS = 20
BULK_BATCH = 2000


def _digest(key: str | None) -> str | None:
    return hashlib.sha256(key.encode()).hexdigest() if key else None


def _check_position(lat: float | None, lng: float | None) -> list[str]:
    errors = []
    if (lat is None) != (lng is None):
        errors.append(_("经度和纬度须同时填写。"))
    if lat is not None and not -90 <= lat <= 90:
        errors.append(_("纬度须在 -90 到 90 之间。"))
    if lng is not None and not -180 <= lng <= 180:
        errors.append(_("经度须在 -180 到 180 之间。"))
    return errors


# ---------------------------------------------------------------------------------------------------------
# Hazard points

POINT_FIELDS = (
    "org_unit",
    "kind",
    "name",
    "latitude",
    "longitude",
    "address",
    "risk",
    "responsible",
    "notes",
    "is_active",
)


def _validate_point(point: HazardPoint) -> None:
    errors: list[str] = []
    if point.org_unit.kind != OrgUnit.Kind.GRID:
        errors.append(_("隐患点须归属到网格。"))
    if not (point.name or "").strip():
        errors.append(_("请填写点位名称。"))
    if point.risk not in RiskLevel.values:
        errors.append(_("风险等级无效。"))
    errors += _check_position(point.latitude, point.longitude)
    worker = point.responsible
    if (
        worker is not None
        and not Membership.objects.filter(
            user=worker, is_active=True, role=Role.GRID_WORKER, org_unit=point.org_unit
        ).exists()
    ):
        errors.append(
            _("“%(name)s”不是%(grid)s的网格员，不能作为责任网格员。")
            % {"name": worker, "grid": point.org_unit.name}
        )
    duplicate = HazardPoint.objects.filter(org_unit=point.org_unit, name=point.name.strip()).exclude(
        pk=point.pk
    )
    if duplicate.exists():
        errors.append(
            _("%(grid)s已有名为“%(name)s”的隐患点。") % {"grid": point.org_unit.name, "name": point.name}
        )
    if errors:
        raise ValidationError(errors)


def save_point(
    actor: User,
    point: HazardPoint | None,
    data: dict[str, Any],
    *,
    version: int | None = None,
    photo: CheckedUpload | None = None,
) -> HazardPoint:
    """Create (`point` None) or change a hazard point. Needs "hazard.change" on its grid, before and after."""
    creating = point is None
    with transaction.atomic():
        if point is None:
            point = HazardPoint()
            before: dict[str, Any] = {}
        else:
            point = HazardPoint.objects.select_for_update().get(pk=point.pk)
            require(actor, "hazard.change", point)
            if version is not None and point.version != version:
                raise ConflictError(_("隐患点“%(name)s”已被他人修改，请刷新后再改。") % {"name": point.name})
            before = {
                f: getattr(point, f"{f}_id" if f in ("org_unit", "kind", "responsible") else f)
                for f in POINT_FIELDS
            }
        for field in POINT_FIELDS:
            if field in data:
                setattr(point, field, data[field])
        point.name = (point.name or "").strip()
        require(actor, "hazard.change", point.org_unit)
        _validate_point(point)
        point.version = (point.version or 0) + (0 if creating else 1)
        point._history_user = actor  # type: ignore[attr-defined]
        if photo is not None:
            photo.file.seek(0)
            point.photo.save(photo.name, photo.file, save=False)
        point.save()
        after = {
            f: getattr(point, f"{f}_id" if f in ("org_unit", "kind", "responsible") else f)
            for f in POINT_FIELDS
        }
        changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
        record_event(
            "patrol.point_create" if creating else "patrol.point_change",
            actor=actor,
            obj=point,
            data={"name": point.name, "changes": changes},
        )
    return point


# Import ------------------------------------------------------------------------------------------------

IMPORT_COLUMNS: dict[str, list[str]] = {
    "name": ["点位名称", "名称", "隐患点名称", "隐患点"],
    "kind": ["类型", "点位类型", "隐患类型"],
    "grid": ["网格", "所属网格", "网格代码", "网格名称"],
    "address": ["地址", "位置"],
    "longitude": ["经度", "lng", "lon"],
    "latitude": ["纬度", "lat"],
    "risk": ["风险等级", "风险", "等级"],
    "responsible": ["责任网格员", "网格员", "责任人"],
    "notes": ["备注", "说明"],
}
IMPORT_HEADER = ["点位名称", "类型", "网格", "地址", "经度", "纬度", "风险等级", "责任网格员", "备注"]


@dataclass
class ImportResult:
    created: int
    errors: list[tuple[int, str]]


def _number(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    return float(text)


def import_points(actor: User, rows: list[list[Any]]) -> ImportResult:
    """All or nothing: every row is checked; with any error nothing is saved and every error is returned with
    its row number; otherwise all rows are created in one transaction."""
    from jiedao.core import sheets

    require(actor, "hazard.import")
    found = sheets.find_header(rows, IMPORT_COLUMNS, min_matches=3)
    if found is None:
        raise sheets.SheetFileError(_("没有找到表头行：须包含“点位名称”“类型”“网格”等列（可下载模板）。"))
    header_index, columns = found
    missing = [IMPORT_COLUMNS[k][0] for k in ("name", "kind", "grid") if k not in columns]
    if missing:
        raise sheets.SheetFileError(_("缺少必需的列：%(cols)s。") % {"cols": "、".join(missing)})
    kinds = {k.name: k for k in HazardKind.objects.filter(is_active=True)}
    kinds.update({k.code: k for k in kinds.values()})
    grids_qs = OrgUnit.objects.visible_to(actor, "hazard.change").filter(
        kind=OrgUnit.Kind.GRID, is_active=True
    )
    grids: dict[str, OrgUnit] = {}
    for grid in grids_qs:
        grids[grid.code] = grid
        grids[grid.name] = grid
    risks = {str(label): value for value, label in RiskLevel.choices} | {v: v for v in RiskLevel.values}
    risks.update({"高": RiskLevel.HIGH, "中": RiskLevel.MEDIUM, "低": RiskLevel.LOW})
    workers: dict[tuple[int, str], User] = {}
    for m in Membership.objects.filter(
        is_active=True, role=Role.GRID_WORKER, org_unit__in=[g for g in grids.values()]
    ).select_related("user"):
        workers[(m.org_unit_id, m.user.full_name)] = m.user
        workers[(m.org_unit_id, m.user.username)] = m.user

    width = max(columns.values()) + 1
    errors: list[tuple[int, str]] = []
    points: list[HazardPoint] = []
    seen: set[tuple[int, str]] = set()
    for number, cells in sheets.body_rows(rows, header_index, width):

        def cell(key: str, cells: list[Any] = cells) -> str:
            return sheets.fold_width(sheets.cell_text(cells[columns[key]])).strip() if key in columns else ""

        row_errors: list[str] = []
        name = cell("name")
        if not name:
            row_errors.append(_("缺少点位名称"))
        kind = kinds.get(cell("kind"))
        if kind is None:
            row_errors.append(_("类型“%(v)s”不存在") % {"v": cell("kind")})
        grid = grids.get(cell("grid"))
        if grid is None:
            row_errors.append(_("网格“%(v)s”不存在或不在您的管辖范围内") % {"v": cell("grid")})
        risk = risks.get(cell("risk") or RiskLevel.MEDIUM)
        if risk is None:
            row_errors.append(_("风险等级“%(v)s”无效（高风险/中风险/低风险）") % {"v": cell("risk")})
        lat = lng = None
        try:
            lng, lat = _number(cell("longitude")), _number(cell("latitude"))
        except ValueError:
            row_errors.append(_("经纬度须为数字"))
        row_errors += _check_position(lat, lng)
        responsible = None
        if cell("responsible") and grid is not None:
            responsible = workers.get((grid.pk, cell("responsible")))
            if responsible is None:
                row_errors.append(_("责任网格员“%(v)s”不是该网格的网格员") % {"v": cell("responsible")})
        if grid is not None and name:
            if (grid.pk, name) in seen or HazardPoint.objects.filter(org_unit=grid, name=name).exists():
                row_errors.append(_("该网格已有同名点位“%(v)s”") % {"v": name})
            seen.add((grid.pk, name))
        if row_errors:
            errors.extend((number, e) for e in row_errors)
            continue
        assert grid is not None and kind is not None and risk is not None
        points.append(
            HazardPoint(
                org_unit=grid,
                org_path=grid.path,
                kind=kind,
                name=name,
                latitude=lat,
                longitude=lng,
                address=cell("address")[:200],
                risk=risk,
                responsible=responsible,
                notes=cell("notes"),
            )
        )
    if errors:
        return ImportResult(0, errors)
    if not points:
        return ImportResult(0, [(header_index + 2, _("表格中没有数据行"))])
    with transaction.atomic():
        for point in points:
            point._history_user = actor  # type: ignore[attr-defined]
            point.save()
        record_event("patrol.point_import", actor=actor, data={"count": len(points)})
    return ImportResult(len(points), [])


# ---------------------------------------------------------------------------------------------------------
# Findings become hazard cases


def hazard_category(kind: HazardKind) -> Category:
    """The leaf case category a finding at a point of this kind is filed under
    (其他安全隐患 when the kind's is
    missing, retired or not a leaf)."""
    category = (
        Category.objects.filter(code=kind.category_code, is_active=True).first()
        if kind.category_code
        else None
    )
    if category is None or category.children.filter(is_active=True).exists():
        category = Category.objects.filter(code=FALLBACK_CATEGORY, is_active=True).first()
        if category is None:
            ensure_hazard_categories()
            category = Category.objects.get(code=FALLBACK_CATEGORY)
    return category


def _extra_for(category: Category, depth_cm: float | None, passable: str) -> dict[str, Any]:
    codes = set(category.fields.values_list("code", flat=True))
    extra: dict[str, Any] = {}
    if "depth_cm" in codes and depth_cm is not None:
        extra["depth_cm"] = depth_cm
    if "passable" in codes and passable:
        extra["passable"] = passable
    return extra


def raise_hazard_case(
    actor: User,
    point: HazardPoint,
    *,
    description: str,
    key: str,
    photo: CheckedUpload | None,
    event: EmergencyEvent | None = None,
    depth_cm: float | None = None,
    passable: str = "",
    now: datetime | None = None,
) -> Case:
    """File a finding at `point` as a hazard case (channel 巡查发现) in the point's
    grid, accept it and dispatch
    it by the cases module's routing (dispatch table, else 属地), as the system: the
    整改 then runs through the
    case workflow to closure. Runs inside the caller's transaction."""
    from jiedao.cases import services as case_services

    category = hazard_category(point.kind)
    urgent = event is not None or point.risk == RiskLevel.HIGH
    critical = event is not None and event.level in (EventLevel.RED, EventLevel.ORANGE)
    if photo is not None:
        photo.file.seek(0)
    case = case_services.create_case(
        actor,
        channel=Channel.PATROL,
        category=category,
        org_unit=point.org_unit,
        title=_("%(kind)s隐患：%(name)s") % {"kind": point.kind.name, "name": point.name},
        description=description,
        priority=Priority.CRITICAL if critical else Priority.URGENT if urgent else Priority.NORMAL,
        extra={
            **_extra_for(category, depth_cm, passable),
        },
        address=point.address or point.name,
        longitude=point.longitude,
        latitude=point.latitude,
        uploads=[photo] if photo is not None else [],
        idempotency_key=key,
        now=now,
    )
    case = case_services.accept(None, case, version=None, note=_("巡查发现，系统受理。"))  # type: ignore[arg-type]
    return case_services.dispatch(None, case, version=None, note=_("按派单目录自动派遣。"))  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------------
# Emergencies


def _common_unit(areas: Sequence[OrgUnit]) -> OrgUnit:
    """The deepest unit containing every area (where the event is declared and scoped)."""
    prefix = areas[0].path
    for unit in areas[1:]:
        while not unit.path.startswith(prefix):
            prefix = prefix[: -OrgUnit.steplen]
    return OrgUnit.objects.get(path=prefix) if prefix else areas[0]


def workers_for(grid_ids: Iterable[int]) -> dict[int, list[int]]:
    """Grid id → ids of the active grid workers attached to it."""
    by_grid: dict[int, list[int]] = defaultdict(list)
    for grid_id, user_id in Membership.objects.filter(
        is_active=True, role=Role.GRID_WORKER, org_unit_id__in=list(grid_ids), user__is_active=True
    ).values_list("org_unit_id", "user_id"):
        by_grid[grid_id].append(user_id)
    return by_grid


def declare_event(
    actor: User,
    *,
    kind: str,
    level: str,
    areas: Sequence[OrgUnit],
    point_kinds: Sequence[HazardKind],
    started_at: datetime | None = None,
    instructions: str = "",
    idempotency_key: str | None = None,
) -> EmergencyEvent:
    """Declare an emergency and fan it out at once: one check row per active point of the chosen kinds in the
    affected units (bulk insert), and a notification (inbox + SMS) to every grid worker of those grids, and to
    each point's responsible worker, listing their points. A repeated `idempotency_key` returns the event the
    first submit made."""
    kind = (kind or "").strip()
    errors: list[str] = []
    if not kind:
        errors.append(_("请填写事件类型，如“暴雨红色预警”。"))
    if level not in EventLevel.values:
        errors.append(_("预警级别无效。"))
    if not areas:
        errors.append(_("请选择影响区域。"))
    if not point_kinds:
        errors.append(_("请选择需要排查的点位类型。"))
    if errors:
        raise ValidationError(errors)
    for unit in areas:
        if not may_declare(actor, unit):
            raise PermissionDenied(_("您不能在“%(unit)s”发布应急事件。") % {"unit": unit.name})
    key = _digest(idempotency_key)
    if key and (found := EmergencyEvent.objects.filter(idempotency_key=key).first()):
        return found
    now = timezone.now()
    started_at = started_at or now
    # The minimal set of areas (an area inside another adds nothing).
    minimal: list[OrgUnit] = []
    for unit in sorted(areas, key=lambda u: u.path):
        if not any(unit.path.startswith(m.path) for m in minimal):
            minimal.append(unit)
    home = _common_unit(minimal)
    try:
        with transaction.atomic():
            event = EmergencyEvent(
                org_unit=home,
                kind=kind[:60],
                level=level,
                instructions=instructions,
                started_at=started_at,
                declared_by=actor,
                idempotency_key=key,
            )
            event._history_user = actor  # type: ignore[attr-defined]
            event.save()
            event.point_kinds.set(point_kinds)
            EventArea.objects.bulk_create(
                [EventArea(event=event, org_unit=u, org_path=u.path) for u in minimal]
            )
            checks, workers = _fan_out(event, minimal, [k.pk for k in point_kinds])
            event.notified = workers
            event.save(update_fields=["notified"])
            record_event(
                "patrol.declare",
                actor=actor,
                obj=event,
                data={
                    "kind": event.kind,
                    "level": level,
                    "areas": [u.code for u in minimal],
                    "point_kinds": [k.code for k in point_kinds],
                    "points": checks,
                    "workers": workers,
                },
            )
    except IntegrityError:
        found = EmergencyEvent.objects.filter(idempotency_key=key).first() if key else None
        if found is None:
            raise
        return found
    return event


def _fan_out(event: EmergencyEvent, areas: Sequence[OrgUnit], kind_ids: list[int]) -> tuple[int, int]:
    """Insert the event's checks and notify the workers; returns (points, workers notified)."""
    from jiedao.core.models.scope import under_path
    from jiedao.notifications.models import Notification
    from jiedao.notifications.services import SMS, deliver

    condition = under_path("org_path", areas[0].path)
    for unit in areas[1:]:
        condition |= under_path("org_path", unit.path)
    points = list(
        HazardPoint.objects.filter(condition, is_active=True, kind_id__in=kind_ids)
        .order_by("org_path", "name")
        .values_list("pk", "org_unit_id", "org_path", "responsible_id", "name")
    )
    EventCheck.objects.bulk_create(
        [
            EventCheck(event=event, point_id=pk, org_unit_id=unit, org_path=path)
            for pk, unit, path, _r, _n in points
        ],
        batch_size=BULK_BATCH,
    )
    grid_workers = workers_for({unit for _pk, unit, _p, _r, _n in points})
    names_of: dict[int, list[str]] = defaultdict(list)
    for _pk, grid_id, _path, responsible, name in points:
        targets = set(grid_workers.get(grid_id, []))
        if responsible is not None:
            targets.add(responsible)
        for user_id in targets:
            names_of[user_id].append(name)
    users = User.objects.in_bulk(list(names_of))
    url = reverse("patrol:event_mine", args=[event.pk])
    # One inbox row per worker, each listing their own points: built here and inserted in one statement (what
    # `notify` does for one shared text), with the SMS sent after commit by the notifications module.
    rows: list[Notification] = []
    for user_id, names in names_of.items():
        user = users.get(user_id)
        if user is None or not user.is_active:
            continue
        listed = "、".join(names[:LISTED_POINTS])
        if len(names) > LISTED_POINTS:
            listed += _("等")
        rows.append(
            Notification(
                recipient=user,
                title=_("【%(kind)s】请立即排查您网格内的 %(n)s 个隐患点")
                % {"kind": event.kind, "n": len(names)},
                body=_("需排查：%(points)s。排查后在手机上逐点登记结果。") % {"points": listed},
                url=url,
                kind="patrol.event",
                actor_id=event.declared_by_id,
            )
        )
    created = Notification.objects.bulk_create(rows, batch_size=BULK_BATCH)
    transaction.on_commit(partial(deliver, created, [SMS]), robust=True)
    return len(points), len(rows)


@dataclass
class CheckInput:
    status: str
    note: str = ""
    photo: CheckedUpload | None = None
    latitude: float | None = None
    longitude: float | None = None
    accuracy: float | None = None
    depth_cm: float | None = None
    passable: str = ""


def check_point(actor: User, check: EventCheck, data: CheckInput) -> EventCheck:
    """Record a point's check. Claimed by a conditional update on `status='pending'`: of two workers checking
    one point at once, one wins and the other gets a ConflictError naming who checked it (the same person's
    repeat within seconds returns the check as it is). A finding files a hazard case linked to the check."""
    require(actor, "emergency.check", check)
    errors: list[str] = []
    if data.status not in (CheckStatus.OK, CheckStatus.HAZARD):
        errors.append(_("请选择排查结果。"))
    note = (data.note or "").strip()
    if data.status == CheckStatus.HAZARD and len(note) < 2:
        errors.append(_("发现险情时请写明情况。"))
    errors += _check_position(data.latitude, data.longitude)
    if errors:
        raise ValidationError(errors)
    event = EmergencyEvent.objects.get(pk=check.event_id)
    if not event.is_active:
        raise ValidationError(_("应急事件已结束，不能再登记排查结果。"))
    now = timezone.now()
    with transaction.atomic():
        won = EventCheck.objects.filter(pk=check.pk, status=CheckStatus.PENDING).update(
            status=data.status,
            checked_by=actor,
            checked_at=now,
            note=note,
            latitude=data.latitude,
            longitude=data.longitude,
            accuracy=data.accuracy,
        )
        current = EventCheck.objects.select_related("point__kind", "point__org_unit", "checked_by").get(
            pk=check.pk
        )
        if not won:
            recent = now - timedelta(seconds=DOUBLE_SUBMIT_SECONDS)
            if current.checked_by_id == actor.pk and current.checked_at and current.checked_at >= recent:
                return current
            raise ConflictError(
                _("该点位已由 %(who)s 于 %(when)s 排查（%(result)s），无需重复登记。")
                % {
                    "who": current.checked_by or _("他人"),
                    "when": timezone.localtime(current.checked_at).strftime("%H:%M")
                    if current.checked_at
                    else "",
                    "result": current.get_status_display(),
                }
            )
        if data.photo is not None:
            data.photo.file.seek(0)
            current.photo.save(data.photo.name, data.photo.file, save=False)
        if data.status == CheckStatus.HAZARD:
            point = current.point
            current.case = raise_hazard_case(
                actor,
                point,
                description=_("%(event)s应急排查发现险情（%(kind)s·%(name)s）：%(note)s")
                % {"event": event.kind, "kind": point.kind.name, "name": point.name, "note": note},
                key=f"patrol-check:{current.pk}",
                photo=data.photo,
                event=event,
                depth_cm=data.depth_cm,
                passable=data.passable,
            )
        current.save(update_fields=["photo", "case"])
        record_event(
            "patrol.check",
            actor=actor,
            obj=current,
            data={
                "event": event.pk,
                "point": current.point_id,
                "status": data.status,
                "case": current.case.number if current.case else "",
            },
        )
    return current


def add_record(
    actor: User,
    event: EmergencyEvent,
    *,
    kind: str,
    org_unit: OrgUnit,
    note: str,
    people_count: int = 0,
    destination: str = "",
) -> EventRecord:
    """Record people moved to safety (转移群众) or a measure taken in a unit during an active event."""
    require(actor, "emergency.record", org_unit)
    errors: list[str] = []
    if kind not in RecordKind.values:
        errors.append(_("记录类型无效。"))
    if not EmergencyEvent.objects.filter(pk=event.pk, status=EventStatus.ACTIVE).exists():
        errors.append(_("应急事件已结束，不能再添加记录。"))
    if kind == RecordKind.EVACUATION and (people_count or 0) <= 0:
        errors.append(_("请填写转移人数。"))
    if kind == RecordKind.EVACUATION and not destination.strip():
        errors.append(_("请填写安置地点。"))
    if not (note or "").strip():
        errors.append(_("请写明情况。"))
    if (
        not EventArea.objects.filter(event=event)
        .filter(org_path__in=OrgUnit.path_lineage(org_unit.path))
        .exists()
        and not EventArea.objects.filter(event=event, org_path__startswith=org_unit.path).exists()
    ):
        errors.append(_("“%(unit)s”不在本次事件的影响区域内。") % {"unit": org_unit.name})
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        record = EventRecord.objects.create(
            event=event,
            kind=kind,
            org_unit=org_unit,
            people_count=people_count if kind == RecordKind.EVACUATION else 0,
            destination=destination.strip()[:200],
            note=note.strip(),
            recorded_by=actor,
            recorded_at=timezone.now(),
        )
        record_event(
            "patrol.record",
            actor=actor,
            obj=record,
            data={"event": event.pk, "kind": kind, "people": record.people_count, "unit": org_unit.code},
        )
    return record


def close_event(
    actor: User, event: EmergencyEvent, *, version: int | None, summary_note: str = ""
) -> EmergencyEvent:
    """End the event (leaders / 应急办, like declaring). Unchecked points stay unchecked in the summary."""
    if not may_declare(actor, event.org_unit):
        raise PermissionDenied(_("只有街道领导或应急管理办公室可以结束应急事件。"))
    now = timezone.now()
    with transaction.atomic():
        current = EmergencyEvent.objects.select_for_update().get(pk=event.pk)
        if current.status == EventStatus.CLOSED:
            if (
                current.closed_by_id == actor.pk
                and current.closed_at
                and current.closed_at >= now - timedelta(seconds=DOUBLE_SUBMIT_SECONDS)
            ):
                return current
            raise ValidationError(_("该应急事件已经结束。"))
        if version is not None and current.version != version:
            raise ConflictError(_("应急事件已被他人更新，请刷新后再操作。"))
        current.status = EventStatus.CLOSED
        current.closed_at = now
        current.closed_by = actor
        current.summary_note = (summary_note or "").strip()
        current.version += 1
        current._history_user = actor  # type: ignore[attr-defined]
        current.save()
        figures = summary_figures(current)
        record_event("patrol.close", actor=actor, obj=current, data={"figures": figures})
    return current


def summary_figures(event: EmergencyEvent) -> dict[str, int]:
    """The event's figures: points to check, checked, found OK, hazards found and fixed (their cases closed),
    hazard cases still open, people moved, measures."""
    from django.db.models import Count, Q, Sum

    from jiedao.cases.models import DONE_STATUSES, OPEN_STATUSES

    checks = EventCheck.objects.filter(event=event).aggregate(
        total=Count("id"),
        checked=Count("id", filter=~Q(status=CheckStatus.PENDING)),
        ok=Count("id", filter=Q(status=CheckStatus.OK)),
        hazards=Count("id", filter=Q(status=CheckStatus.HAZARD)),
        fixed=Count("id", filter=Q(status=CheckStatus.HAZARD, case__status__in=list(DONE_STATUSES))),
        open_cases=Count("id", filter=Q(case__status__in=list(OPEN_STATUSES))),
    )
    records = EventRecord.objects.filter(event=event).aggregate(
        moved=Sum("people_count", filter=Q(kind=RecordKind.EVACUATION)),
        evacuations=Count("id", filter=Q(kind=RecordKind.EVACUATION)),
        measures=Count("id", filter=Q(kind=RecordKind.MEASURE)),
    )
    return {
        **{k: int(v or 0) for k, v in checks.items()},
        "unchecked": int(checks["total"] or 0) - int(checks["checked"] or 0),
        "moved": int(records["moved"] or 0),
        "evacuations": int(records["evacuations"] or 0),
        "measures": int(records["measures"] or 0),
    }


# ---------------------------------------------------------------------------------------------------------
# Routine patrols

PLAN_FIELDS = ("org_unit", "name", "every_days", "worker", "is_active")


def next_due(when: datetime, every_days: int) -> datetime:
    return when + timedelta(days=every_days)


def save_plan(
    actor: User,
    plan: PatrolPlan | None,
    data: dict[str, Any],
    points: Sequence[HazardPoint],
    *,
    version: int | None = None,
) -> PatrolPlan:
    """Create or change a patrol plan of a grid: its points must lie in that grid."""
    creating = plan is None
    with transaction.atomic():
        if plan is None:
            plan = PatrolPlan(due_at=timezone.now())
        else:
            plan = PatrolPlan.objects.select_for_update().get(pk=plan.pk)
            require(actor, "patrol.plan", plan)
            if version is not None and plan.version != version:
                raise ConflictError(_("巡查计划已被他人修改，请刷新后再改。"))
        for field in PLAN_FIELDS:
            if field in data:
                setattr(plan, field, data[field])
        require(actor, "patrol.plan", plan.org_unit)
        errors: list[str] = []
        if plan.org_unit.kind != OrgUnit.Kind.GRID:
            errors.append(_("巡查计划须针对一个网格。"))
        if not 1 <= (plan.every_days or 0) <= 366:
            errors.append(_("巡查周期须在 1 到 366 天之间。"))
        if not points:
            errors.append(_("请选择至少一个巡查点位。"))
        outside = [p.name for p in points if p.org_unit_id != plan.org_unit_id]
        if outside:
            errors.append(_("这些点位不在该网格内：%(names)s。") % {"names": "、".join(outside)})
        if not (plan.name or "").strip():
            errors.append(_("请填写计划名称。"))
        if errors:
            raise ValidationError(errors)
        base = plan.last_patrol_at or timezone.now()
        plan.due_at = next_due(base, plan.every_days)
        plan.due_state = DueState.PENDING if plan.is_active else DueState.CANCELLED
        if not creating:
            plan.version += 1
        plan._history_user = actor  # type: ignore[attr-defined]
        plan.save()
        plan.points.set(points)
        record_event(
            "patrol.plan",
            actor=actor,
            obj=plan,
            data={"name": plan.name, "every_days": plan.every_days, "points": [p.pk for p in points]},
        )
    return plan


@dataclass
class ItemInput:
    point: HazardPoint
    status: str
    note: str = ""
    photo: CheckedUpload | None = None
    depth_cm: float | None = None
    passable: str = ""


def record_patrol(
    actor: User,
    plan: PatrolPlan,
    items: Sequence[ItemInput],
    *,
    latitude: float | None = None,
    longitude: float | None = None,
    accuracy: float | None = None,
    note: str = "",
    idempotency_key: str | None = None,
) -> PatrolRecord:
    """Record a patrol of a plan's points; findings become hazard cases; the plan's next due time moves on."""
    require(actor, "patrol.record", plan)
    errors: list[str] = []
    plan_points = set(plan.points.values_list("pk", flat=True))
    if not items:
        errors.append(_("请至少登记一个点位的巡查结果。"))
    for item in items:
        if item.point.pk not in plan_points:
            errors.append(_("“%(name)s”不在该巡查计划内。") % {"name": item.point.name})
        if item.status not in (CheckStatus.OK, CheckStatus.HAZARD):
            errors.append(_("“%(name)s”的巡查结果无效。") % {"name": item.point.name})
        if item.status == CheckStatus.HAZARD and len(item.note.strip()) < 2:
            errors.append(_("“%(name)s”发现隐患，请写明情况。") % {"name": item.point.name})
    errors += _check_position(latitude, longitude)
    if errors:
        raise ValidationError(errors)
    key = _digest(idempotency_key)
    if key and (found := PatrolRecord.objects.filter(idempotency_key=key).first()):
        return found
    now = timezone.now()
    try:
        with transaction.atomic():
            record = PatrolRecord.objects.create(
                plan=plan,
                org_unit=plan.org_unit,
                worker=actor,
                patrolled_at=now,
                latitude=latitude,
                longitude=longitude,
                accuracy=accuracy,
                note=note.strip(),
                idempotency_key=key,
            )
            for item in items:
                row = PatrolItem(
                    record=record, point=item.point, status=item.status, note=item.note.strip()[:500]
                )
                if item.photo is not None:
                    item.photo.file.seek(0)
                    row.photo.save(item.photo.name, item.photo.file, save=False)
                row.save()
                if item.status == CheckStatus.HAZARD:
                    row.case = raise_hazard_case(
                        actor,
                        item.point,
                        description=_("日常巡查发现隐患（%(kind)s·%(name)s）：%(note)s")
                        % {"kind": item.point.kind.name, "name": item.point.name, "note": item.note.strip()},
                        key=f"patrol-item:{row.pk}",
                        photo=item.photo,
                        depth_cm=item.depth_cm,
                        passable=item.passable,
                    )
                    row.save(update_fields=["case"])
            PatrolPlan.objects.filter(pk=plan.pk).update(
                last_patrol_at=now,
                due_at=next_due(now, plan.every_days),
                due_state=DueState.PENDING,
                warned_at=None,
                attempts=0,
                claim_token=None,
                version=F("version") + 1,
            )
            record_event(
                "patrol.patrol",
                actor=actor,
                obj=record,
                data={
                    "plan": plan.pk,
                    "points": len(items),
                    "hazards": sum(1 for i in items if i.status == CheckStatus.HAZARD),
                },
            )
    except IntegrityError:
        found = PatrolRecord.objects.filter(idempotency_key=key).first() if key else None
        if found is None:
            raise
        return found
    return record


def fire_plan(plan: PatrolPlan) -> None:
    """The deadline engine's handler: the plan's patrol is overdue; tell its worker
    (or the grid's workers)."""
    from jiedao.core.services import people
    from jiedao.notifications.services import notify

    if not plan.is_active:
        return
    recipients = [plan.worker] if plan.worker is not None and plan.worker.is_active else []
    if not recipients:
        recipients = people(unit=plan.org_unit_id, roles=[Role.GRID_WORKER])
    last = timezone.localtime(plan.last_patrol_at).strftime("%Y-%m-%d") if plan.last_patrol_at else _("无")
    notify(
        recipients,
        title=_("巡查计划“%(name)s”已超期") % {"name": plan.name},
        body=_("巡查周期 %(every)s 天，最近巡查：%(last)s。") % {"every": plan.every_days, "last": last},
        url=reverse("patrol:plan_detail", args=[plan.pk]),
        kind="patrol.overdue",
    )
    PatrolPlan.objects.filter(pk=plan.pk).update(warned_at=timezone.now())
    record_event("patrol.overdue", obj=plan, data={"plan": plan.pk, "notified": [u.pk for u in recipients]})


def may_record_patrol(user: Any, plan: PatrolPlan) -> bool:
    return can(user, "patrol.record", plan)
