"""积案 (backlog) and the 清零 campaign board.

A case is backlog (积案) when it is open and
- "age": it was received more than `BACKLOG_DAYS` (30) days ago (超过 30 天未办结), or
- "person": its requester's phone raised at least `REPEAT_MIN` (3) cases in the last `REPEAT_DAYS` (90) days
  (重复来件), or
- "place": its place (org unit) and category had at least 3 cases in the last 90 days (同一地点同类问题).
The repeat counts are taken over the cases the viewer may see (`within`), so the board, the drill-down list
and the repeated lists always agree. The 90-day window starts at midnight, 90 days before today.

The campaign (清零行动) starts on a day (default: the first day of the current quarter). Its baseline is the
age backlog at that moment: cases open at the start (closed_at empty or after the start) and received more
than 30 days before it. Cleared = baseline cases no longer open; remaining = baseline cases still open (a case
closed after the start and then reopened counts as remaining).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, IntegerField, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.lookups import GreaterThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.cases.measures import case_list_url
from jiedao.cases.models import OPEN_STATUSES, Case

BACKLOG_DAYS = 30
REPEAT_DAYS = 90
REPEAT_MIN = 3
KINDS = ("age", "person", "place", "any")
OPEN = Q(status__in=OPEN_STATUSES)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def repeat_since(now: datetime) -> datetime:
    """Start of the repeat window: midnight, REPEAT_DAYS days before today."""
    return _midnight(timezone.localdate(now) - timedelta(days=REPEAT_DAYS))


def _repeat_count(within: QuerySet[Case], now: datetime, *fields: str) -> Subquery:
    """Number of cases in `within` received in the repeat window sharing `fields` with the outer case."""
    return Subquery(
        within.filter(received_at__gte=repeat_since(now), **{f: OuterRef(f) for f in fields})
        .order_by()
        .values(*fields)
        .annotate(n=Count("pk"))
        .values("n")[:1],
        output_field=IntegerField(),
    )


def backlog_q(kind: str, now: datetime | None = None, within: QuerySet[Case] | None = None) -> Q:
    """The backlog cases of `kind` ("age", "person", "place" or "any") as a filter."""
    now = now or timezone.now()
    within = Case.objects.all() if within is None else within
    if kind == "age":
        return OPEN & Q(received_at__lt=now - timedelta(days=BACKLOG_DAYS))
    if kind == "person":
        repeated = GreaterThanOrEqual(_repeat_count(within, now, "requester_phone"), REPEAT_MIN)
        return OPEN & ~Q(requester_phone="") & Q(repeated)
    if kind == "place":
        repeated = GreaterThanOrEqual(_repeat_count(within, now, "org_unit_id", "category_id"), REPEAT_MIN)
        return OPEN & Q(repeated)
    if kind == "any":
        return (
            backlog_q("age", now, within) | backlog_q("person", now, within) | backlog_q("place", now, within)
        )
    raise ValueError(f"unknown backlog kind {kind!r}")


def campaign_start(day: date) -> datetime:
    return _midnight(day)


def quarter_start(today: date) -> date:
    return date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)


def baseline_q(start: datetime) -> Q:
    """The age backlog at `start`: open then (closed_at empty or after it), received 30+ days before it."""
    return Q(received_at__lt=start - timedelta(days=BACKLOG_DAYS)) & (
        Q(closed_at__isnull=True) | Q(closed_at__gt=start)
    )


@dataclass
class LeaderRow:
    label: str
    params: dict[str, str]
    baseline: int
    remaining: int

    @property
    def cleared(self) -> int:
        return self.baseline - self.remaining

    @property
    def progress(self) -> int:
        """Percent of the baseline cleared (100 when there was nothing to clear)."""
        return round(100 * self.cleared / self.baseline) if self.baseline else 100

    @property
    def cleared_url(self) -> str:
        return self.link("cleared")

    @property
    def remaining_url(self) -> str:
        return self.link("remaining")

    def link(self, which: str = "baseline") -> str:
        params = dict(self.params)
        if which == "remaining":
            params["open"] = "true"
        elif which == "cleared":
            params["open"] = "false"
        return case_list_url(params)


def board(qs: QuerySet[Case], day: date, extra: dict[str, str] | None = None) -> list[LeaderRow]:
    """The campaign per 包案领导 (one grouped query); the row without a leader comes last."""
    start = campaign_start(day)
    rows = (
        qs.filter(baseline_q(start))
        .order_by()
        .values("leader_in_charge", "leader_in_charge__username", "leader_in_charge__full_name")
        .annotate(baseline=Count("pk"), remaining=Count("pk", filter=OPEN))
    )
    result = []
    common = {**(extra or {}), "baseline_start": day.isoformat()}
    for row in rows:
        if row["leader_in_charge"] is None:
            label, params = _("未指定包案领导"), {**common, "no_leader": "true"}
        else:
            label = row["leader_in_charge__full_name"] or row["leader_in_charge__username"]
            params = {**common, "leader": row["leader_in_charge__username"]}
        result.append(LeaderRow(label, params, row["baseline"], row["remaining"]))
    result.sort(key=lambda r: (r.params.get("no_leader") == "true", -r.remaining, r.label))
    return result


def weekly_remaining(
    qs: QuerySet[Case], day: date, now: datetime, max_points: int = 53
) -> list[dict[str, Any]]:
    """Baseline cases still open at the start, each week since, and now (one query).

    Still open at t = open now, or closed after t (by the current closing time)."""
    start = campaign_start(day)
    if now <= start:
        return []
    weeks = (now - start).days // 7
    step = max(1, -(-weeks // max_points)) if weeks else 1
    points = [start + timedelta(days=7 * i) for i in range(0, weeks + 1, step)]
    if points[-1] < now:
        points.append(now)
    counts = {f"p{i}": Count("pk", filter=OPEN | Q(closed_at__gt=t)) for i, t in enumerate(points)}
    row = qs.filter(baseline_q(start)).aggregate(**counts)
    return [
        {"date": timezone.localdate(t).isoformat(), "remaining": row[f"p{i}"]} for i, t in enumerate(points)
    ]


def current_counts(
    qs: QuerySet[Case], now: datetime, within: QuerySet[Case], extra: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Today's backlog by kind (one query), each with its case-list link."""
    labels = {
        "age": _("超过 %(days)s 天未办结") % {"days": BACKLOG_DAYS},
        "person": _("重复来件（%(days)s 天内同一电话 %(n)s 件以上）")
        % {"days": REPEAT_DAYS, "n": REPEAT_MIN},
        "place": _("同一地点同类问题（%(days)s 天内 %(n)s 件以上）") % {"days": REPEAT_DAYS, "n": REPEAT_MIN},
        "any": _("积案合计"),
    }
    row = qs.filter(OPEN).aggregate(**{k: Count("pk", filter=backlog_q(k, now, within)) for k in KINDS})
    return [
        {
            "kind": k,
            "label": labels[k],
            "count": row[k],
            "url": case_list_url({**(extra or {}), "backlog": k}),
        }
        for k in KINDS
    ]


