"""What the public side (the residents' portal and Open311) may show and use: the public categories, the
public list of places, masking of personal data in texts, the client address, rate limits."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from jiedao.audit.services import client_ip
from jiedao.cases.models import Case, Category, Status
from jiedao.core.models import OrgUnit

#: A run of 7+ digits (half- or full-width, spaces or dashes between them), with an optional ID-number "X".
_DIGIT_RUN = re.compile(r"[0-9０-９](?:[\s\-－]?[0-9０-９]){6,}[XxＸｘ]?")
#: Statuses a member of the public reads as "closed" (Open311 status=closed).
CLOSED_STATUSES = frozenset({Status.CLOSED, Status.RATED, Status.NOT_ACCEPTED, Status.MERGED})


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


def public_units() -> list[OrgUnit]:
    """The active sub-districts, communities/villages and grids a resident may pick, in tree order (a unit
    whose parent is inactive is left out with it)."""
    kinds = [OrgUnit.Kind.SUBDISTRICT, OrgUnit.Kind.COMMUNITY, OrgUnit.Kind.VILLAGE, OrgUnit.Kind.GRID]
    units = list(OrgUnit.objects.filter(kind__in=kinds, is_active=True).order_by("path"))
    inactive = set(OrgUnit.objects.filter(is_active=False).values_list("path", flat=True))
    step = OrgUnit.steplen
    return [u for u in units if not any(u.path[:i] in inactive for i in range(step, len(u.path), step))]


def mask_text(text: str, names: Iterable[str] = ()) -> str:
    """Hide phone numbers, ID numbers and other long digit runs, and the given names, in a text shown to the
    public."""
    masked = _DIGIT_RUN.sub(lambda m: "*" * len(m.group(0)), text or "")
    for name in names:
        name = (name or "").strip()
        if len(name) >= 2:
            masked = masked.replace(name, "*" * len(name))
    return masked


def is_public_closed(case: Case) -> bool:
    return case.status in CLOSED_STATUSES


def publicly_listed() -> QuerySet[Case]:
    """Cases the open interface may list: not confidential, not petitions, of a public category."""
    return Case.objects.filter(confidential=False, petition_type="", category__is_public=True)


def request_ip(request: HttpRequest) -> str | None:
    return client_ip(request)


def over_rate_limit(phone: str, ip: str | None, now: Any = None) -> str | None:
    """ "phone" or "ip" when that sender made its hourly allowance of cases already, else None."""
    since = (now or timezone.now()) - timedelta(hours=1)
    recent = Case.objects.filter(received_at__gte=since)
    if phone and recent.filter(requester_phone=phone).count() >= settings.PORTAL_RATE_PER_PHONE:
        return "phone"
    if ip and recent.filter(submit_ip=ip).count() >= settings.PORTAL_RATE_PER_IP:
        return "ip"
    return None


def children_of(units: Sequence[OrgUnit], parent: OrgUnit) -> list[OrgUnit]:
    return [u for u in units if u.depth == parent.depth + 1 and u.path.startswith(parent.path)]
