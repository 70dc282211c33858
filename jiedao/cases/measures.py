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

Every figure is computed with one aggregate query per table (conditional counts grouped by the unit key), and
every figure has the case-list query parameters (CaseFilterSet) that list exactly the cases behind it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Substr
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiedao.cases.models import Case, Outcome, Rating, Status
from jiedao.core.models import Department, OrgUnit

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
        from jiedao.core.models.scope import under_path

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


def case_list_url(params: dict[str, str]) -> str:
    """The staff case list filtered by CaseFilterSet parameters."""
    try:
        base = reverse("cases:case_list")
    except NoReverseMatch:  # the list page lives in views.py; its URL is /cases/
        base = "/cases/"
    return f"{base}?{urlencode(params)}"


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

    @property
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

    @property
    def links(self) -> dict[str, str]:
        keys = ("dispatched", "on_time", "late", "unresponded", "closed", "resolved", "rated", "good")
        return {k: self.link(k) for k in keys}


def totals(qs: QuerySet[Case], month: date, params: dict[str, str] | None = None) -> Figures:
    """The month's figures over `qs` (one query)."""
    start, end = month_bounds(month)
    row = qs.filter(_any_q(start, end)).aggregate(**_aggregates(start, end))
    return Figures(str(_("合计")), params=dict(params or {}), counts=row, month=f"{month:%Y-%m}")


def _ranked(rows: list[Figures]) -> list[Figures]:
    rows.sort(key=lambda f: (f.composite is None, -(f.composite or 0), -f["dispatched"], f.code))
    return rows


def by_community(qs: QuerySet[Case], month: date, params: dict[str, str] | None = None) -> list[Figures]:
    """Communities/villages (by the place, handled by communities), ranked (one query, plus their names)."""
    start, end = month_bounds(month)
    # values() rows carry the counts too (the stubs only know the grouping key)
    rows: list[dict[str, Any]] = list(
        qs.filter(_any_q(start, end), lead_department__isnull=True)
        .annotate(community_key=Substr("org_path", 1, COMMUNITY_PATH_LENGTH))
        .order_by()
        .values("community_key")
        .annotate(**_aggregates(start, end))  # type: ignore[arg-type]
    )
    units = {u.path: u for u in OrgUnit.objects.filter(path__in=[r["community_key"] for r in rows])}
    result = []
    for row in rows:
        key = row.pop("community_key")
        unit = units.get(key)
        if unit is None:
            continue
        p = {**(params or {}), "community": unit.code, "handled_by": "community"}
        label = unit.short_name or unit.name
        if unit.depth < 3:
            label = str(_("%(unit)s（本级）") % {"unit": label})
        result.append(Figures(label, unit.code, p, row, f"{month:%Y-%m}"))
    return _ranked(result)


def by_department(qs: QuerySet[Case], month: date, params: dict[str, str] | None = None) -> list[Figures]:
    """Departments (by the lead department), ranked (one query, plus their names)."""
    start, end = month_bounds(month)
    # values() rows carry the counts too (the stubs only know the grouping key)
    rows: list[dict[str, Any]] = list(
        qs.filter(_any_q(start, end), lead_department__isnull=False)
        .order_by()
        .values("lead_department")
        .annotate(**_aggregates(start, end))  # type: ignore[arg-type]
    )
    depts = {d.pk: d for d in Department.objects.filter(pk__in=[r["lead_department"] for r in rows])}
    result = []
    for row in rows:
        dept = depts[row.pop("lead_department")]
        p = {**(params or {}), "lead_department": dept.code}
        result.append(Figures(dept.short_name or dept.name, dept.code, p, row, f"{month:%Y-%m}"))
    return _ranked(result)


def trend(qs: QuerySet[Case], last: date, months: int = 12) -> list[dict[str, Any]]:
    """The three rates of the `months` months ending with `last` (one query)."""
    firsts = [add_months(last, i - months + 1) for i in range(months)]
    window_start, _end = month_bounds(firsts[0])
    _start, window_end = month_bounds(last)
    counts: dict[str, Count] = {}
    for i, m in enumerate(firsts):
        start, end = month_bounds(m)
        d, c, r = dispatched_q(start, end), closed_q(start, end), rated_q(start, end)
        counts[f"d{i}"] = Count("pk", filter=d)
        counts[f"dn{i}"] = Count("pk", filter=d & ON_TIME)
        counts[f"c{i}"] = Count("pk", filter=c)
        counts[f"cn{i}"] = Count("pk", filter=c & Q(outcome=Outcome.RESOLVED))
        counts[f"r{i}"] = Count("pk", filter=r)
        counts[f"rn{i}"] = Count("pk", filter=r & Q(rating__in=GOOD_RATINGS))
    row = qs.filter(_any_q(window_start, window_end)).aggregate(**counts)
    return [
        {
            "month": f"{m:%Y-%m}",
            "response": _rate(row[f"dn{i}"], row[f"d{i}"]),
            "resolution": _rate(row[f"cn{i}"], row[f"c{i}"]),
            "satisfaction": _rate(row[f"rn{i}"], row[f"r{i}"]),
        }
        for i, m in enumerate(firsts)
    ]


def month_choices(last: date, months: int = 24) -> list[str]:
    return [f"{add_months(last, -i):%Y-%m}" for i in range(months)]
