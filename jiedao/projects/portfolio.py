"""The portfolio (项目总览): the figures shown per project, as annotations on an already scoped and filtered
queryset, so the page, the API and the export compute them the same way and a page of 50 rows costs a
fixed number of queries whatever the size of the ledger.

Per project: planned and completed investment so far (sums of the monthly rows), late milestones, open and
overdue problems, open and overdue supervised matters (supervision's `.open()` / `.overdue()`), and the two
flags: stalled (in 前期/在建 and `stalled_after` passed — one indexed comparison) and milestone late.
Correlated subqueries rather than joins with GROUP BY: the database computes them for the rows of the page
only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    Count,
    DecimalField,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from jiedao.projects.filters import late_milestones, stalled_q
from jiedao.projects.models import InvestmentEntry, KeyProject, Problem, ProblemStatus
from jiedao.supervision.models import SupervisedMatter

ZERO = Value(Decimal("0"), output_field=DecimalField(max_digits=14, decimal_places=2))


def _count(queryset: QuerySet) -> Coalesce:
    counted = (
        queryset.order_by().values("project_id").annotate(n=Count("pk")).values("n")  # one group per project
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _sum(field: str, month_until: date | None = None) -> Coalesce:
    rows = InvestmentEntry.objects.filter(project=OuterRef("pk"))
    if month_until is not None:
        rows = rows.filter(month__lte=month_until)
    summed = rows.order_by().values("project_id").annotate(s=Sum(field)).values("s")
    return Coalesce(Subquery(summed, output_field=DecimalField(max_digits=14, decimal_places=2)), ZERO)


def annotate(queryset: QuerySet[KeyProject], now: datetime | None = None) -> QuerySet[Any]:
    now = now or timezone.now()
    today = timezone.localdate(now)
    this_month = today.replace(day=1)
    matters = SupervisedMatter.objects.filter(project=OuterRef("pk"))
    return queryset.annotate(
        planned_to_date=_sum("planned", this_month),
        completed_to_date=_sum("completed"),
        late_count=_count(late_milestones(today)),
        open_problems=_count(Problem.objects.filter(project=OuterRef("pk"), status=ProblemStatus.OPEN)),
        overdue_problems=_count(
            Problem.objects.filter(project=OuterRef("pk"), status=ProblemStatus.OPEN, due_date__lt=today)
        ),
        open_matters=_count(matters.open()),
        overdue_matters=_count(matters.overdue(now=now)),
        is_stalled=Case(
            When(stalled_q(now), then=Value(True)), default=Value(False), output_field=BooleanField()
        ),
        is_late=Exists(late_milestones(today)),
    )


def stalled_flag(now: datetime | None = None) -> Case:
    """True for a project in 前期/在建 whose `stalled_after` has passed (an expression on indexed columns)."""
    return Case(When(stalled_q(now), then=Value(True)), default=Value(False), output_field=BooleanField())


@dataclass(frozen=True)
class Summary:
    total: int
    stalled: int
    late: int
    flagged: int

    @property
    def ok(self) -> int:
        return self.total - self.flagged


def summary(queryset: QuerySet[KeyProject], now: datetime | None = None) -> Summary:
    """The tiles above the list: how many projects, how many stalled, late, either (one query)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    stalled = stalled_q(now)
    late = Q(Exists(late_milestones(today)))
    figures: dict[str, Any] = queryset.order_by().aggregate(
        total=Count("pk"),
        stalled=Count("pk", filter=stalled),
        late=Count("pk", filter=late),
        flagged=Count("pk", filter=stalled | late),
    )
    return Summary(**{k: int(v or 0) for k, v in figures.items()})


def rate(completed: Decimal | None, planned: Decimal | None) -> Decimal | None:
    """Completed as a percentage of planned, one decimal; None without a plan."""
    if not planned:
        return None
    return (Decimal(completed or 0) / Decimal(planned) * 100).quantize(Decimal("0.1"))
