"""Likely duplicates and recurrences at intake.

`find_similar`: cases in the same community (a grid's parent, or the unit itself) and the same category (or a
sibling under the same parent) received within the last N days, scored by the Jaccard similarity of the
character bigrams of their title and description. `recurrence`: earlier closed cases of the category at the
same place (the same grid, or the same address text).

Both ask the database one bounded question on indexed columns (category + received_at, org_path) and score at
most `MAX_CANDIDATES` rows in Python, so they stay fast with a million cases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Lower, Replace
from django.utils import timezone

from jiedao.cases.models import DONE_STATUSES, Case, Category, Status
from jiedao.core.models import OrgUnit
from jiedao.core.models.scope import under_path

MAX_CANDIDATES = 300
THRESHOLD = 0.25
_KEEP = re.compile(r"[0-9a-z\u3400-\u9fff]+")


@dataclass(frozen=True)
class Similar:
    case: Case
    score: float

    @property
    def percent(self) -> int:
        return round(self.score * 100)


def bigrams(text: str) -> set[str]:
    """Character bigrams of the text's runs of Chinese characters, letters and digits (punctuation and spaces
    split runs; a one-character run counts as itself)."""
    grams: set[str] = set()
    for run in _KEEP.findall((text or "").lower()):
        if len(run) == 1:
            grams.add(run)
        grams.update(run[i : i + 2] for i in range(len(run) - 1))
    return grams


def jaccard(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def community_of(unit: OrgUnit) -> OrgUnit:
    """The community (or village) a grid belongs to; any other unit is its own neighbourhood."""
    if unit.kind == OrgUnit.Kind.GRID and unit.depth > 1:
        parent = OrgUnit.objects.filter(path=unit.path[: -OrgUnit.steplen]).first()
        if parent is not None:
            return parent
    return unit


def related_categories(category: Category) -> list[int]:
    """The category and its active siblings under the same parent."""
    if category.parent_id is None:
        return [category.pk]
    ids = set(Category.objects.filter(parent_id=category.parent_id).values_list("pk", flat=True))
    ids.add(category.pk)
    return sorted(ids)


def find_similar(
    category: Category,
    org_unit: OrgUnit,
    text: str,
    *,
    exclude_pk: int | None = None,
    days: int = 30,
    limit: int = 10,
    queryset: QuerySet[Case] | None = None,
    now: datetime | None = None,
) -> list[Similar]:
    """Likely duplicates of a new (or existing) case, best first. `queryset` narrows the candidates (pass
    `Case.objects.visible_to(user)` so nobody learns of cases outside their scope)."""
    mine = bigrams(text)
    if not mine:
        return []
    now = now or timezone.now()
    community = community_of(org_unit)
    qs = queryset if queryset is not None else Case.objects.all()
    qs = (
        qs.filter(
            under_path("org_path", community.path, qs.db),
            category_id__in=related_categories(category),
            received_at__gte=now - timedelta(days=days),
        )
        .exclude(status=Status.MERGED)
        .select_related("category", "org_unit")
        .order_by("-received_at")
    )
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    found = []
    for case in qs[:MAX_CANDIDATES]:
        score = jaccard(mine, bigrams(f"{case.title} {case.description}"))
        if score >= THRESHOLD:
            found.append(Similar(case, score))
    found.sort(key=lambda s: (-s.score, -s.case.received_at.timestamp()))
    return found[:limit]


def recurrence(
    category: Category,
    org_unit: OrgUnit,
    address: str = "",
    years: int = 1,
    *,
    exclude_pk: int | None = None,
    limit: int = 10,
    queryset: QuerySet[Case] | None = None,
    now: datetime | None = None,
) -> list[Case]:
    """Earlier closed cases of this category at the same place: the same grid, or the same address text,
    newest first."""
    now = now or timezone.now()
    place = Q()
    if org_unit.kind == OrgUnit.Kind.GRID:
        place |= Q(org_unit=org_unit)
    address = re.sub(r"\s+", "", address or "").lower()
    if address:
        place |= Q(address_key=address)
    if not place:
        return []
    qs = queryset if queryset is not None else Case.objects.all()
    # The same address text, ignoring case and spaces ("陇海东路 12 号" = "陇海东路12号").
    qs = qs.annotate(address_key=Replace(Lower("address"), Value(" "), Value("")))
    community = community_of(org_unit)
    qs = (
        qs.filter(
            place,
            under_path("org_path", community.path, qs.db),
            category=category,
            status__in=DONE_STATUSES,
            received_at__gte=now - timedelta(days=365 * years),
        )
        .select_related("category", "org_unit")
        .order_by("-received_at")
    )
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return list(qs[:limit])
