"""Receivers that keep the index in step where a module does not call it itself.

- A case is written by `jiedao.cases.services` (which does not know the search app): every save rewrites its
  entry (one upsert), unless the save named only fields the entry does not show.
- A deleted record of any searchable kind loses its entry.
- A saved compound or org unit teaches the segmenter its names (`jiedao.search.segment.announce_places`).
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from jiedao.cases.models import Case
from jiedao.core.models import OrgUnit
from jiedao.people.models import Compound
from jiedao.search import index
from jiedao.search.providers import CASE_FIELDS
from jiedao.search.registry import providers
from jiedao.search.segment import announce_places, split_aliases


def case_saved(sender: type, instance: Case, raw: bool = False, **kwargs: Any) -> None:
    if raw:  # loaddata: the fixture's rows are indexed by `manage.py reindex`
        return
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and not (set(update_fields) & CASE_FIELDS):
        return
    index.refresh([instance])


def record_deleted(sender: type, instance: Any, **kwargs: Any) -> None:
    index.remove([instance])


def compound_saved(sender: type, instance: Compound, raw: bool = False, **kwargs: Any) -> None:
    announce_places([instance.name, *split_aliases(instance.aliases)])


def unit_saved(sender: type, instance: OrgUnit, raw: bool = False, **kwargs: Any) -> None:
    announce_places([instance.name, instance.short_name])


def connect() -> None:
    post_save.connect(case_saved, sender=Case, dispatch_uid="search.case_saved")
    post_save.connect(compound_saved, sender=Compound, dispatch_uid="search.compound_saved")
    post_save.connect(unit_saved, sender=OrgUnit, dispatch_uid="search.unit_saved")
    for p in providers():
        post_delete.connect(record_deleted, sender=p.get_model(), dispatch_uid=f"search.deleted.{p.kind}")