def repeated_people(
    qs: QuerySet[Case], now: datetime, extra: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Phones with 3+ cases in the window and an open case (one grouped query): the window's count and the
    open (backlog) count. The phone is masked; the links name one of the cases (same_requester) so no phone
    number travels in a URL."""
    since = repeat_since(now)
    recent = Q(received_at__gte=since)
    rows = (
        qs.filter(Q(received_at__gte=since) | OPEN)
        .exclude(requester_phone="")
        .order_by()
        .values("requester_phone")
        .annotate(n=Count("pk", filter=recent), open=Count("pk", filter=OPEN), sample=Max("number"))
        .filter(n__gte=REPEAT_MIN, open__gt=0)
        .order_by("-n", "sample")
    )
    result = []
    for row in rows:
        phone = row["requester_phone"]
        masked = f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 7 else "****"
        base = {**(extra or {}), "same_requester": row["sample"]}
        result.append(_repeat_row(masked, row, base, "person", since))
    return result


def repeated_places(
    qs: QuerySet[Case], now: datetime, extra: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Places (org unit) + category with 3+ cases in the window and an open one (one grouped query)."""
    since = repeat_since(now)
    recent = Q(received_at__gte=since)
    rows = (
        qs.filter(Q(received_at__gte=since) | OPEN)
        .order_by()
        .values("org_unit", "org_unit__name", "category", "category__name")
        .annotate(n=Count("pk", filter=recent), open=Count("pk", filter=OPEN), sample=Max("number"))
        .filter(n__gte=REPEAT_MIN, open__gt=0)
        .order_by("-n", "sample")
    )
    result = []
    for row in rows:
        base = {**(extra or {}), "same_place": row["sample"]}
        result.append(_repeat_row(row["org_unit__name"], row, base, "place", since, row["category__name"]))
    return result


def _repeat_row(
    label: str, row: Any, base: dict[str, str], kind: str, since: datetime, category: str = ""
) -> dict[str, Any]:
    return {
        "label": label,
        "category": category,
        "count": row["n"],
        "open": row["open"],
        "url": case_list_url({**base, "received_after": timezone.localdate(since).isoformat()}),
        "open_url": case_list_url({**base, "backlog": kind}),
    }
