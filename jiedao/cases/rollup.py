"""Keeping the 三率 rollup fresh through the shared deadline engine (`jiedao.core.deadlines`).

A `RollupRefresh` row is one scheduled recomputation: when it falls due, a worker (`manage.py tick`, any
number of them) claims it and `run_refresh` recomputes the current month and the `months - 1` months before it
(`measures.refresh_months`), then schedules the next refresh 10 minutes later — unless another one is already
pending, so duplicate chains (two first views at once) merge back into one.

Nightly full recompute: a refresh whose due time is the first of a new local day (the first run after local
midnight) recomputes the last 13 months instead of 2, which catches late changes to older months (a late
signature, a re-dispatch) within the 12-month trend. Months older than that are recomputed only on request
(立即更新 on the page, or `manage.py refresh_measures --months N`).

`ensure_refresh_scheduled()` starts the chain when none is pending or running (e.g. a fresh database, or after
a refresh failed for good): the measures page calls it on every view (one EXISTS query) and so does the demo.

On SQLite the engine runs the handler in an IMMEDIATE transaction, so other writers wait while the months
are computed (0.8–2.5 s a month at a million cases); on PostgreSQL only the rollup's own rows wait.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from jiedao.cases import measures
from jiedao.cases.models import RollupRefresh
from jiedao.core.deadlines import register_due
from jiedao.core.models import DueState

#: How often the current and previous month are recomputed.
REFRESH_EVERY = timedelta(minutes=10)
#: Months recomputed by an ordinary run (the current one and the one before).
RECENT_MONTHS = 2
#: Months recomputed by the first run of a local day (the trend's 12 months and the one before).
NIGHTLY_MONTHS = 13


def months_for(due_at: datetime, previous_due_at: datetime | None) -> int:
    """13 for the first run of a local day (due on another date than the previous run), else 2."""
    if previous_due_at is not None and timezone.localdate(due_at) != timezone.localdate(previous_due_at):
        return NIGHTLY_MONTHS
    return RECENT_MONTHS


def schedule_next(after: RollupRefresh, now: datetime | None = None) -> RollupRefresh | None:
    """The refresh after `after`, REFRESH_EVERY from now; None when another one is already pending."""
    now = now or timezone.now()
    if RollupRefresh.objects.filter(due_state=DueState.PENDING).exclude(pk=after.pk).exists():
        return None
    due_at = now + REFRESH_EVERY
    return RollupRefresh.objects.create(due_at=due_at, months=months_for(due_at, after.due_at))


def run_refresh(item: RollupRefresh) -> None:
    """The engine's handler: recompute the current month and the `item.months - 1` before it, then schedule
    the next refresh."""
    now = timezone.now()
    last = measures.current_month(now)
    months = max(int(item.months), 1)
    measures.refresh_months(measures.add_months(last, -(months - 1)), last)
    schedule_next(item, now)


def ensure_refresh_scheduled(now: datetime | None = None) -> RollupRefresh | None:
    """Start the refresh chain (due now) when no refresh is pending or running; None when one is."""
    if RollupRefresh.objects.filter(due_state__in=[DueState.PENDING, DueState.CLAIMED]).exists():
        return None
    return RollupRefresh.objects.create(due_at=now or timezone.now(), months=RECENT_MONTHS)


# a 13-month run takes seconds even at a million cases; the lease leaves ample room before a takeover
register_due(RollupRefresh, run_refresh, lease=timedelta(minutes=30))
