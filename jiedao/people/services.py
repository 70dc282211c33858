"""Every change to people and places goes through these functions: the acting user, the permission on the
record's unit (before and after a move), a transaction, the version the user saw (a concurrent edit is
refused, not overwritten), an audit event, and the record's search entry.

Personal data arrives in clear (`id_number`, `phone` in `data`) and leaves here encrypted; an audit event
never holds it (the masked form is logged). `reveal` is the only way back to the clear value for a person,
and it is logged."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.audit.services import record_event
from jiedao.core.concurrency import ConflictError
from jiedao.core.models import OrgUnit, User
from jiedao.core.permissions import can, require
from jiedao.core.privacy import decrypt
from jiedao.people import personal
from jiedao.people.models import (
    ID_CONTEXT,
    PHONE_CONTEXT,
    Building,
    CareSubject,
    Compound,
    Dwelling,
    Entrance,
    Household,
    Organisation,
    Relation,
    Resident,
    ResidentTag,
    Tag,
    Visit,
    standard_address,
)
from jiedao.search import index as search_index

M = TypeVar("M", bound=models.Model)

#: Columns an audit event leaves out (personal data, derived or bookkeeping values).
_NOT_LOGGED = {
    "id_token",
    "id_index",
    "phone_token",
    "phone_index",
    "name_pinyin",
    "org_path",
    "version",
    "created_at",
    "updated_at",
}


def action_for(model: type[models.Model] | models.Model, verb: str) -> str:
    return f"{getattr(model, 'scope_label', model._meta.model_name)}.{verb}"


def _snapshot(obj: models.Model) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        if field.name in _NOT_LOGGED or field.name == "id":
            continue
        value = getattr(obj, field.attname)
        if isinstance(value, models.fields.files.FieldFile):
            value = value.name or ""
        values[field.name] = value
    return values


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


# ---------------------------------------------------------------------------------------------------------
# Records: create and update


def create(actor: User, model: type[M], data: dict[str, Any]) -> M:
    obj = model()
    _write(actor, obj, data, None)
    return obj


def update(actor: User, obj: M, data: dict[str, Any], version: int | None) -> M:
    """`version`: what the user's form showed; None only for callers that hold the row already locked."""
    _write(actor, obj, data, version)
    return obj


def _write(actor: User, obj: models.Model, data: dict[str, Any], version: int | None) -> None:
    data = dict(data)
    creating = obj.pk is None
    action = action_for(obj, "change")
    with transaction.atomic():
        if not creating:
            current = type(obj)._default_manager.select_for_update().get(pk=obj.pk)
            require(actor, action, current)
            if version is not None and version != current.version:  # type: ignore[attr-defined]
                raise ConflictError(
                    _("“%(name)s”已被他人修改（您看的是第 %(mine)s 版，现为第 %(now)s 版），请刷新后重试。")
                    % {"name": current, "mine": version, "now": current.version}  # type: ignore[attr-defined]
                )
            before = _snapshot(current)
        else:
            before = {}
        for name, value in data.items():
            if name not in ("id_number", "phone"):
                setattr(obj, name, value)
        _derive(obj, data)
        org_unit = getattr(obj, "org_unit", None)
        if org_unit is None:
            raise ValidationError(_("请选择所属网格或社区。"))
        obj.org_path = org_unit.path  # type: ignore[attr-defined]
        require(actor, action, obj)
        _check_unique(obj, actor)
        if not creating:
            obj.version += 1  # type: ignore[attr-defined]
        obj._history_user = actor  # type: ignore[attr-defined]
        obj.save()
        after = _snapshot(obj)
        if isinstance(obj, Resident):
            _keep_head(obj)
        record_event(
            "people.create" if creating else "people.change",
            actor=actor,
            obj=obj,
            data={
                "model": obj._meta.model_name,
                **({"values": after} if creating else {"changes": _changes(before, after)}),
            },
        )
        search_index.refresh([obj])


