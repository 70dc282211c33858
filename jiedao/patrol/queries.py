"""Read-side answers: the live board of an event, the map data, patrol coverage and the event timeline. All
of them start from `visible_to(user)` querysets, so a grid worker's board, map and figures hold their grids
only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.cases.models import OPEN_STATUSES, Case
from jiedao.core.models import OrgUnit
from jiedao.core.models.scope import under_path
from jiedao.patrol import geo
from jiedao.patrol.models import (
    CheckStatus,
    EmergencyEvent,
    EventCheck,
    EventRecord,
    HazardPoint,
    PatrolItem,
    PatrolPlan,
)

COMMUNITY_PATH = 3 * OrgUnit.steplen  # district › sub-district › community


@dataclass
class BoardRow:
    unit: OrgUnit | None
    total: int = 0
    checked: int = 0
    hazards: int = 0
    open_cases: int = 0
    grids: list[BoardRow] = field(default_factory=list)

    @property
    def unchecked(self) -> int:
        return self.total - self.checked

    @property
    def percent(self) -> int:
        return round(100 * self.checked / self.total) if self.total else 0


def _units(paths: set[str]) -> dict[str, OrgUnit]:
    return {
        u.path: u
        for u in OrgUnit.objects.filter(path__in=paths).only(
            "id", "path", "name", "short_name", "code", "kind"
        )
    }


#: Above this many grids the board lists communities only (each opens its grids).
BOARD_GRID_LIMIT = 120


def board(event: EmergencyEvent, user: Any, unit: OrgUnit | None = None) -> tuple[BoardRow, list[BoardRow]]:
    """(totals, one row per community with its grids) of the event's checks the user sees (under `unit` when
    given): one grouped query over the checks, one for the unit names."""
    checks = EventCheck.objects.visible_to(user).filter(event=event)
    if unit is not None:
        checks = checks.filter(under_path("org_path", unit.path))
    rows = list(
        checks.values("org_path")
        .annotate(
            total=Count("id"),
            checked=Count("id", filter=~Q(status=CheckStatus.PENDING)),
            hazards=Count("id", filter=Q(status=CheckStatus.HAZARD)),
            open_cases=Count("id", filter=Q(case__status__in=list(OPEN_STATUSES))),
        )
        .order_by("org_path")
    )
    with_grids = len(rows) <= BOARD_GRID_LIMIT
    names = {r["org_path"][:COMMUNITY_PATH] for r in rows}
    units = _units(names | {r["org_path"] for r in rows} if with_grids else names)
    totals = BoardRow(None)
    communities: dict[str, BoardRow] = {}
    for r in rows:
        community_path = r["org_path"][:COMMUNITY_PATH]
        community = communities.get(community_path)
        if community is None:
            community = communities[community_path] = BoardRow(units.get(community_path))
        grid = BoardRow(units.get(r["org_path"]), r["total"], r["checked"], r["hazards"], r["open_cases"])
        if with_grids:
            community.grids.append(grid)
        for target in (community, totals):
            target.total += grid.total
            target.checked += grid.checked
            target.hazards += grid.hazards
            target.open_cases += grid.open_cases
    return totals, list(communities.values())


def findings(event: EmergencyEvent, user: Any, limit: int = 50) -> list[EventCheck]:
    return list(
        EventCheck.objects.visible_to(user)
        .filter(event=event, status=CheckStatus.HAZARD)
        .select_related("point", "point__kind", "org_unit", "checked_by", "case")
        .order_by("-checked_at")[:limit]
    )


def timeline(event: EmergencyEvent, user: Any) -> list[dict[str, Any]]:
    """Declaration, hazards found, people moved, measures and the close, in time order."""
    items: list[dict[str, Any]] = [
        {
            "at": event.started_at,
            "kind": "declare",
            "text": _("%(who)s 发布%(kind)s") % {"who": event.declared_by, "kind": event.kind},
        }
    ]
    for check in findings(event, user, limit=500):
        items.append(
            {
                "at": check.checked_at,
                "kind": "hazard",
                "text": _("%(who)s 在%(point)s发现险情：%(note)s")
                % {"who": check.checked_by or "", "point": check.point.name, "note": check.note},
                "case": check.case,
            }
        )
    for record in (
        EventRecord.objects.visible_to(user).filter(event=event).select_related("org_unit", "recorded_by")
    ):
        text = (
            _("%(unit)s转移群众 %(n)s 人至%(to)s：%(note)s")
            % {
                "unit": record.org_unit.name,
                "n": record.people_count,
                "to": record.destination,
                "note": record.note,
            }
            if record.kind == "evacuation"
            else _("%(unit)s：%(note)s") % {"unit": record.org_unit.name, "note": record.note}
        )
        items.append({"at": record.recorded_at, "kind": record.kind, "text": text, "who": record.recorded_by})
    if event.closed_at:
        items.append(
            {
                "at": event.closed_at,
                "kind": "close",
                "text": _("%(who)s 结束应急响应") % {"who": event.closed_by or ""},
            }
        )
    items.sort(key=lambda i: i["at"] or event.started_at)
    return items


# ---------------------------------------------------------------------------------------------------------
# Map data


def map_data(
    user: Any,
    *,
    unit: OrgUnit | None = None,
    kinds: list[str] | None = None,
    risk: str = "",
    event: EmergencyEvent | None = None,
) -> dict[str, Any]:
    """Grid boundaries, hazard points and open hazard cases the user sees (under `unit` when given), with
    positions as the configured tiles want them (GCJ-02 shift for display only)."""
    gcj = geo.tiles_use_gcj02()
    units = OrgUnit.objects.visible_to(user).filter(
        is_active=True,
        kind__in=[OrgUnit.Kind.COMMUNITY, OrgUnit.Kind.VILLAGE, OrgUnit.Kind.GRID],
        boundary__isnull=False,
    )
    points = HazardPoint.objects.visible_to(user).filter(is_active=True, latitude__isnull=False)
    cases = Case.objects.visible_to(user).filter(
        status__in=list(OPEN_STATUSES), category__is_hazard=True, latitude__isnull=False
    )
    if unit is not None:
        units = units.filter(under_path("path", unit.path))
        points = points.filter(under_path("org_path", unit.path))
        cases = cases.filter(under_path("org_path", unit.path))
    if kinds:
        points = points.filter(kind__code__in=kinds)
    if risk:
        points = points.filter(risk=risk)
    status_of: dict[int, str] = {}
    if event is not None:
        status_of = dict(EventCheck.objects.filter(event=event).values_list("point_id", "status"))
    features = [
        {
            "type": "Feature",
            "geometry": geo.shift_geometry(boundary, gcj),
            "properties": {"name": name, "code": code, "level": kind},
        }
        for name, code, kind, boundary in units.values_list("name", "code", "kind", "boundary")
        if isinstance(boundary, dict)
    ]
    out_points = []
    for pk, name, lat, lng, risk_value, kind_code, kind_name, color in points.values_list(
        "pk", "name", "latitude", "longitude", "risk", "kind__code", "kind__name", "kind__color"
    ):
        if lat is None or lng is None:
            continue
        dlat, dlng = geo.for_display(lat, lng, gcj)
        entry = {
            "id": pk,
            "name": name,
            "lat": dlat,
            "lng": dlng,
            "risk": risk_value,
            "kind": kind_code,
            "kind_name": kind_name,
            "color": color,
            "url": reverse("patrol:point_detail", args=[pk]),
        }
        if event is not None:
            entry["check"] = status_of.get(pk, "")
        out_points.append(entry)
    out_cases = []
    for number, title, lat, lng, status in cases.values_list(
        "number", "title", "latitude", "longitude", "status"
    )[:500]:
        dlat, dlng = geo.for_display(lat, lng, gcj)
        out_cases.append(
            {
                "number": number,
                "title": title,
                "lat": dlat,
                "lng": dlng,
                "status": status,
                "url": f"/cases/{number}/",
            }
        )
    return {
        "crs": "gcj02" if gcj else "wgs84",
        "boundaries": {"type": "FeatureCollection", "features": features},
        "points": out_points,
        "cases": out_cases,
    }


# ---------------------------------------------------------------------------------------------------------
# Coverage


@dataclass
class CoverageRow:
    label: str
    due: int = 0
    checked: int = 0
    hazards: int = 0

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.checked / self.due)) if self.due else 0


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return datetime.combine(start, time.min, tz), datetime.combine(end + timedelta(days=1), time.min, tz)


def coverage(user: Any, start: date, end: date) -> tuple[list[CoverageRow], list[CoverageRow]]:
    """Points due vs points checked in [start, end], per grid and per worker.

    Due: for each active plan, its points × the patrols the period asks for (period days ÷ the plan's period,
    rounded up, at least one). Checked: the points checked in that period on the plan's patrols, each point
    counted at most once per patrol and at most as often as it was due. Per worker: the plans named for them
    (a plan without a worker counts for its grid only) and the points they checked."""
    days = (end - start).days + 1
    lo, hi = period_bounds(start, end)
    plans = list(
        PatrolPlan.objects.visible_to(user)
        .filter(is_active=True)
        .select_related("org_unit", "worker")
        .annotate(n_points=Count("points", distinct=True))
    )
    checked = dict(
        PatrolItem.objects.filter(
            record__plan__in=plans, record__patrolled_at__gte=lo, record__patrolled_at__lt=hi
        )
        .values("record__plan")
        .annotate(n=Count("id"))
        .values_list("record__plan", "n")
    )
    hazards = dict(
        PatrolItem.objects.filter(
            record__plan__in=plans,
            record__patrolled_at__gte=lo,
            record__patrolled_at__lt=hi,
            status=CheckStatus.HAZARD,
        )
        .values("record__plan")
        .annotate(n=Count("id"))
        .values_list("record__plan", "n")
    )
    by_grid: dict[int, CoverageRow] = {}
    by_worker: dict[int, CoverageRow] = {}
    for plan in plans:
        cycles = max(1, -(-days // plan.every_days))
        due = plan.n_points * cycles
        done = min(checked.get(plan.pk, 0), due)
        grid = by_grid.setdefault(plan.org_unit_id, CoverageRow(plan.org_unit.name))
        grid.due += due
        grid.checked += done
        grid.hazards += hazards.get(plan.pk, 0)
        if plan.worker is not None and plan.worker_id is not None:
            row = by_worker.setdefault(plan.worker_id, CoverageRow(str(plan.worker)))
            row.due += due
            row.checked += done
            row.hazards += hazards.get(plan.pk, 0)
    grids = sorted(by_grid.values(), key=lambda r: r.label)
    workers = sorted(by_worker.values(), key=lambda r: r.label)
    return grids, workers


def overdue_plans(user: Any, now: datetime | None = None) -> list[PatrolPlan]:
    now = now or timezone.now()
    return list(
        PatrolPlan.objects.visible_to(user)
        .filter(is_active=True, due_at__lt=now)
        .select_related("org_unit", "worker")[:200]
    )
