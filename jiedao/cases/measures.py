"""三率: the monthly response, resolution and satisfaction rates of cases, in total and per unit.

Definitions (the page shows them in the same words; months are calendar months in the configured time zone):

- 响应率 = 当月派遣的工单中，在响应时限内签收的件数 ÷ 当月派遣的工单件数。
  (cases whose `dispatched_at` lies in the month and whose `responded_at` is not later than their
  `response_due_at`, over the cases dispatched in the month; a re-dispatched case counts with its latest
  dispatch.)
- 解决率 = 当月结案的工单中，办理结果为“已解决”的件数 ÷ 当月结案的工单件数。
  (cases whose `closed_at` lies in the month, whose status is 已结案/已评价/复查复核中 and whose outcome is
  set — merged cases and 不予受理 are not counted — with outcome 已解决, over those cases; the other outcomes
  部分解决/已解释/转法定途径/非本单位职责 are shown as a breakdown.)
- 满意率 = 当月评价的工单中，评价为“满意”或“基本满意”的件数 ÷ 当月评价的工单件数。
  (cases whose `rated_at` lies in the month; a reopened case counts once, with its latest rating.)
- Per unit: 社区/村 by the case's place (the first three steps of `org_path`, i.e. the community or village
  the place lies in; cases placed directly at the sub-district form their own row), counting only cases
  handled by communities (no lead department); 科室 by `lead_department`.
- Ranking (综合得分) = the mean of those of the three rates that have data (a denominator above zero); units
  with no data in the month come last.

Where the numbers come from: the page reads the monthly rollup `MonthlyFigure` (one row per month,
community key and lead department, with the counts above), never the cases, so it costs a handful of small
grouped queries at a million cases as at a thousand. `refresh_month` recomputes one month's rows from all
cases with three grouped aggregate queries (dispatched / closed / rated in the month) built from the same
conditions (`dispatched_q`, `closed_q`, `rated_q`, `ON_TIME`, `LATE`, `NOT_RESPONDED`) as the case-list
filters, so the drill-down lists and the counts agree exactly as of the last refresh.

Freshness (see `jiedao.cases.rollup`): the shared deadline engine recomputes the current and the previous
month every 10 minutes and the last 13 months once a night (the first run after local midnight); a month never
computed is computed when first viewed; users with "case.measures" may press 立即更新 (`request_refresh`);
`manage.py refresh_measures` recomputes any range. Older months are only recomputed on request, so late
changes to cases of long-closed months (a re-dispatch, a late rating) show there only after such a refresh.
The page says when its month was last computed ("数据更新于 HH:MM").

Scope: rollup rows are scoped like cases, by the community's path ("case.view"), so a leader sees the rows
of their sub-district and a community's staff the rows of their community. The counts include confidential
cases (the rollup has no per-case visibility), while a drill-down list shows only the cases the viewer may
open — so a list can be shorter than its count for a viewer without "case.view_confidential".

Every figure has the case-list query parameters (CaseFilterSet) that list exactly the cases behind it.
"""

from __future__ import annotations

import re
import time as time_module
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cached_property, lru_cache
from typing import Any
from urllib.parse import urlencode

from django.db import transaction
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Substr
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiedao.audit.services import record_event
from jiedao.cases.models import Case, MonthlyFigure, MonthlyFigureRun, Outcome, Rating, Status
from jiedao.core.models import Department, OrgUnit
from jiedao.core.models.scope import under_path
from jiedao.core.permissions import require

#: Length of a community's (or village's) path: district, sub-district, community.
COMMUNITY_PATH_LENGTH = 3 * OrgUnit.steplen

#: Statuses of a case that counts as closed for the resolution rate (an outcome is set).
CLOSED_STATUSES = (Status.CLOSED, Status.RATED, Status.UNDER_REVIEW)
GOOD_RATINGS = (Rating.SATISFIED, Rating.BASIC)
BREAKDOWN = (Outcome.PARTIAL, Outcome.EXPLAINED, Outcome.LEGAL, Outcome.NOT_OURS)

