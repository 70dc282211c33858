"""The work calendar: which days are working days in mainland China, and statutory periods counted on it.

Sources, in priority order:

1. `WorkdayOverride` rows, edited by administrators on the calendar page. An override wins over everything
   else; it is how a year the `chinesecalendar` package does not know yet gets its holidays and make-up days.
2. The `chinesecalendar` package (public holidays and 调休 make-up working days as announced by the State
   Council) for the years it covers.
3. Otherwise weekends only, and a `CalendarWarning` row for that year is created or its `times` incremented,
   so administrators see on the calendar page that a year needs its holidays entered.

Conventions used throughout:

* `add_workdays(d, n)`: the n-th working day after d (n > 0) or before d (n < 0); d itself is never counted.
  `add_workdays(d, 0)` is d.
* `count_workdays(start, end)`: the working days strictly after `start` up to and including `end`, i.e. in the
  half-open interval (start, end]. When end < start the result is negative: minus the working days in
  [end, start). So `count_workdays(d, add_workdays(d, n)) == n` for every n.
* A statutory period in days (民法典 §201–§203) is counted by `statutory_deadline_days`, one in working days
  by `working_days_deadline`; both return a `DeadlineResult` that says which rule produced it.

Efficiency: each public call loads the overrides of the years it touches with one query per batch of years
(never one per day). Outside a transaction the overrides are also kept in a small per-process cache for
`CACHE_SECONDS`, dropped at once when an override is saved or deleted in this process; other processes see
an administrator's change after at most `CACHE_SECONDS`. Inside a transaction the cache is neither read nor
filled, so a rolled-back change can never linger in it.
"""

from __future__ import annotations

import logging
import threading
import time as monotonic_clock
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import chinese_calendar
from chinese_calendar import constants as cc_constants
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _

from jiedao.core.models.calendar import CalendarWarning, WorkdayOverride

logger = logging.getLogger(__name__)

#: The calendar is China's: a day starts and ends in Beijing time whatever the server's TIME_ZONE says.
CALENDAR_TZ = ZoneInfo("Asia/Shanghai")
#: How long a process trusts its cached overrides of a year (changes made in this process apply at once).
CACHE_SECONDS = 60.0
#: A process writes a year's CalendarWarning at most this often; the calls in between are added to `times`.
WARNING_FLUSH_SECONDS = 60.0

DayKind = Literal["workday", "rest", "holiday", "makeup"]
DaySource = Literal["override", "package", "fallback"]

