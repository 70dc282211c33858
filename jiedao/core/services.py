"""Every change to the org tree goes through these functions: acting user, permission, transaction, event."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Length, Substr
from django.utils.translation import gettext as _

from jiedao.audit.services import record_event
from jiedao.core.concurrency import ConflictError
from jiedao.core.models import Department, Membership, OrgUnit, User
from jiedao.core.models.scope import scoped_models
from jiedao.core.permissions import require
from jiedao.search import index as search_index

# The fields a person may edit, in the order the form shows them.
EDITABLE_FIELDS = (
    "name",
    "short_name",
    "code",
    "population",
    "households",
    "area_km2",
    "sort_order",
    "is_active",
    "boundary",
)


def _snapshot(unit: OrgUnit, fields: tuple[str, ...] = EDITABLE_FIELDS) -> dict[str, Any]:
    return {f: getattr(unit, f) for f in fields}


def _check_child_kind(parent: OrgUnit, kind: str) -> None:
    if kind not in parent.allowed_child_kinds():
        raise ValidationError(
            _("“%(parent)s”（%(parent_kind)s）下不能设立%(kind)s。")
            % {
                "parent": parent.name,
                "parent_kind": parent.get_kind_display(),
                "kind": OrgUnit.Kind(kind).label,
            }
        )


def create_unit(actor: User, parent: OrgUnit, *, kind: str, **fields: Any) -> OrgUnit:
    require(actor, "org.create", parent)
    _check_child_kind(parent, kind)
    with transaction.atomic():
        parent = OrgUnit.objects.select_for_update().get(pk=parent.pk)
        instance = OrgUnit(kind=kind, **fields)
        instance._history_user = actor
        unit: OrgUnit = OrgUnit.objects.add_child(parent, instance=instance)
        record_event("org.create", actor=actor, obj=unit, data={"parent": parent.code, **_snapshot(unit)})
    return unit


def update_unit(actor: User, unit: OrgUnit, *, version: int, **changes: Any) -> OrgUnit:
    """Save edits made on a form opened at `version`; refuse if someone saved in between."""
    require(actor, "org.change", unit)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    with transaction.atomic():
        current = OrgUnit.objects.select_for_update().get(pk=unit.pk)
        if current.version != version and all(getattr(current, f) == v for f, v in changes.items()):
            return current  # the same edit submitted twice (a double click): already saved, nothing to do
        if current.version != version:
            raise ConflictError(
                _("此单元已被他人修改（您打开的是第 %(mine)s 版，当前是第 %(now)s 版）。请刷新后重新填写。")
                % {"mine": version, "now": current.version}
            )
        before = _snapshot(current)
        for field, value in changes.items():
            setattr(current, field, value)
        current.full_clean(exclude=["path", "depth", "numchild"])
        diff = {f: [before[f], getattr(current, f)] for f in changes if before[f] != getattr(current, f)}
        if not diff:
            return current
        current.version += 1  # the row is locked: no one else can bump it meanwhile
        current._history_user = actor
        current.save()
        record_event("org.change", actor=actor, obj=current, data={"changes": diff})
    return current


def move_unit(actor: User, unit: OrgUnit, new_parent: OrgUnit) -> OrgUnit:
    """Move a unit (with its subtree) under another parent; every scoped row's copied path follows."""
    require(actor, "org.move", unit)
    require(actor, "org.move", new_parent)
    if new_parent.path.startswith(unit.path):
        raise ValidationError(_("不能把单元移动到它自己或它的下级之下。"))
    _check_child_kind(new_parent, unit.kind)
    old_parent = OrgUnit.objects.get_parent(unit)
    with transaction.atomic():
        old_path = unit.path
        OrgUnit.objects.move(unit, new_parent, "last-child")
        unit.refresh_from_db()
        new_path = unit.path
        repath_scoped_rows(old_path, new_path)
        search_index.repath(old_path, new_path)
        OrgUnit.objects.filter(pk=unit.pk).update(version=F("version") + 1)
        record_event(
            "org.move",
            actor=actor,
            obj=unit,
            data={
                "from": old_parent.code if old_parent else None,
                "to": new_parent.code,
                "old_path": old_path,
                "new_path": new_path,
            },
        )
    unit.refresh_from_db()
    return unit


def repath_scoped_rows(old_prefix: str, new_prefix: str) -> int:
    """Rewrite `org_path` of every scoped row under `old_prefix` (one UPDATE per scoped model)."""
    if old_prefix == new_prefix:
        return 0
    total = 0
    for model in scoped_models():
        total += model._default_manager.filter(org_path__startswith=old_prefix).update(
            org_path=Concat(Value(new_prefix), Substr("org_path", Length(Value(old_prefix)) + 1))
        )
    return total


def people(
    *,
    unit: OrgUnit | int | None = None,
    department: Department | int | None = None,
    roles: Iterable[str] | None = None,
    at_or_above: str = "",
) -> list[User]:
    """Active users in the given roles attached to a department, to a unit (object or id), or with
    `at_or_above` (an org path) to that unit or any unit above it. One query."""
    qs = Membership.objects.filter(is_active=True)
    if roles is not None:
        qs = qs.filter(role__in=list(roles))
    if department is not None:
        qs = qs.filter(department=department)
    elif unit is not None:
        qs = qs.filter(org_unit=unit)
    elif at_or_above:
        qs = qs.filter(org_path__in=OrgUnit.path_lineage(at_or_above))
    else:
        return []
    return list(User.objects.filter(is_active=True, pk__in=qs.values("user_id")))