def _derive(obj: models.Model, data: dict[str, Any]) -> None:
    """What a record takes from its parents and its own values: places their grid and standard address, a
    resident the encrypted columns and the name's pinyin."""
    if isinstance(obj, Building):
        if obj.org_unit_id is None:
            obj.org_unit = obj.compound.org_unit
        if not obj.address:
            obj.address = standard_address(obj.compound.address or obj.compound.name, obj.name)
    elif isinstance(obj, Entrance):
        obj.org_unit = obj.building.org_unit
    elif isinstance(obj, Dwelling):
        if obj.entrance is not None and obj.entrance.building_id != obj.building_id:
            raise ValidationError(_("所选单元不属于所选楼栋。"))
        if obj.org_unit_id is None:
            obj.org_unit = obj.building.org_unit
        obj.address = standard_address(
            obj.building.compound.name,
            obj.building.name,
            obj.entrance.name if obj.entrance else "",
            obj.number,
        )
    elif isinstance(obj, Household):
        if obj.dwelling is not None:
            if obj.org_unit_id is None:
                obj.org_unit = obj.dwelling.org_unit
            if not obj.address:
                obj.address = obj.dwelling.address
    elif isinstance(obj, Resident):
        if "id_number" in data:
            try:
                identity = personal.identity_columns(data["id_number"])
            except personal.IdNumberError as exc:
                raise ValidationError({"id_number": str(exc)}) from exc
            obj.id_token, obj.id_index, obj.id_mask = identity.id_token, identity.id_index, identity.id_mask
            if identity.birth_date is not None:
                obj.birth_date, obj.sex = identity.birth_date, identity.sex
        if "phone" in data:
            try:
                phone = personal.phone_columns(data["phone"])
            except personal.PhoneError as exc:
                raise ValidationError({"phone": str(exc)}) from exc
            obj.phone_token, obj.phone_index, obj.phone_mask = (
                phone.phone_token,
                phone.phone_index,
                phone.phone_mask,
            )
        obj.name = " ".join(obj.name.split())
        if not obj.name:
            raise ValidationError({"name": _("请填写姓名。")})
        obj.name_pinyin = personal.name_pinyin(obj.name)
        if obj.household_id is not None:
            if obj.org_unit_id is None:
                obj.org_unit = obj.household.org_unit
            if not obj.relation:
                obj.relation = Relation.OTHER
        if obj.dwelling is not None:
            if obj.org_unit_id is None:
                obj.org_unit = obj.dwelling.org_unit
            if not obj.address:
                obj.address = obj.dwelling.address
        if obj.moved_in and obj.moved_out and obj.moved_out < obj.moved_in:
            raise ValidationError({"moved_out": _("迁出日期不能早于迁入日期。")})
    elif isinstance(obj, Organisation):
        obj.credit_code = check_credit_code(obj.credit_code)


def check_credit_code(raw: str) -> str:
    """The 18-character 统一社会信用代码, checked (python-stdnum); '' stays ''."""
    from stdnum.cn import uscc
    from stdnum.exceptions import ValidationError as StdnumError

    code = uscc.compact(raw or "") if raw else ""
    if not code:
        return ""
    try:
        return str(uscc.validate(code))
    except StdnumError as exc:
        raise ValidationError(
            {
                "credit_code": _("统一社会信用代码“%(code)s”无效（应为 18 位，末位校验码正确）。")
                % {"code": code}
            }
        ) from exc


def _check_unique(obj: models.Model, actor: User) -> None:
    """Duplicates refused with a message instead of a database error. A resident's identity number may be
    registered out of this user's sight: the message then names no one."""
    if isinstance(obj, Resident) and obj.id_index:
        other = (
            Resident.objects.filter(id_index=obj.id_index).exclude(id_index="").exclude(pk=obj.pk).first()
        )  # the repeated condition lets SQLite use the partial unique index
        if other is not None:
            raise ValidationError(
                {
                    "id_number": _("该身份证号已登记为居民“%(name)s”（%(unit)s）。")
                    % {"name": other.name, "unit": other.org_unit.name}
                    if can(actor, "resident.view", other)
                    else _("该身份证号已登记在您权限以外的社区，请联系街道管理员办理迁入。")
                }
            )
    elif isinstance(obj, Organisation) and obj.credit_code:
        if Organisation.objects.filter(credit_code=obj.credit_code).exclude(pk=obj.pk).exists():
            raise ValidationError({"credit_code": _("该统一社会信用代码已登记。")})
    elif isinstance(obj, Compound):
        if Compound.objects.filter(org_unit=obj.org_unit, name=obj.name).exclude(pk=obj.pk).exists():
            raise ValidationError({"name": _("本网格已有同名小区/楼院。")})
    elif isinstance(obj, Building):
        if Building.objects.filter(compound=obj.compound, name=obj.name).exclude(pk=obj.pk).exists():
            raise ValidationError({"name": _("该小区已有同名楼栋。")})
    elif isinstance(obj, Entrance):
        if Entrance.objects.filter(building=obj.building, name=obj.name).exclude(pk=obj.pk).exists():
            raise ValidationError({"name": _("该楼栋已有同名单元。")})
    elif isinstance(obj, Dwelling):
        same = Dwelling.objects.filter(building=obj.building, entrance=obj.entrance, number=obj.number)
        if same.exclude(pk=obj.pk).exists():
            raise ValidationError({"number": _("该单元已有同号房屋。")})


