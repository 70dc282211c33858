"""Changes to the work calendar: every write to overrides and warnings goes through these functions.

Each takes the acting user, checks "calendar.change", runs in a transaction and records a "calendar.change"
audit event with the old and new values.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from jiedao.audit.services import record_event
from jiedao.core.models.calendar import CalendarWarning, WorkdayOverride
from jiedao.core.permissions import require


def _values(override: WorkdayOverride) -> dict[str, Any]:
    return {"date": override.date.isoformat(), "is_workday": override.is_workday, "name": override.name}


def save_override(
    actor: Any,
    *,
    date: date,
    is_workday: bool,
    name: str = "",
    override: WorkdayOverride | None = None,
) -> WorkdayOverride:
    """Create an override (override=None) or change an existing one."""
    require(actor, "calendar.change")
    name = name.strip()
    with transaction.atomic():
        if override is None:
            if WorkdayOverride.objects.filter(date=date).exists():
                raise ValidationError({"date": _("%(date)s 已有调整记录，请编辑该记录。") % {"date": date}})
            old = None
            override = WorkdayOverride(date=date, is_workday=is_workday, name=name, created_by=actor)
        else:
            override = WorkdayOverride.objects.select_for_update().get(pk=override.pk)
            if override.date != date and WorkdayOverride.objects.filter(date=date).exists():
                raise ValidationError({"date": _("%(date)s 已有调整记录，请编辑该记录。") % {"date": date}})
            old = _values(override)
            override.date, override.is_workday, override.name = date, is_workday, name
        override.full_clean(exclude=["created_by"])
        override.save()
        record_event(
            "calendar.change",
            actor=actor,
            obj=override,
            org_path="",
            data={
                "action": "override.create" if old is None else "override.update",
                "old": old,
                "new": _values(override),
            },
        )
    return override


def delete_override(actor: Any, override: WorkdayOverride) -> None:
    require(actor, "calendar.change")
    with transaction.atomic():
        old = _values(override)
        record_event(
            "calendar.change",
            actor=actor,
            obj=override,
            org_path="",
            data={"action": "override.delete", "old": old, "new": None},
        )
        override.delete()


def resolve_warning(actor: Any, warning: CalendarWarning) -> CalendarWarning:
    """Mark a year's "no holiday data" warning as handled (e.g. after entering that year's overrides)."""
    require(actor, "calendar.change")
    with transaction.atomic():
        changed = CalendarWarning.objects.filter(pk=warning.pk, resolved=False).update(resolved=True)
        if changed:
            record_event(
                "calendar.change",
                actor=actor,
                obj=warning,
                org_path="",
                data={"action": "warning.resolve", "year": warning.year, "times": warning.times},
            )
    warning.refresh_from_db()
    return warning
