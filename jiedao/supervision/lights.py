"""The colour warnings of a supervised matter, in one place.

The period runs from `period_start` (交办; 立项 until then) to `deadline`.

- 红 (red, overdue): the matter is open (not yet 办结) and the deadline has passed.
- 黄 (yellow, behind the planned pace): the planned pace is linear — by any moment the expected share done is
  the elapsed share of the period. The matter is yellow while the lead unit is still working on it and its
  last reported percentage is more than `PACE_MARGIN` points below that expected share. Stored as the moment
  it falls behind: `pace_at = start + (progress + PACE_MARGIN)% × period` (recomputed on every report,
  extension or edit), so "yellow" is `pace_at <= now`, a filter on an indexed column.
- 蓝 (blue, near the deadline): within the last `BLUE_DAYS` days before the deadline, or within the last
  `BLUE_SHARE` of the period when that is shorter (a five-day matter turns blue one day before):
  `blue_at = deadline − min(3 days, 20% × period)`. The automatic 催办 is sent at that moment.
- otherwise green (正常). Red outranks yellow, yellow outranks blue. Closed and cancelled matters show none.

`light_of(matter, now)` answers for one matter, `light_q(light, now)` gives the same as a filter (the list,
the API, the export and the counts use it), and `apply_times(matter)` recomputes the stored times.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from jiedao.supervision.models import OPEN_STATUSES, WORKING_STATUSES, Light, SupervisedMatter

BLUE_DAYS = 3
BLUE_SHARE = 0.2
PACE_MARGIN = 20  # percentage points


def blue_time(start: datetime, deadline: datetime) -> datetime:
    period = max(deadline - start, timedelta(0))
    return deadline - min(timedelta(days=BLUE_DAYS), period * BLUE_SHARE)


def pace_time(start: datetime, deadline: datetime, progress: int) -> datetime:
    """When a matter with `progress` percent done falls more than PACE_MARGIN points behind a linear pace.
    At 80% or more done that is after the deadline: such a matter is never yellow (red takes over)."""
    period = max(deadline - start, timedelta(0))
    return start + period * ((min(max(progress, 0), 100) + PACE_MARGIN) / 100)


def expected_percent(matter: Any, now: datetime | None = None) -> int:
    """The share of the period elapsed, in percent (0–100): what a linear pace expects to be done."""
    now = now or timezone.now()
    period = (matter.deadline - matter.period_start).total_seconds()
    if period <= 0:
        return 100
    elapsed = (now - matter.period_start).total_seconds()
    return int(max(0.0, min(1.0, elapsed / period)) * 100)


def apply_times(matter: SupervisedMatter) -> None:
    """Recompute the stored warning times from the period and the progress."""
    matter.blue_at = blue_time(matter.period_start, matter.deadline)
    matter.pace_at = pace_time(matter.period_start, matter.deadline, matter.progress)


def light_of(matter: Any, now: datetime | None = None) -> str:
    if matter.status not in OPEN_STATUSES:
        return Light.NONE
    now = now or timezone.now()
    if now > matter.deadline:
        return Light.RED
    if matter.status in WORKING_STATUSES and now >= matter.pace_at:
        return Light.YELLOW
    if now >= matter.blue_at:
        return Light.BLUE
    return Light.GREEN


def light_q(light: str, now: datetime | None = None) -> Q:
    """The matters with this light now, as a filter on the stored, indexed columns."""
    now = now or timezone.now()
    open_ = Q(status__in=OPEN_STATUSES)
    in_time = open_ & Q(deadline__gte=now)
    behind = Q(status__in=WORKING_STATUSES, pace_at__lte=now)
    if light == Light.RED:
        return open_ & Q(deadline__lt=now)
    if light == Light.YELLOW:
        return in_time & behind
    if light == Light.BLUE:
        return in_time & ~behind & Q(blue_at__lte=now)
    if light == Light.GREEN:
        return in_time & ~behind & Q(blue_at__gt=now)
    return ~open_