def _keep_head(resident: Resident) -> None:
    """The household's head is the member whose relation is 户主."""
    if resident.household_id is None:
        return
    household = resident.household
    assert household is not None
    if resident.relation == Relation.HEAD and household.head_id != resident.pk:
        Household.objects.filter(pk=household.pk).update(head=resident)
        household.head = resident
    elif resident.relation != Relation.HEAD and household.head_id == resident.pk:
        Household.objects.filter(pk=household.pk).update(head=None)
        household.head = None


def move_out(actor: User, resident: Resident, day: date, version: int | None, note: str = "") -> Resident:
    data: dict[str, Any] = {"moved_out": day}
    if note:
        data["note"] = f"{resident.note}\n{note}".strip()
    return update(actor, resident, data, version)


# ---------------------------------------------------------------------------------------------------------
# Personal data


def reveal(actor: User, resident: Resident, field: str, request: HttpRequest | None = None) -> str:
    """The clear identity number ("id_number") or phone ("phone"), for a user allowed to see it; logged."""
    require(actor, "resident.reveal", resident)
    if field == "id_number":
        value = decrypt(resident.id_token, ID_CONTEXT)
    elif field == "phone":
        value = decrypt(resident.phone_token, PHONE_CONTEXT)
    else:
        raise ValueError(field)
    record_event(
        "people.reveal",
        actor=actor,
        obj=resident,
        data={"field": field, "masked": resident.id_mask if field == "id_number" else resident.phone_mask},
        request=request,
    )
    return value


def may_reveal(user: Any, resident: Resident | None = None) -> bool:
    return can(user, "resident.reveal", resident)


def clear_values(resident: Resident) -> tuple[str, str]:
    """(identity number, phone) in clear, for an export the caller has already authorised and logged."""
    return decrypt(resident.id_token, ID_CONTEXT), decrypt(resident.phone_token, PHONE_CONTEXT)


# ---------------------------------------------------------------------------------------------------------
# Tags


def add_tag(
    actor: User,
    resident: Resident,
    tag: Tag,
    *,
    start: date | None = None,
    end: date | None = None,
    note: str = "",
) -> ResidentTag:
    require(actor, "resident.change", resident)
    if tag.derived:
        raise ValidationError(_("“%(tag)s”按出生日期自动判定，无需手工添加。") % {"tag": tag.name})
    if not tag.is_active:
        raise ValidationError(_("标签“%(tag)s”已停用。") % {"tag": tag.name})
    if start and end and end < start:
        raise ValidationError(_("结束日期不能早于开始日期。"))
    with transaction.atomic():
        Resident.objects.select_for_update().filter(pk=resident.pk).first()
        overlapping = ResidentTag.objects.filter(resident=resident, tag=tag)
        for existing in overlapping:
            if _overlaps(existing.start, existing.end, start, end):
                raise ValidationError(_("该居民已有此标签（日期重叠）。"))
        item = ResidentTag(resident=resident, tag=tag, start=start, end=end, note=note)
        item._history_user = actor  # type: ignore[attr-defined]
        item.save()
        record_event(
            "people.tag",
            actor=actor,
            obj=resident,
            data={"tag": tag.code, "added": True, "start": start, "end": end},
        )
        search_index.refresh([resident])
    return item


def end_tag(actor: User, item: ResidentTag, end: date) -> ResidentTag:
    require(actor, "resident.change", item.resident)
    if item.start and end < item.start:
        raise ValidationError(_("结束日期不能早于开始日期。"))
    with transaction.atomic():
        item.end = end
        item._history_user = actor  # type: ignore[attr-defined]
        item.save(update_fields=["end"])
        record_event("people.tag", actor=actor, obj=item.resident, data={"tag": item.tag.code, "ended": end})
    return item


def _overlaps(a0: date | None, a1: date | None, b0: date | None, b1: date | None) -> bool:
    lo, hi = date.min, date.max
    return (a0 or lo) <= (b1 or hi) and (b0 or lo) <= (a1 or hi)


def tags_on(residents: Iterable[Resident], day: date) -> dict[int, list[str]]:
    """{resident id: tag names active on `day`}, derived tags (age) included; two queries in all."""
    residents = list(residents)
    result: dict[int, list[str]] = {r.pk: [] for r in residents}
    derived = [t for t in active_tags() if t.derived]
    for r in residents:
        age = r.age_on(day)
        for tag in derived:
            if age is not None and tag.min_age is not None and age >= tag.min_age:
                result[r.pk].append(tag.name)
    items = (
        ResidentTag.objects.filter(resident__in=[r.pk for r in residents])
        .select_related("tag")
        .order_by("tag__sort_order")
    )
    for item in items:
        if item.active_on(day) and item.tag.is_active:
            result[item.resident_id].append(item.tag.name)
    return result


