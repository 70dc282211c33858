"""A project's change history for its page: the historical rows (django-simple-history) of the project and of
its children (investment months, milestones, problems, progress notes, attachments), newest first, each with
the fields that changed from the previous version of the same record. One query per model."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import models

from jiedao.projects.models import (
    Attachment,
    InvestmentEntry,
    KeyProject,
    Milestone,
    Problem,
    ProgressNote,
)

#: Per model, the fields a reader cares about (in order).
SHOWN: dict[type[models.Model], tuple[str, ...]] = {
    KeyProject: (
        "name",
        "kind",
        "stage",
        "owner_company",
        "org_unit",
        "address",
        "leader",
        "total_investment",
        "start_date",
        "planned_completion",
        "description",
        "is_active",
    ),
    InvestmentEntry: ("month", "planned", "completed", "note"),
    Milestone: ("name", "planned_date", "actual_date", "note"),
    Problem: ("description", "owner", "due_date", "status", "solution"),
    ProgressNote: ("text",),
    Attachment: ("name", "description", "is_removed"),
}
#: How many of the latest rows per model are read (enough to fill the page's list).
PER_MODEL = 200


@dataclass
class Change:
    label: str
    old: str
    new: str


@dataclass
class Entry:
    when: datetime
    user: Any
    kind: str  # "+", "~", "-"
    model: str
    record: str
    changes: list[Change] = field(default_factory=list)


def _display(model: type[models.Model], name: str, row: Any) -> str:
    f: Any = model._meta.get_field(name)
    if f.choices:
        value = getattr(row, name)
        return str(dict(f.flatchoices).get(value, value) or "")
    if isinstance(f, models.ForeignKey):
        related = getattr(row, name, None)
        return str(related) if related is not None else ""
    value = getattr(row, name)
    if value is None:
        return ""
    if isinstance(value, bool):
        from django.utils.translation import gettext as _

        return _("是") if value else _("否")
    return str(value)


def _label(model: type[models.Model], name: str) -> str:
    f: Any = model._meta.get_field(name)
    return str(f.verbose_name)


def _record(model: type[models.Model], row: Any) -> str:
    if model is KeyProject:
        return ""
    if model is InvestmentEntry:
        return f"{row.month:%Y-%m}"
    for name in ("name", "description", "text"):
        if hasattr(row, name):
            return str(getattr(row, name))[:40]
    return ""


def project_history(project: KeyProject, limit: int = 30) -> list[Entry]:
    entries: list[Entry] = []
    for model, names in SHOWN.items():
        manager = model.history  # type: ignore[attr-defined]
        rows = manager.filter(id=project.pk) if model is KeyProject else manager.filter(project_id=project.pk)
        related = [n for n in names if isinstance(model._meta.get_field(n), models.ForeignKey)]
        rows = list(
            rows.select_related("history_user", *related).order_by("-history_date", "-history_id")[:PER_MODEL]
        )
        rows.reverse()
        previous: dict[Any, Any] = {}
        for row in rows:
            before = previous.get(row.id)
            changes: list[Change] = []
            if before is not None and row.history_type == "~":
                for name in names:
                    old, new = _display(model, name, before), _display(model, name, row)
                    if old != new:
                        changes.append(Change(_label(model, name), old, new))
                if not changes:
                    previous[row.id] = row
                    continue
            previous[row.id] = row
            entries.append(
                Entry(
                    when=row.history_date,
                    user=row.history_user,
                    kind=row.history_type,
                    model=str(model._meta.verbose_name),
                    record=_record(model, row),
                    changes=changes,
                )
            )
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries[:limit]
