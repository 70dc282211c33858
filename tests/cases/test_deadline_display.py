"""Deadlines that end at midnight read as 24:00 of the day before, on staff and public pages alike."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from jiedao.core.templatetags.deadlines import deadline

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


@pytest.mark.django_db
def test_my_work_shows_a_midnight_deadline_as_24_00(make_case, client_for) -> None:
    case = make_case("accepted")  # 10 working days: the deadline ends at 24:00 of its last day
    assert case.due_at is not None and (case.due_at.astimezone(SHANGHAI).hour, case.due_at.minute) == (0, 0)
    page = client_for("comm_a").get("/").content.decode()
    assert deadline(case.due_at, "m-d H:i") in page and deadline(case.due_at, "m-d H:i").endswith("24:00")