#: Chinese names of the holidays of the `chinesecalendar` package, keyed by its member names (its values are
#: English names such as "Spring Festival").
_HOLIDAY_NAMES: dict[str, str] = {
    "new_years_day": "元旦",
    "spring_festival": "春节",
    "tomb_sweeping_day": "清明节",
    "labour_day": "劳动节",
    "dragon_boat_festival": "端午节",
    "national_day": "国庆节",
    "mid_autumn_festival": "中秋节",
    "anti_fascist_70th_day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}
_HOLIDAY_NAMES_BY_VALUE: dict[str, str] = {
    member.value: _HOLIDAY_NAMES.get(member.name, member.value) for member in cc_constants.Holiday
}


@dataclass(frozen=True)
class DayInfo:
    """Everything the calendar knows about one date."""

    date: date
    is_workday: bool
    kind: DayKind  # workday 工作日, rest 休息日 (weekend), holiday 节假日, makeup 调休上班
    source: DaySource
    name: str  # holiday or override name, "" for an ordinary day

    @property
    def label(self) -> str:
        """工作日 / 休息日 / 节假日 / 调休上班."""
        return {
            "workday": _("工作日"),
            "rest": _("休息日"),
            "holiday": _("节假日"),
            "makeup": _("调休上班"),
        }[self.kind]

    @property
    def short_label(self) -> str:
        """One character for a calendar grid cell: 班 / 休 / 假 / 调."""
        return {"workday": _("班"), "rest": _("休"), "holiday": _("假"), "makeup": _("调")}[self.kind]

    @property
    def explanation(self) -> str:
        """Why this day is (not) a working day, in a sentence fit for the UI."""
        if self.source == "override":
            if self.is_workday:
                return _("管理员设定为工作日：%(name)s") % {"name": self.name or _("未注明")}
            return _("管理员设定为休息日：%(name)s") % {"name": self.name or _("未注明")}
        if self.source == "package":
            if self.kind == "holiday":
                return _("法定节假日：%(name)s") % {"name": self.name}
            if self.kind == "makeup":
                return _("调休上班（%(name)s）") % {"name": self.name}
            return _("周末") if self.kind == "rest" else _("工作日")
        if self.kind == "rest":
            return _("周末（%(year)s 年无节假日数据，仅按周末计算）") % {"year": self.date.year}
        return _("工作日（%(year)s 年无节假日数据，仅按周末计算）") % {"year": self.date.year}


@dataclass(frozen=True)
class DeadlineResult:
    """A computed deadline: due at `due_at` (the end of `last_day`), and the rule that produced it."""

    due_at: datetime  # aware: 00:00 Beijing time of the day after `last_day`
    last_day: date
    rule: str


# ---------------------------------------------------------------------------------------------------------
# Override cache


_cache_lock = threading.Lock()
_override_cache: dict[int, tuple[float, dict[date, tuple[bool, str]]]] = {}
_pending_warnings: dict[int, int] = {}
_last_warning_flush: dict[int, float] = {}


def clear_caches() -> None:
    """Forget cached overrides and unflushed warning counts (after bulk changes, and between tests)."""
    with _cache_lock:
        _override_cache.clear()
        _pending_warnings.clear()
        _last_warning_flush.clear()


def _drop_override_cache() -> None:
    with _cache_lock:
        _override_cache.clear()


@receiver(post_save, sender=WorkdayOverride, dispatch_uid="jiedao.core.workdays.override_saved")
@receiver(post_delete, sender=WorkdayOverride, dispatch_uid="jiedao.core.workdays.override_deleted")
def _override_changed(**kwargs: Any) -> None:
    # Drop now (this process's next read sees the change) and again on commit (a read by another thread
    # between the write and the commit may have cached the old rows).
    _drop_override_cache()
    transaction.on_commit(_drop_override_cache)


def _package_covers(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


class _Resolver:
    """Answers for many days with one override query per batch of years; collects unknown years."""

    def __init__(self) -> None:
        self._overrides: dict[int, dict[date, tuple[bool, str]]] = {}
        self._covered: dict[int, bool] = {}
        self.unknown_years: set[int] = set()

    def load(self, years: Iterable[int]) -> None:
        missing = sorted({y for y in years if y not in self._overrides})
        if not missing:
            return
        use_cache = not connection.in_atomic_block
        now = monotonic_clock.monotonic()
        if use_cache:
            with _cache_lock:
                for year in list(missing):
                    entry = _override_cache.get(year)
                    if entry is not None and now - entry[0] < CACHE_SECONDS:
                        self._overrides[year] = entry[1]
                        missing.remove(year)
        if not missing:
            return
        loaded: dict[int, dict[date, tuple[bool, str]]] = {year: {} for year in missing}
        rows = WorkdayOverride.objects.filter(
            date__gte=date(missing[0], 1, 1), date__lte=date(missing[-1], 12, 31)
        ).values_list("date", "is_workday", "name")
        for day, is_workday, name in rows:
            if day.year in loaded:
                loaded[day.year][day] = (is_workday, name)
        self._overrides.update(loaded)
        if use_cache:
            with _cache_lock:
                for year, days in loaded.items():
                    _override_cache[year] = (now, days)

    def covered(self, year: int) -> bool:
        if year not in self._covered:
            self._covered[year] = _package_covers(year)
        return self._covered[year]

    def info(self, d: date) -> DayInfo:
        if d.year not in self._overrides:
            self.load([d.year])
        override = self._overrides[d.year].get(d)
        weekend = d.weekday() >= 5
        if override is not None:
            is_workday, name = override
            if is_workday:
                kind: DayKind = "makeup" if weekend else "workday"
            else:
                kind = "holiday" if (name or not weekend) else "rest"
            return DayInfo(d, is_workday, kind, "override", name)
        if self.covered(d.year):
            if d in cc_constants.workdays:
                holiday = cc_constants.workdays[d]
                return DayInfo(d, True, "makeup" if weekend else "workday", "package", _holiday_name(holiday))
            if d in cc_constants.holidays:
                return DayInfo(d, False, "holiday", "package", _holiday_name(cc_constants.holidays[d]))
            return DayInfo(d, not weekend, "rest" if weekend else "workday", "package", "")
        self.unknown_years.add(d.year)
        return DayInfo(d, not weekend, "rest" if weekend else "workday", "fallback", "")

    def is_workday(self, d: date) -> bool:
        return self.info(d).is_workday

    def finish(self) -> None:
        """Record a CalendarWarning for every year answered by the weekends-only fallback."""
        for year in sorted(self.unknown_years):
            _note_unknown_year(year)


def _holiday_name(holiday: Any) -> str:
    """The Chinese name of a holiday as the package stores it (an English name, or a Holiday member)."""
    value = str(getattr(holiday, "value", holiday))
    return _HOLIDAY_NAMES_BY_VALUE.get(value, value)


def _note_unknown_year(year: int) -> None:
    now = monotonic_clock.monotonic()
    with _cache_lock:
        _pending_warnings[year] = _pending_warnings.get(year, 0) + 1
        last = _last_warning_flush.get(year)
        if last is not None and now - last < WARNING_FLUSH_SECONDS:
            return
        count = _pending_warnings.pop(year)
        _last_warning_flush[year] = now
    logger.warning("work calendar: no holiday data for %s, counting weekends only", year)
    if connection.in_atomic_block and connection.needs_rollback:
        # The surrounding transaction is already failing: a write now would raise. Try again next time.
        with _cache_lock:
            _pending_warnings[year] = _pending_warnings.get(year, 0) + count
            _last_warning_flush.pop(year, None)
        return
    try:
        with transaction.atomic():  # a savepoint when inside a transaction: a failure here stays here
            warning, created = CalendarWarning.objects.get_or_create(year=year, defaults={"times": count})
            if not created:
                # update() does not apply auto_now: set last_seen explicitly
                CalendarWarning.objects.filter(pk=warning.pk).update(
                    times=F("times") + count, last_seen=timezone.now()
                )
    except DatabaseError:
        logger.exception("work calendar: could not record the warning for %s", year)
        with _cache_lock:
            _pending_warnings[year] = _pending_warnings.get(year, 0) + count
            _last_warning_flush.pop(year, None)


# ---------------------------------------------------------------------------------------------------------
# Public API


def day_info(d: date) -> DayInfo:
    """What the calendar knows about `d` (kind, source, name, explanation)."""
    resolver = _Resolver()
    info = resolver.info(d)
    resolver.finish()
    return info


def days_info(start: date, end: date, *, warn: bool = True) -> list[DayInfo]:
    """`DayInfo` of every date from `start` to `end` inclusive (one override query for the whole range).

    `warn=False` does not record a CalendarWarning for unknown years: the calendar page uses it, as it shows
    the fallback on screen and merely browsing to a far year is not a deadline computed on guesswork.
    """
    if end < start:
        raise ValueError("end must not be before start")
    resolver = _Resolver()
    resolver.load(range(start.year, end.year + 1))
    result = [resolver.info(start + timedelta(days=i)) for i in range((end - start).days + 1)]
    if warn:
        resolver.finish()
    return result


def is_workday(d: date) -> bool:
    """Is `d` a working day (including a 调休 make-up working day on a weekend)?"""
    return day_info(d).is_workday


def explain(d: date) -> str:
    """Why `d` is (not) a working day: 法定节假日：春节 / 调休上班（春节） / 周末 / 工作日 / 管理员设定…"""
    return day_info(d).explanation


def next_workday(d: date) -> date:
    """`d` itself when it is a working day, else the first working day after it."""
    resolver = _Resolver()
    day = d
    while not resolver.is_workday(day):
        day += timedelta(days=1)
    resolver.finish()
    return day


def add_workdays(d: date, n: int) -> date:
    """The n-th working day after `d` (n > 0) or before it (n < 0); `d` itself is not counted; 0 gives d."""
    if n == 0:
        return d
    step = timedelta(days=1 if n > 0 else -1)
    resolver = _Resolver()
    # Roughly 1.4 calendar days per working day, plus the longest holiday: load those years in one query.
    reach = d + step * (abs(n) * 3 // 2 + 12)
    resolver.load(range(min(d.year, reach.year), max(d.year, reach.year) + 1))
    remaining = abs(n)
    day = d
    while remaining:
        day += step
        if resolver.is_workday(day):
            remaining -= 1
    resolver.finish()
    return day


def count_workdays(start: date, end: date) -> int:
    """Working days in (start, end] — after `start`, up to and including `end`.

    Negative when `end` is before `start`: minus the working days in [end, start). Thus
    `count_workdays(d, add_workdays(d, n)) == n`, and `count_workdays(d, d) == 0`.
    """
    if end == start:
        return 0
    sign = 1 if end > start else -1
    first, last = (start + timedelta(days=1), end) if sign > 0 else (end, start - timedelta(days=1))
    resolver = _Resolver()
    resolver.load(range(first.year, last.year + 1))
    total = sum(1 for i in range((last - first).days + 1) if resolver.is_workday(first + timedelta(days=i)))
    resolver.finish()
    return sign * total


def _calendar_date(trigger: datetime | date) -> date:
    if isinstance(trigger, datetime):
        if trigger.tzinfo is None:
            raise ValueError("trigger must be an aware datetime (or a date)")
        return trigger.astimezone(CALENDAR_TZ).date()
    return trigger


def end_of_day(d: date) -> datetime:
    """24:00 of `d` in Beijing time, i.e. 00:00 of the next day, as an aware datetime."""
    return datetime.combine(d + timedelta(days=1), time(0, 0), tzinfo=CALENDAR_TZ)


def statutory_deadline_days(trigger: datetime | date, days: int) -> DeadlineResult:
    """A period of `days` 日 counted as the Civil Code §201–§203 says.

    The day of the triggering event is not counted; the period runs from the next day, so its nominal last
    day is trigger + days. If that day is a rest day (weekend or public holiday, unless it is a 调休 make-up
    working day) the period ends on the next working day. The last day ends at 24:00 Beijing time.
    """
    if days < 1:
        raise ValueError("a period in days must be at least 1 day")
    start = _calendar_date(trigger)
    nominal = start + timedelta(days=days)
    resolver = _Resolver()
    info = resolver.info(nominal)
    last_day = nominal
    while not resolver.is_workday(last_day):
        last_day += timedelta(days=1)
    resolver.finish()
    if last_day == nominal:
        rule = _("自次日起算 %(days)s 日，至 %(last)s 24:00 届满（民法典第二百零一条、第二百零三条）") % {
            "days": days,
            "last": last_day.isoformat(),
        }
    else:
        rule = _(
            "自次日起算 %(days)s 日，末日 %(nominal)s 为%(kind)s（%(why)s），"
            "顺延至 %(last)s 24:00（民法典第二百零三条）"
        ) % {
            "days": days,
            "nominal": nominal.isoformat(),
            "kind": info.label,
            "why": info.explanation,
            "last": last_day.isoformat(),
        }
    return DeadlineResult(due_at=end_of_day(last_day), last_day=last_day, rule=rule)


def working_days_deadline(trigger: datetime | date, n: int) -> DeadlineResult:
    """A period of `n` 工作日: the n-th working day after the trigger day, ending at 24:00 Beijing time."""
    if n < 1:
        raise ValueError("a period in working days must be at least 1 working day")
    start = _calendar_date(trigger)
    last_day = add_workdays(start, n)
    rule = _("自次日起算 %(n)s 个工作日（节假日、休息日不计），至 %(last)s 24:00 届满") % {
        "n": n,
        "last": last_day.isoformat(),
    }
    return DeadlineResult(due_at=end_of_day(last_day), last_day=last_day, rule=rule)


def format_deadline(value: datetime | None, fmt: str = "Y-m-d H:i") -> str:
    """A deadline as people read it: a period that ends at midnight ends "24:00" of the day before (民法典
    §203: the last day ends at 24:00), so 2026-11-27 00:00 shows as 2026-11-26 24:00, and as 2026-11-26 when
    only the date is shown."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    if (local.hour, local.minute, local.second) != (0, 0, 0):
        return dateformat.format(local, fmt)
    day_before = local - timedelta(days=1)
    if "H" not in fmt:
        return dateformat.format(day_before, fmt)
    date_part = fmt.split("H", 1)[0].strip()
    return f"{dateformat.format(day_before, date_part)} 24:00".strip()
