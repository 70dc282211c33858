"""What the public side (the residents' portal and Open311) may show and use: the public categories, the
public list of places, masking of personal data in texts, the client address, rate limits."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, router
from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from jiedao.cases.models import Case, Category, CategoryField
from jiedao.core.models import OrgUnit
from jiedao.core.models.scope import under_path

#: A run of 7+ digits (half- or full-width, spaces or dashes between them), with an optional ID-number "X".
_DIGIT_RUN = re.compile(r"[0-9０-９](?:[\s\-－]?[0-9０-９]){6,}[XxＸｘ]?")


def public_categories() -> QuerySet[Category]:
    """Active categories offered to the public that have no active children (cases are filed under leaves),
    under an active public parent."""
    active_children = Category.objects.filter(parent=OuterRef("pk"), is_active=True)
    return (
        Category.objects.filter(is_public=True, is_active=True)
        .exclude(parent__is_active=False)
        .exclude(parent__is_public=False)
        .annotate(has_children=Exists(active_children))
        .filter(has_children=False)
        .select_related("parent")
        .order_by("parent__sort_order", "sort_order", "code")
    )


#: The kinds of unit a resident may pick, level by level.
SUBDISTRICT_KINDS = (OrgUnit.Kind.SUBDISTRICT,)
COMMUNITY_KINDS = (OrgUnit.Kind.COMMUNITY, OrgUnit.Kind.VILLAGE)
GRID_KINDS = (OrgUnit.Kind.GRID,)
#: The columns the place picker needs (never the GeoJSON boundary).
PLACE_COLUMNS = ("id", "code", "name", "short_name", "path", "kind", "depth", "is_active")
#: PLACE_COLUMNS in the model's field order (`Model.from_db` takes a partial row in that order).
_UNIT_COLUMNS = tuple(f.attname for f in OrgUnit._meta.concrete_fields if f.attname in PLACE_COLUMNS)
_CODE_AT = _UNIT_COLUMNS.index("code")
#: How long what is the same for everyone (public categories, the sub-district list) is kept per process.
CATALOG_SECONDS = 60
_VERSION_KEY = "portal:catalog:version"


@dataclass(frozen=True)
class Place:
    """One unit offered in the place picker."""

    code: str
    name: str
    path: str
    kind: str

    @property
    def parent_path(self) -> str:
        return self.path[: -OrgUnit.steplen]


@dataclass(frozen=True)
class PortalCatalog:
    """What the submit form offers everyone: public leaf categories (grouped by parent, each with its extra
    fields, own and inherited) and the public sub-districts."""

    categories: dict[str, Category]
    groups: list[tuple[str, list[tuple[str, str]]]]
    fields: dict[str, list[CategoryField]]
    subdistricts: list[Place]
    #: Units looked up by code so far (None: no such unit), kept as long as this catalogue (see `units`).
    unit_rows: dict[str, tuple[Any, ...] | None] = field(default_factory=dict, compare=False, repr=False)

    @property
    def subdistrict_paths(self) -> dict[str, Place]:
        return {p.path: p for p in self.subdistricts}

    def units(self, codes: Iterable[str]) -> dict[str, OrgUnit]:
        """The units with these codes (only the place picker's columns loaded), each looked up once per
        catalogue: a saved or deleted unit starts a new catalogue, so a unit renamed, moved or stopped is read
        again. Every portal submission names its community and grid; this spares each one a query."""
        wanted = [c for c in dict.fromkeys(codes) if c]
        missing = [c for c in wanted if c not in self.unit_rows]
        if missing:
            found = {
                row[_CODE_AT]: row
                for row in OrgUnit.objects.filter(code__in=missing).values_list(*_UNIT_COLUMNS)
            }
            for code in missing:
                self.unit_rows[code] = found.get(code)
        db = router.db_for_read(OrgUnit)
        return {
            code: OrgUnit.from_db(db, _UNIT_COLUMNS, row)
            for code in wanted
            if (row := self.unit_rows[code]) is not None
        }


_memo: dict[str, tuple[float, str, PortalCatalog]] = {}


def _catalog_version() -> str:
    """A token that changes whenever a category, extra field or unit is saved or deleted (in this process, or
    in every process when the cache is shared, e.g. Redis); a cleared cache also starts a new one."""
    version = cache.get(_VERSION_KEY)
    if version is None:
        cache.add(_VERSION_KEY, uuid.uuid4().hex, timeout=None)
        version = cache.get(_VERSION_KEY) or ""
    return str(version)


def forget_catalog(**kwargs: Any) -> None:
    cache.set(_VERSION_KEY, uuid.uuid4().hex, timeout=None)


def portal_catalog() -> PortalCatalog:
    """The public categories and sub-districts, built at most every CATALOG_SECONDS per process, and again at
    once when `forget_catalog` ran (a category, extra field or unit was saved or deleted)."""
    version = _catalog_version()
    held = _memo.get("catalog")
    if held is not None and held[0] > time.monotonic() and held[1] == version:
        return held[2]
    catalog = _build_catalog()
    _memo["catalog"] = (time.monotonic() + CATALOG_SECONDS, version, catalog)
    return catalog


def _build_catalog() -> PortalCatalog:
    categories = list(public_categories())
    groups: dict[str, list[tuple[str, str]]] = {}
    for c in categories:
        groups.setdefault(c.parent.name if c.parent else "", []).append((c.code, c.name))
    by_pk = {c.pk: c for c in categories}
    parents = {c.parent_id for c in categories if c.parent_id}
    specs = list(
        CategoryField.objects.filter(category_id__in=[*by_pk, *parents]).order_by("sort_order", "code")
    )
    fields: dict[str, list[CategoryField]] = {}
    for c in categories:
        lineage = {c.pk, c.parent_id}
        fields[c.code] = [s for s in specs if s.category_id in lineage]
    return PortalCatalog(
        categories={c.code: c for c in categories},
        groups=list(groups.items()),
        fields=fields,
        subdistricts=_public_subdistricts(),
    )


def _places(qs: QuerySet[OrgUnit]) -> list[Place]:
    rows = (
        qs.filter(is_active=True)
        .order_by("sort_order", "path")
        .values_list("code", "name", "short_name", "path", "kind")
    )
    return [Place(code, short or name, path, kind) for code, name, short, path, kind in rows]


def _public_subdistricts() -> list[Place]:
    """Active sub-districts whose units above are active too."""
    above = OrgUnit.objects.filter(is_active=False).exclude(kind__in=[*COMMUNITY_KINDS, *GRID_KINDS])
    inactive = set(above.values_list("path", flat=True))
    places = _places(OrgUnit.objects.filter(kind__in=SUBDISTRICT_KINDS))
    return [p for p in places if inactive.isdisjoint(OrgUnit.path_lineage(p.path, include_self=False))]


def child_places(parent: Place, kinds: Sequence[str]) -> list[Place]:
    """The active units of `kinds` right under `parent` (one indexed query on the path)."""
    return _places(
        OrgUnit.objects.filter(
            under_path("path", parent.path), depth=len(parent.path) // OrgUnit.steplen + 1, kind__in=kinds
        )
    )


def place_of(unit: OrgUnit) -> Place:
    return Place(unit.code, unit.display_name, unit.path, unit.kind)


# A saved or deleted category, extra field or unit starts a new catalogue version (see portal_catalog).
for _model in (Category, CategoryField, OrgUnit):
    post_save.connect(forget_catalog, sender=_model, dispatch_uid=f"portal-catalog-save-{_model.__name__}")
    post_delete.connect(forget_catalog, sender=_model, dispatch_uid=f"portal-catalog-del-{_model.__name__}")


def mask_text(text: str, names: Iterable[str] = ()) -> str:
    """Hide phone numbers, ID numbers and other long digit runs, and the given names, in a text shown to the
    public."""
    masked = _DIGIT_RUN.sub(lambda m: "*" * len(m.group(0)), text or "")
    for name in names:
        name = (name or "").strip()
        if len(name) >= 2:
            masked = masked.replace(name, "*" * len(name))
    return masked


def publicly_listed() -> QuerySet[Case]:
    """Cases the open interface may list: not confidential, not petitions, of a public category."""
    return Case.objects.filter(confidential=False, petition_type="", category__is_public=True)


@dataclass(frozen=True)
class SubmitCheck:
    """Before a portal submission: the case an earlier submit with the same key made (its id), and which
    hourly allowance the sender has used up ("phone", "ip" or "")."""

    made_id: int | None
    over_limit: str


def check_submission(key_hash: str, phone: str, ip: str | None, now: Any = None) -> SubmitCheck:
    """One query for the idempotency key and both rate limits (they run on every submit). Each count reads
    only its covering index (case_phone_idx / case_ip_idx) and stops at the limit."""
    since = connection.ops.adapt_datetimefield_value((now or timezone.now()) - timedelta(hours=1))
    per_phone, per_ip = settings.PORTAL_RATE_PER_PHONE, settings.PORTAL_RATE_PER_IP
    table = connection.ops.quote_name(Case._meta.db_table)

    def allowance(column: str) -> str:
        return (
            f"(SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE {column} = %s AND received_at >= %s"
            " LIMIT %s) AS recent)"
        )

    sql = (
        f"SELECT (SELECT id FROM {table} WHERE idempotency_key = %s), "
        f"{allowance('requester_phone')}, {allowance('submit_ip')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [key_hash, phone, since, per_phone, ip, since, per_ip])
        made_id, by_phone, by_ip = cursor.fetchone()
    if phone and by_phone >= per_phone:
        over = "phone"
    elif ip and by_ip >= per_ip:
        over = "ip"
    else:
        over = ""
    return SubmitCheck(made_id, over)
