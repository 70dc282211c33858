"""The work calendar: public holidays and 调休 from chinesecalendar, admin overrides, the weekends-only
fallback with its warning, and statutory periods (民法典 §201–§203).

Known dates are the State Council's notices as carried by the installed chinesecalendar 1.11 data:
2026 春节 2026-02-15 (Sun) … 2026-02-23 (Mon) off, make-up working Saturdays 2026-02-14 and 2026-02-28;
2025 国庆节/中秋节 2025-10-01 … 2025-10-08 off, make-up working days 2025-09-28 (Sun) and 2025-10-11 (Sat);
2026 清明节 2026-04-04 … 2026-04-06 off.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import chinese_calendar
import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_django import DjangoAssertNumQueries

from jiedao.core import workdays
from jiedao.core.models import CalendarWarning, WorkdayOverride
from jiedao.core.workdays import (
    CALENDAR_TZ,
    add_workdays,
    count_workdays,
    day_info,
    explain,
    is_workday,
    next_workday,
    statutory_deadline_days,
    working_days_deadline,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    workdays.clear_caches()
    yield
    workdays.clear_caches()


SPRING_FESTIVAL_2026 = [date(2026, 2, 15) + timedelta(days=i) for i in range(9)]
NATIONAL_DAY_2025 = [date(2025, 10, 1) + timedelta(days=i) for i in range(8)]


def test_package_data_matches_the_2026_and_2025_notices() -> None:
    # Guards the known dates below: if a chinesecalendar upgrade changes them, this says so first.
    assert all(
        chinese_calendar.get_holiday_detail(d) == (True, "Spring Festival") for d in SPRING_FESTIVAL_2026
    )
    assert chinese_calendar.get_holiday_detail(date(2026, 2, 14)) == (False, "Spring Festival")
    assert chinese_calendar.get_holiday_detail(date(2026, 2, 28)) == (False, "Spring Festival")


def test_spring_festival_2026_is_a_holiday() -> None:
    assert SPRING_FESTIVAL_2026[0] == date(2026, 2, 15) and SPRING_FESTIVAL_2026[-1] == date(2026, 2, 23)
    for day in SPRING_FESTIVAL_2026:
        assert not is_workday(day), day
        assert explain(day) == "法定节假日：春节"
        assert day_info(day).kind == "holiday"
    assert is_workday(date(2026, 2, 13))  # Friday before
    assert is_workday(date(2026, 2, 24))  # Tuesday after


@pytest.mark.parametrize("day", [date(2026, 2, 14), date(2026, 2, 28)])
def test_spring_festival_2026_make_up_saturdays_are_working_days(day: date) -> None:
    assert day.weekday() == 5
    assert is_workday(day)
    info = day_info(day)
    assert info.kind == "makeup" and info.label == "调休上班"
    assert explain(day) == "调休上班（春节）"


def test_national_day_2025() -> None:
    for day in NATIONAL_DAY_2025:
        assert not is_workday(day), day
    assert explain(date(2025, 10, 6)) == "法定节假日：中秋节"
    assert explain(date(2025, 10, 1)) == "法定节假日：国庆节"
    assert is_workday(date(2025, 9, 28)) and date(2025, 9, 28).weekday() == 6
    assert is_workday(date(2025, 10, 11)) and date(2025, 10, 11).weekday() == 5
    assert is_workday(date(2025, 10, 9))


def test_ordinary_weekday_and_weekend() -> None:
    assert is_workday(date(2026, 3, 10)) and explain(date(2026, 3, 10)) == "工作日"
    assert not is_workday(date(2026, 3, 14)) and explain(date(2026, 3, 14)) == "周末"
    assert day_info(date(2026, 3, 14)).kind == "rest"


def test_next_workday() -> None:
    assert next_workday(date(2026, 3, 10)) == date(2026, 3, 10)
    assert next_workday(date(2026, 3, 14)) == date(2026, 3, 16)
    assert next_workday(date(2026, 2, 15)) == date(2026, 2, 24)
    assert next_workday(date(2026, 2, 14)) == date(2026, 2, 14)  # 调休 Saturday


def test_add_workdays_across_the_spring_festival() -> None:
    start = date(2026, 2, 12)  # Thursday
    assert add_workdays(start, 1) == date(2026, 2, 13)
    assert add_workdays(start, 2) == date(2026, 2, 14)  # make-up Saturday
    assert add_workdays(start, 3) == date(2026, 2, 24)  # the whole holiday skipped
    assert add_workdays(start, 5) == date(2026, 2, 26)
    assert add_workdays(start, 6) == date(2026, 2, 27)
    assert add_workdays(start, 7) == date(2026, 2, 28)  # make-up Saturday again
    assert add_workdays(start, 8) == date(2026, 3, 2)
    assert add_workdays(date(2026, 2, 24), -1) == date(2026, 2, 14)
    assert add_workdays(date(2026, 2, 24), -2) == date(2026, 2, 13)
    assert add_workdays(date(2026, 2, 15), 0) == date(2026, 2, 15)


def test_count_workdays_is_half_open_after_start_up_to_end() -> None:
    assert count_workdays(date(2026, 2, 13), date(2026, 2, 24)) == 2  # 2-14 and 2-24
    assert count_workdays(date(2026, 2, 12), date(2026, 2, 13)) == 1  # end counted
    assert count_workdays(date(2026, 2, 13), date(2026, 2, 13)) == 0
    assert count_workdays(date(2026, 2, 24), date(2026, 2, 13)) == -2  # [2-13, 2-24): 2-13 and 2-14
    assert count_workdays(date(2026, 2, 15), date(2026, 2, 23)) == 0


def test_count_over_whole_years_matches_the_package() -> None:
    for year in (2025, 2026):
        expected = len(chinese_calendar.get_workdays(date(year, 1, 1), date(year, 12, 31)))
        assert count_workdays(date(year - 1, 12, 31), date(year, 12, 31)) == expected == 248


def test_walking_many_days_does_not_query_per_day(
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    with django_assert_max_num_queries(1):
        add_workdays(date(2026, 1, 5), 60)
    with django_assert_max_num_queries(1):
        count_workdays(date(2025, 12, 31), date(2026, 12, 31))
    with django_assert_max_num_queries(1):  # two years, still one query
        count_workdays(date(2025, 1, 1), date(2026, 12, 31))


def test_override_wins_over_the_package() -> None:
    WorkdayOverride.objects.create(date=date(2026, 2, 23), is_workday=True, name="街道值班上班")
    WorkdayOverride.objects.create(date=date(2026, 3, 10), is_workday=False, name="区级活动放假")
    assert is_workday(date(2026, 2, 23))
    assert explain(date(2026, 2, 23)) == "管理员设定为工作日：街道值班上班"
    assert not is_workday(date(2026, 3, 10))
    assert explain(date(2026, 3, 10)) == "管理员设定为休息日：区级活动放假"
    assert day_info(date(2026, 3, 10)).kind == "holiday"
    assert add_workdays(date(2026, 2, 14), 1) == date(2026, 2, 23)


def test_deleting_an_override_takes_effect_at_once() -> None:
    override = WorkdayOverride.objects.create(date=date(2026, 3, 10), is_workday=False, name="放假")
    assert not is_workday(date(2026, 3, 10))
    override.delete()
    assert is_workday(date(2026, 3, 10))


def test_override_cache_outside_transactions_is_dropped_on_change(
    django_assert_num_queries: DjangoAssertNumQueries,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Simulate code running outside a transaction (the test itself runs inside one).
    monkeypatch.setattr(type(connection), "in_atomic_block", property(lambda self: False), raising=False)
    assert is_workday(date(2026, 3, 10))
    with django_assert_num_queries(0):
        assert is_workday(date(2026, 3, 11))  # cached year
    WorkdayOverride.objects.create(date=date(2026, 3, 11), is_workday=False, name="放假")
    assert not is_workday(date(2026, 3, 11))  # signal dropped the cache


def test_unknown_year_falls_back_to_weekends_and_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not CalendarWarning.objects.filter(year=2099).exists()
    assert is_workday(date(2099, 1, 1))  # a Thursday; 元旦 unknown to the package
    assert not is_workday(date(2099, 1, 3))  # Saturday
    assert "2099 年无节假日数据" in explain(date(2099, 1, 3))
    assert day_info(date(2099, 1, 3)).source == "fallback"
    warning = CalendarWarning.objects.get(year=2099)
    assert warning.times == 1 and not warning.resolved
    # Within the flush interval further uses are counted in memory, then written together.
    monkeypatch.setattr(workdays, "WARNING_FLUSH_SECONDS", 0.0)
    add_workdays(date(2099, 3, 1), 10)
    warning.refresh_from_db()
    assert warning.times == 5  # is_workday, explain and day_info above were held back; flushed with this call


def test_unknown_year_with_overrides_uses_them() -> None:
    WorkdayOverride.objects.create(date=date(2099, 1, 1), is_workday=False, name="元旦")
    WorkdayOverride.objects.create(date=date(2099, 1, 3), is_workday=True, name="元旦调休上班")
    assert not is_workday(date(2099, 1, 1))
    assert is_workday(date(2099, 1, 3))
    assert day_info(date(2099, 1, 3)).kind == "makeup"


def test_covered_year_does_not_warn() -> None:
    count_workdays(date(2025, 1, 1), date(2026, 12, 31))
    assert not CalendarWarning.objects.exists()


def test_a_failing_warning_write_does_not_break_the_callers_transaction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken_get_or_create(**kwargs: object) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table_jiedao")

    monkeypatch.setattr(CalendarWarning.objects, "get_or_create", broken_get_or_create)
    assert is_workday(date(2099, 1, 1))  # answers, and the savepoint keeps the transaction usable
    assert WorkdayOverride.objects.count() == 0
    monkeypatch.undo()
    is_workday(date(2099, 1, 2))  # written next time, with the count kept from the failed attempt
    assert CalendarWarning.objects.get(year=2099).times == 2


# --- statutory periods ------------------------------------------------------------------------------------


def test_statutory_period_ending_in_a_holiday_is_extended() -> None:
    result = statutory_deadline_days(date(2026, 2, 4), 60)  # nominal last day 2026-04-05, 清明节 (Sunday)
    assert result.last_day == date(2026, 4, 7)
    assert result.due_at == datetime(2026, 4, 8, 0, 0, tzinfo=CALENDAR_TZ)
    assert "2026-04-05" in result.rule and "顺延至 2026-04-07 24:00" in result.rule
    assert "民法典第二百零三条" in result.rule and "节假日" in result.rule


def test_statutory_period_ending_on_a_working_day() -> None:
    result = statutory_deadline_days(date(2026, 3, 2), 15)
    assert result.last_day == date(2026, 3, 17)
    assert result.due_at == datetime(2026, 3, 18, tzinfo=CALENDAR_TZ)
    assert result.rule == "自次日起算 15 日，至 2026-03-17 24:00 届满（民法典第二百零一条、第二百零三条）"


def test_statutory_period_ending_on_a_weekend_or_make_up_day() -> None:
    assert statutory_deadline_days(date(2026, 3, 2), 5).last_day == date(2026, 3, 9)  # Sat 3-7 → Mon 3-9
    assert statutory_deadline_days(date(2026, 2, 13), 15).last_day == date(2026, 2, 28)  # 调休 Saturday stays
    assert statutory_deadline_days(date(2026, 2, 1), 15).last_day == date(2026, 2, 24)  # 2-16 春节 → 2-24


def test_statutory_trigger_datetime_is_read_in_beijing_time() -> None:
    late_evening_utc = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)  # 2026-03-02 00:30 in Beijing
    assert statutory_deadline_days(late_evening_utc, 15).last_day == date(2026, 3, 17)
    with pytest.raises(ValueError):
        statutory_deadline_days(datetime(2026, 3, 2, 9, 0), 15)
    with pytest.raises(ValueError):
        statutory_deadline_days(date(2026, 3, 2), 0)


def test_working_days_deadline() -> None:
    result = working_days_deadline(datetime(2026, 2, 12, 10, 0, tzinfo=CALENDAR_TZ), 3)
    assert result.last_day == date(2026, 2, 24)
    assert result.due_at == datetime(2026, 2, 25, tzinfo=CALENDAR_TZ)
    assert "3 个工作日" in result.rule and "2026-02-24 24:00" in result.rule
    with pytest.raises(ValueError):
        working_days_deadline(date(2026, 2, 12), 0)


# --- properties -------------------------------------------------------------------------------------------

covered_dates = st.dates(min_value=date(2005, 1, 1), max_value=date(2026, 9, 30))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(day=covered_dates, n=st.integers(min_value=-90, max_value=90))
def test_add_then_count_round_trips(day: date, n: int) -> None:
    result = add_workdays(day, n)
    assert count_workdays(day, result) == n
    if n:
        assert is_workday(result)
        assert (result > day) == (n > 0)
    else:
        assert result == day


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(day=covered_dates)
def test_agrees_with_the_package_without_overrides(day: date) -> None:
    assert is_workday(day) == chinese_calendar.is_workday(day)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(trigger=covered_dates, days=st.integers(min_value=1, max_value=90))
def test_statutory_last_day_is_the_first_working_day_on_or_after_the_nominal_day(
    trigger: date, days: int
) -> None:
    result = statutory_deadline_days(trigger, days)
    nominal = trigger + timedelta(days=days)
    assert result.last_day >= nominal and is_workday(result.last_day)
    assert all(not is_workday(nominal + timedelta(days=i)) for i in range((result.last_day - nominal).days))
    assert result.due_at == datetime.combine(
        result.last_day + timedelta(days=1), datetime.min.time(), CALENDAR_TZ
    )