def active_tags() -> list[Tag]:
    return list(Tag.objects.filter(is_active=True))


# ---------------------------------------------------------------------------------------------------------
# Care subjects and visits


def add_care(
    actor: User,
    resident: Resident,
    *,
    reason: str,
    visit_every_days: int = 30,
    worker: User | None = None,
    since: date | None = None,
    note: str = "",
) -> CareSubject:
    from jiedao.people.care import next_due

    require(actor, "care.change", resident)
    if visit_every_days < 1 or visit_every_days > 366:
        raise ValidationError(_("走访周期应在 1 到 366 天之间。"))
    since = since or timezone.localdate()
    with transaction.atomic():
        Resident.objects.select_for_update().filter(pk=resident.pk).first()
        if CareSubject.objects.filter(resident=resident, until__isnull=True).exists():
            raise ValidationError(_("该居民已是关爱对象。"))
        care = CareSubject(
            resident=resident,
            org_unit=resident.org_unit,
            reason=reason,
            visit_every_days=visit_every_days,
            worker=worker,
            since=since,
            note=note,
        )
        care.due_at = next_due(since, visit_every_days)
        care._history_user = actor  # type: ignore[attr-defined]
        care.save()
        record_event(
            "people.care",
            actor=actor,
            obj=care,
            data={"resident": resident.pk, "reason": reason, "every": visit_every_days, "added": True},
        )
    return care


def update_care(actor: User, care: CareSubject, data: dict[str, Any], version: int | None) -> CareSubject:
    from jiedao.core.models.deadlines import DueState
    from jiedao.people.care import next_due

    require(actor, "care.change", care)
    with transaction.atomic():
        current = CareSubject.objects.select_for_update().get(pk=care.pk)
        if version is not None and version != current.version:
            raise ConflictError(_("该关爱对象已被他人修改，请刷新后重试。"))
        before = _snapshot(current)
        for name, value in data.items():
            setattr(care, name, value)
        if care.until is not None:
            care.due_state = DueState.CANCELLED
        else:
            care.due_at = next_due(care.last_visit_at or care.since, care.visit_every_days)
            care.due_state = DueState.PENDING
        care.version = current.version + 1
        care._history_user = actor  # type: ignore[attr-defined]
        care.save()
        record_event(
            "people.care", actor=actor, obj=care, data={"changes": _changes(before, _snapshot(care))}
        )
    return care


def record_visit(
    actor: User,
    care: CareSubject,
    *,
    visited_on: date,
    summary: str,
    photo: Any = None,
) -> Visit:
    """A visit moves the care subject's next due date to the visit plus its period."""
    from jiedao.core.models.deadlines import DueState
    from jiedao.people.care import next_due

    if not can(actor, "care.visit", care):
        raise PermissionDenied("care.visit")
    if visited_on > timezone.localdate():
        raise ValidationError({"visited_on": _("走访日期不能晚于今天。")})
    if not summary.strip():
        raise ValidationError({"summary": _("请填写走访情况。")})
    with transaction.atomic():
        current = CareSubject.objects.select_for_update().get(pk=care.pk)
        if current.until is not None:
            raise ValidationError(_("该居民已移出关爱名单。"))
        visit = Visit(
            care=current,
            org_unit=current.org_unit,
            visited_on=visited_on,
            visitor=actor,
            summary=summary.strip(),
        )
        if photo is not None:
            visit.photo = photo
        visit.save()
        if current.last_visit_at is None or visited_on >= current.last_visit_at:
            current.last_visit_at = visited_on
            current.due_at = next_due(visited_on, current.visit_every_days)
            current.due_state = DueState.PENDING
            current.warned_at = None
            current.save(update_fields=["last_visit_at", "due_at", "due_state", "warned_at", "updated_at"])
        record_event(
            "people.visit",
            actor=actor,
            obj=current,
            data={"visit": visit.pk, "visited_on": visited_on, "photo": bool(photo)},
        )
    care.refresh_from_db()
    return visit


def unit_choices(actor: User, action: str) -> QuerySet[OrgUnit]:
    """The communities and grids where `actor` may do `action` (what a record's unit may be set to)."""
    from jiedao.core.models.scope import under_path
    from jiedao.core.permissions import scope_paths

    units = OrgUnit.objects.filter(
        kind__in=[OrgUnit.Kind.COMMUNITY, OrgUnit.Kind.VILLAGE, OrgUnit.Kind.GRID], is_active=True
    )
    paths = scope_paths(actor, action)
    if paths is None:
        return units
    condition = Q(pk__in=[])
    for path in paths:
        condition |= under_path("path", path)
    return units.filter(condition)