DEFINITIONS = [
    (
        _("响应率"),
        _("当月派遣的工单中，在响应时限内签收的件数 ÷ 当月派遣的工单件数（重新派遣的以最近一次派遣为准）。"),
    ),
    (
        _("解决率"),
        _(
            "当月结案的工单中，办理结果为“已解决”的件数 ÷ 当月结案的工单件数（状态为已结案、已评价或"
            "复查复核中且有办理结果；合并和不予受理的工单不计）。"
        ),
    ),
    (
        _("满意率"),
        _(
            "当月评价的工单中，评价为“满意”或“基本满意”的件数 ÷ 当月评价的工单件数（不满意重办的工单只按最近"
            "一次评价计一次）。"
        ),
    ),
    (
        _("单位"),
        _("社区/村按工单发生地所属社区/村统计，只计社区/村承办（无主办科室）的工单；科室按主办科室统计。"),
    ),
    (_("排名"), _("综合得分 = 有数据的各率的平均值；当月没有数据的单位排在最后。")),
]

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


# ---------------------------------------------------------------------------------------------------------
# Months and the conditions shared with the case list filters


def parse_month(value: str | None) -> date | None:
    """ "2026-03" → date(2026, 3, 1); None for anything else."""
    match = _MONTH.match((value or "").strip())
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not (1 <= month <= 12 and 1900 <= year <= 2999):
        return None
    return date(year, month, 1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The month as [start, end) aware datetimes in the current time zone."""
    tz = timezone.get_current_timezone()
    start = datetime.combine(month.replace(day=1), time.min, tzinfo=tz)
    return start, datetime.combine(add_months(month, 1), time.min, tzinfo=tz)


def current_month(now: datetime | None = None) -> date:
    return timezone.localdate(now or timezone.now()).replace(day=1)


def dispatched_q(start: datetime, end: datetime) -> Q:
    return Q(dispatched_at__gte=start, dispatched_at__lt=end)


def closed_q(start: datetime, end: datetime) -> Q:
    """Closed in [start, end) with an outcome (not merged, not 不予受理)."""
    return Q(closed_at__gte=start, closed_at__lt=end, status__in=CLOSED_STATUSES) & ~Q(outcome="")


def rated_q(start: datetime, end: datetime) -> Q:
    return Q(rated_at__gte=start, rated_at__lt=end) & ~Q(rating="")


ON_TIME = Q(responded_at__isnull=False, response_due_at__isnull=False, responded_at__lte=F("response_due_at"))
LATE = Q(responded_at__isnull=False) & (
    Q(response_due_at__isnull=True) | Q(responded_at__gt=F("response_due_at"))
)
NOT_RESPONDED = Q(responded_at__isnull=True)
RESPONDED = {"on_time": ON_TIME, "late": LATE, "none": NOT_RESPONDED}


def community_key_q(path: str) -> Q:
    """Cases whose community key (the first three path steps of the place) is the key of `path`."""
    if len(path) >= COMMUNITY_PATH_LENGTH:
        return under_path("org_path", path[:COMMUNITY_PATH_LENGTH], Case.objects.db)
    return Q(org_path=path)


# ---------------------------------------------------------------------------------------------------------
# Figures


def _aggregates(start: datetime, end: datetime) -> dict[str, Count]:
    d, c, r = dispatched_q(start, end), closed_q(start, end), rated_q(start, end)
    counts = {
        "dispatched": Count("pk", filter=d),
        "on_time": Count("pk", filter=d & ON_TIME),
        "late": Count("pk", filter=d & LATE),
        "unresponded": Count("pk", filter=d & NOT_RESPONDED),
        "closed": Count("pk", filter=c),
        "resolved": Count("pk", filter=c & Q(outcome=Outcome.RESOLVED)),
        "rated": Count("pk", filter=r),
        "good": Count("pk", filter=r & Q(rating__in=GOOD_RATINGS)),
    }
    for outcome in BREAKDOWN:
        counts[f"outcome_{outcome}"] = Count("pk", filter=c & Q(outcome=outcome))
    return counts


def _any_q(start: datetime, end: datetime) -> Q:
    """Rows that can count at all this month (lets each index narrow the scan)."""
    return (
        Q(dispatched_at__gte=start, dispatched_at__lt=end)
        | Q(closed_at__gte=start, closed_at__lt=end)
        | Q(rated_at__gte=start, rated_at__lt=end)
    )


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def percent(rate: float | None) -> str:
    """93.5% — or a dash when there is nothing to divide by."""
    return "—" if rate is None else f"{100 * rate:.1f}%"


def chart_value(rate: float | None) -> float | None:
    return None if rate is None else round(100 * rate, 1)


@lru_cache(maxsize=16)
def _case_list_base(prefix: str, urlconf: str | None) -> str:
    try:
        return reverse("cases:case_list", urlconf=urlconf)
    except NoReverseMatch:  # the list page lives in views.py; its URL is /cases/
        return f"{prefix}cases/"


def case_list_url(params: dict[str, str]) -> str:
    """The staff case list filtered by CaseFilterSet parameters (the list's URL is looked up once per script
    prefix: a district's ranking table has thousands of links)."""
    return f"{_case_list_base(get_script_prefix(), get_urlconf())}?{urlencode(params)}"


@dataclass
class Figures:
    """The month's counts of one table row (or the totals) and the drill-down link of each number."""

    label: str
    code: str = ""
    params: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    month: str = ""

    def __getitem__(self, key: str) -> int:
        return self.counts[key]  # a KeyError lets templates fall back to the attributes

    @property
    def response_rate(self) -> float | None:
        return _rate(self["on_time"], self["dispatched"])

    @property
    def resolution_rate(self) -> float | None:
        return _rate(self["resolved"], self["closed"])

    @property
    def satisfaction_rate(self) -> float | None:
        return _rate(self["good"], self["rated"])

    @property
    def composite(self) -> float | None:
        rates = [
            r for r in (self.response_rate, self.resolution_rate, self.satisfaction_rate) if r is not None
        ]
        return sum(rates) / len(rates) if rates else None

    @cached_property  # the tables read it several times per row
    def rates(self) -> dict[str, str]:
        return {
            "response": percent(self.response_rate),
            "resolution": percent(self.resolution_rate),
            "satisfaction": percent(self.satisfaction_rate),
            "composite": percent(self.composite),
        }

    @property
    def has_data(self) -> bool:
        return bool(self["dispatched"] or self["closed"] or self["rated"])

    @property
    def breakdown(self) -> list[dict[str, Any]]:
        return [
            {"label": Outcome(o).label, "count": self[f"outcome_{o}"], "url": self.link("closed", outcome=o)}
            for o in BREAKDOWN
        ]

    def link(self, figure: str, **extra: str) -> str:
        """The case list behind `figure` (a key of `counts`)."""
        m = self.month
        params = dict(self.params)
        params.update(
            {
                "dispatched": {"dispatched_month": m},
                "on_time": {"dispatched_month": m, "responded": "on_time"},
                "late": {"dispatched_month": m, "responded": "late"},
                "unresponded": {"dispatched_month": m, "responded": "none"},
                "closed": {"closed_month": m},
                "resolved": {"closed_month": m, "outcome": Outcome.RESOLVED},
                "rated": {"rated_month": m},
                "good": {"rated_month": m, "satisfied": "true"},
            }[figure]
        )
        params.update(extra)
        return case_list_url(params)

    @cached_property  # the tables read it nine times per row
    def links(self) -> dict[str, str]:
        keys = ("dispatched", "on_time", "late", "unresponded", "closed", "resolved", "rated", "good")
        return {k: self.link(k) for k in keys}


# ---------------------------------------------------------------------------------------------------------
# The rollup: recomputing a month from the cases

#: The counts of a MonthlyFigure row, in the order of the model.
ROLLUP_FIELDS = (
    "dispatched",
    "on_time",
    "late",
    "unresponded",
    "closed",
    "resolved",
    "partial",
    "explained",
    "legal",
    "not_ours",
    "rated",
    "good",
)


@dataclass
class MonthResult:
    """What recomputing one month did: its rows and how long the three aggregate queries took."""

    month: date
    rows: list[MonthlyFigure]
    seconds: float


def compute_month(month: date) -> MonthResult:
    """One month's MonthlyFigure rows from ALL cases (no user scope), not saved: three grouped aggregate
    queries (dispatched, closed, rated in the month) merged into one row per (community key, lead
    department)."""
    started = time_module.perf_counter()
    start, end = month_bounds(month)
    keyed = (
        Case.objects.order_by()
        .annotate(community_key=Substr("org_path", 1, COMMUNITY_PATH_LENGTH))
        .values("community_key", "lead_department")
    )
    queries: list[tuple[Q, dict[str, Count]]] = [
        (
            dispatched_q(start, end),
            {
                "dispatched": Count("pk"),
                "on_time": Count("pk", filter=ON_TIME),
                "late": Count("pk", filter=LATE),
                "unresponded": Count("pk", filter=NOT_RESPONDED),
            },
        ),
        (
            closed_q(start, end),
            {
                "closed": Count("pk"),
                "resolved": Count("pk", filter=Q(outcome=Outcome.RESOLVED)),
                **{str(o): Count("pk", filter=Q(outcome=o)) for o in BREAKDOWN},
            },
        ),
        (rated_q(start, end), {"rated": Count("pk"), "good": Count("pk", filter=Q(rating__in=GOOD_RATINGS))}),
    ]
    merged: dict[tuple[str, int | None], dict[str, int]] = {}
    for condition, counts in queries:
        # values() rows carry the counts too (the stubs only know the grouping keys)
        rows: list[dict[str, Any]] = list(keyed.filter(condition).annotate(**counts))  # type: ignore[arg-type]
        for row in rows:
            key = (row.pop("community_key"), row.pop("lead_department"))
            merged.setdefault(key, {}).update(row)
    figures = [
        MonthlyFigure(month=month, org_path=path, department_id=dept, **counts)
        for (path, dept), counts in sorted(merged.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0))
    ]
    return MonthResult(month, figures, time_module.perf_counter() - started)


def store_month(result: MonthResult) -> None:
    """Replace the month's rows and note when it was computed, in one transaction."""
    with transaction.atomic():
        MonthlyFigure.objects.filter(month=result.month).delete()
        MonthlyFigure.objects.bulk_create(result.rows, batch_size=500)
        MonthlyFigureRun.objects.update_or_create(
            month=result.month, defaults={"computed_at": timezone.now(), "seconds": result.seconds}
        )


def refresh_month(month: date) -> int:
    """Recompute one month's rollup from all cases; the number of rows written."""
    result = compute_month(month.replace(day=1))
    store_month(result)
    return len(result.rows)


def refresh_months(first: date, last: date) -> list[MonthResult]:
    """Recompute the months `first`..`last` (inclusive): all are read first, then each is written in its own
    short transaction, so a database that locks on write (SQLite) is held as briefly as possible."""
    months = []
    month = first.replace(day=1)
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    results = [compute_month(m) for m in months]
    for result in results:
        store_month(result)
    return results


def ensure_computed(months: list[date], now: datetime | None = None) -> dict[date, MonthlyFigureRun]:
    """The runs of `months`; months never computed (up to the current month) are computed now (one query when
    all were computed before)."""
    runs = {r.month: r for r in MonthlyFigureRun.objects.filter(month__in=months)}
    this_month = current_month(now)
    missing = sorted(m for m in months if m not in runs and m <= this_month)
    if missing:
        # contiguous or not, refresh_months reads all first; compute only the missing ones
        results = [compute_month(m) for m in missing]
        for result in results:
            store_month(result)
        runs.update({r.month: r for r in MonthlyFigureRun.objects.filter(month__in=missing)})
    return runs


def request_refresh(actor: Any, month: date) -> MonthlyFigureRun:
    """立即更新: recompute `month` now for a user with "case.measures" (from all cases; the page shows the
    user's scope of it)."""
    require(actor, "case.measures")
    month = month.replace(day=1)
    rows = refresh_month(month)
    run = MonthlyFigureRun.objects.get(month=month)
    record_event(
        "case.measures_refresh",
        actor=actor,
        object_repr=f"{month:%Y-%m}",
        data={"month": f"{month:%Y-%m}", "rows": rows, "seconds": round(run.seconds, 3)},
    )
    return run


def live_counts(qs: QuerySet[Case], month: date) -> dict[str, int]:
    """The month's counts computed directly from the cases in `qs` (one query; slow at scale). Not used by the
    page: it lets tests and administrators check the rollup against the cases."""
    start, end = month_bounds(month)
    return qs.filter(_any_q(start, end)).aggregate(**_aggregates(start, end))


# ---------------------------------------------------------------------------------------------------------
# Page figures, read from the rollup

_SUMS = {name: Sum(name) for name in ROLLUP_FIELDS}


def figures_for(user: Any, unit: OrgUnit | None = None) -> QuerySet[MonthlyFigure]:
    """The rollup rows `user` may see ("case.view" by the community's path), narrowed to `unit` (the district,
    a sub-district or a community: the rollup knows no finer place)."""
    qs = MonthlyFigure.objects.visible_to(user)
    if unit is not None:
        qs = qs.filter(under_path("org_path", unit.path, qs.db))
    return qs


def _counts(row: dict[str, Any]) -> dict[str, int]:
    """Summed rollup columns → the keys of Figures.counts (outcome_<code> for the breakdown)."""
    counts = {name: int(row.get(name) or 0) for name in ROLLUP_FIELDS}
    for outcome in BREAKDOWN:
        counts[f"outcome_{outcome}"] = counts.pop(str(outcome))
    return counts


def totals(figures: QuerySet[MonthlyFigure], month: date, params: dict[str, str] | None = None) -> Figures:
    """The month's figures over the rollup rows `figures` (one query)."""
    row = figures.filter(month=month).aggregate(**_SUMS)
    return Figures(str(_("合计")), params=dict(params or {}), counts=_counts(row), month=f"{month:%Y-%m}")


def _ranked(rows: list[Figures]) -> list[Figures]:
    rows.sort(key=lambda f: (f.composite is None, -(f.composite or 0), -f["dispatched"], f.code))
    return rows


def by_community(
    figures: QuerySet[MonthlyFigure], month: date, params: dict[str, str] | None = None
) -> list[Figures]:
    """Communities/villages (by the place, handled by communities), ranked (one query, plus their names)."""
    # values() rows carry the sums too (the stubs only know the grouping key)
    rows: list[dict[str, Any]] = list(
        figures.filter(month=month, department__isnull=True).order_by().values("org_path").annotate(**_SUMS)  # type: ignore[arg-type]
    )
    names = OrgUnit.objects.filter(path__in=[r["org_path"] for r in rows]).only(
        "path", "depth", "code", "name", "short_name"
    )
    units = {u.path: u for u in names}
    result = []
    for row in rows:
        unit = units.get(row["org_path"])
        if unit is None:
            continue
        p = {**(params or {}), "community": unit.code, "handled_by": "community"}
        label = unit.short_name or unit.name
        if unit.depth < 3:
            label = str(_("%(unit)s（本级）") % {"unit": label})
        result.append(Figures(label, unit.code, p, _counts(row), f"{month:%Y-%m}"))
    return _ranked(result)


def by_department(
    figures: QuerySet[MonthlyFigure], month: date, params: dict[str, str] | None = None
) -> list[Figures]:
    """Departments (by the lead department), ranked (one query, plus their names)."""
    # values() rows carry the sums too (the stubs only know the grouping key)
    rows: list[dict[str, Any]] = list(
        figures.filter(month=month, department__isnull=False)
        .order_by()
        .values("department")
        .annotate(**_SUMS)  # type: ignore[arg-type]
    )
    depts = {d.pk: d for d in Department.objects.filter(pk__in=[r["department"] for r in rows])}
    result = []
    for row in rows:
        dept = depts[row["department"]]
        p = {**(params or {}), "lead_department": dept.code}
        result.append(Figures(dept.short_name or dept.name, dept.code, p, _counts(row), f"{month:%Y-%m}"))
    return _ranked(result)


def trend_months(last: date, months: int = 12) -> list[date]:
    return [add_months(last, i - months + 1) for i in range(months)]


def trend(figures: QuerySet[MonthlyFigure], last: date, months: int = 12) -> list[dict[str, Any]]:
    """The three rates of the `months` months ending with `last` (one query)."""
    firsts = trend_months(last, months)
    rows: list[dict[str, Any]] = list(
        figures.filter(month__gte=firsts[0], month__lte=last).order_by().values("month").annotate(**_SUMS)  # type: ignore[arg-type]
    )
    by_month = {row["month"]: _counts(row) for row in rows}
    empty = _counts({})
    result = []
    for m in firsts:
        c = by_month.get(m, empty)
        result.append(
            {
                "month": f"{m:%Y-%m}",
                "response": _rate(c["on_time"], c["dispatched"]),
                "resolution": _rate(c["resolved"], c["closed"]),
                "satisfaction": _rate(c["good"], c["rated"]),
            }
        )
    return result


def month_choices(last: date, months: int = 24) -> list[str]:
    return [f"{add_months(last, -i):%Y-%m}" for i in range(months)]
