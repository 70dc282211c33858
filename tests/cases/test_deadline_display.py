"""Deadlines that end at midnight read as 24:00 of the day before, on staff and public pages alike."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from jiedao.cases.templatetags.case_tags import deadline

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_midnight_deadline_reads_as_24_00_of_the_day_before() -> None:
    due = dt.datetime(2026, 11, 27, 0, 0, tzinfo=SHANGHAI)
    assert deadline(due, "Y-m-d H:i") == "2026-11-26 24:00"
    assert deadline(due, "m-d H:i") == "11-26 24:00"
    assert deadline(due, "Y-m-d") == "2026-11-26"


def test_other_times_are_shown_as_they_are() -> None:
    due = dt.datetime(2026, 11, 27, 9, 30, tzinfo=SHANGHAI)
    assert deadline(due, "Y-m-d H:i") == "2026-11-27 09:30"
    assert deadline(None) == ""
