"""The work calendar pages: everyone signed in reads the month view; only administrators change overrides
and handle warnings; anonymous visitors are sent to sign in."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime

import pytest
from django.test import Client
from django.urls import reverse

from jiedao.audit.models import AuditEvent
from jiedao.core import workdays
from jiedao.core.models import CalendarWarning, WorkdayOverride
from tests.world import PERSONAS, World

pytestmark = pytest.mark.django_db
ClientFor = Callable[[str], Client]

READERS = [p for p in PERSONAS if p != "admin"]


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    workdays.clear_caches()
    yield
    workdays.clear_caches()


def month_url(year: int, month: int) -> str:
    return f"{reverse('core:calendar')}?year={year}&month={month}"


def test_anonymous_is_sent_to_sign_in() -> None:
    response = Client().get(reverse("core:calendar"))
    assert response.status_code == 302 and "login" in response["Location"]
    response = Client().post(reverse("core:calendar_override_add"), {"date": "2026-03-10", "name": "x"})
    assert response.status_code == 302
    assert not WorkdayOverride.objects.exists()


@pytest.mark.parametrize("persona", READERS)
def test_other_personas_read_the_calendar_without_edit_controls(
    world: World, client_for: ClientFor, persona: str
) -> None:
    WorkdayOverride.objects.create(date=date(2026, 2, 27), is_workday=False, name="街道调休")
    CalendarWarning.objects.create(year=2099, times=3)
    response = client_for(persona).get(month_url(2026, 2))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-date="2026-02-16" data-kind="holiday"' in page
    assert 'data-date="2026-02-14" data-kind="makeup"' in page
    assert 'data-date="2026-02-27" data-kind="holiday"' in page  # the override
    assert "法定节假日：春节" in page and "调休上班（春节）" in page and "街道调休" in page
    assert 'data-testid="override-add"' not in page
    assert reverse("core:calendar_override_edit", args=[WorkdayOverride.objects.get().pk]) not in page
    assert 'data-testid="calendar-warnings"' not in page


def test_administrator_sees_edit_controls_and_warnings(client_for: ClientFor) -> None:
    CalendarWarning.objects.create(year=2099, times=3)
    CalendarWarning.objects.create(year=2098, times=1, resolved=True)
    page = client_for("admin").get(month_url(2026, 2)).content.decode()
    assert 'data-testid="override-add"' in page
    assert 'data-testid="warning-resolve-2099"' in page and "warning-resolve-2098" not in page


def test_month_view_of_an_unknown_year_shows_the_fallback_without_recording_a_warning(
    client_for: ClientFor,
) -> None:
    page = client_for("leader").get(month_url(2099, 1)).content.decode()
    assert 'data-testid="calendar-fallback"' in page
    assert 'data-date="2099-01-03" data-kind="rest"' in page
    assert not CalendarWarning.objects.exists()


@pytest.mark.parametrize("query", ["?year=abc&month=2", "?year=2026&month=13", "?year=99999&month=1", ""])
def test_bad_month_parameters_show_the_current_month(client_for: ClientFor, query: str) -> None:
    response = client_for("grid_a").get(reverse("core:calendar") + query)
    assert response.status_code == 200
    today = datetime.now(workdays.CALENDAR_TZ).date()
    assert response.context["year"] == today.year and response.context["month"] == today.month


def test_administrator_adds_an_override(client_for: ClientFor) -> None:
    client = client_for("admin")
    assert client.get(reverse("core:calendar_override_add") + "?date=2026-03-10").status_code == 200
    response = client.post(
        reverse("core:calendar_override_add"),
        {"date": "2026-03-10", "is_workday": "", "name": "区级活动放假"},
    )
    assert response.status_code == 302 and response["Location"] == month_url(2026, 3)
    override = WorkdayOverride.objects.get(date=date(2026, 3, 10))
    assert not override.is_workday and override.name == "区级活动放假"
    assert not workdays.is_workday(date(2026, 3, 10))
    event = AuditEvent.objects.get(kind="calendar.change")
    assert event.actor_repr == "admin" and event.data["action"] == "override.create"
    assert event.data["new"] == {"date": "2026-03-10", "is_workday": False, "name": "区级活动放假"}


def test_override_form_validates(client_for: ClientFor) -> None:
    client = client_for("admin")
    WorkdayOverride.objects.create(date=date(2026, 3, 10), is_workday=False, name="放假")
    url = reverse("core:calendar_override_add")
    for data in (
        {"date": "2026-03-10", "name": "重复"},  # date already has an override
        {"date": "2026-03-11", "name": "  "},  # explanation required
        {"date": "1999-03-11", "name": "太早"},
        {"date": "not-a-date", "name": "x"},
    ):
        response = client.post(url, data)
        assert response.status_code == 200, data
        assert response.context["form"].errors, data
    assert WorkdayOverride.objects.count() == 1
    assert not AuditEvent.objects.filter(kind="calendar.change").exists()


def test_administrator_edits_and_deletes_an_override(client_for: ClientFor) -> None:
    client = client_for("admin")
    override = WorkdayOverride.objects.create(date=date(2026, 3, 10), is_workday=False, name="放假")
    edit = reverse("core:calendar_override_edit", args=[override.pk])
    assert client.get(edit).status_code == 200
    response = client.post(edit, {"date": "2026-03-14", "is_workday": "on", "name": "补班"})
    assert response.status_code == 302
    override.refresh_from_db()
    assert override.date == date(2026, 3, 14) and override.is_workday
    assert workdays.is_workday(date(2026, 3, 14)) and workdays.is_workday(date(2026, 3, 10))
    delete = reverse("core:calendar_override_delete", args=[override.pk])
    assert client.get(delete).status_code == 200
    assert client.post(delete).status_code == 302
    assert not WorkdayOverride.objects.exists()
    assert not workdays.is_workday(date(2026, 3, 14))
    actions = list(
        AuditEvent.objects.filter(kind="calendar.change").order_by("seq").values_list("data", flat=True)
    )
    assert [a["action"] for a in actions] == ["override.update", "override.delete"]
    assert actions[0]["old"]["date"] == "2026-03-10" and actions[0]["new"]["date"] == "2026-03-14"


@pytest.mark.parametrize("persona", ["grid_a", "leader", "auditor", "volunteer"])
def test_non_administrators_cannot_change_the_calendar(
    world: World, client_for: ClientFor, persona: str
) -> None:
    client = client_for(persona)
    override = WorkdayOverride.objects.create(date=date(2026, 3, 10), is_workday=False, name="放假")
    warning = CalendarWarning.objects.create(year=2099)
    add = reverse("core:calendar_override_add")
    assert client.get(add).status_code == 403
    assert client.post(add, {"date": "2026-03-11", "is_workday": "", "name": "放假"}).status_code == 403
    edit = reverse("core:calendar_override_edit", args=[override.pk])
    assert client.post(edit, {"date": "2026-03-10", "is_workday": "on", "name": "上班"}).status_code == 403
    assert client.post(reverse("core:calendar_override_delete", args=[override.pk])).status_code == 403
    assert client.post(reverse("core:calendar_warning_resolve", args=[warning.pk])).status_code == 403
    override.refresh_from_db()
    warning.refresh_from_db()
    assert WorkdayOverride.objects.count() == 1 and not override.is_workday and not warning.resolved
    assert not AuditEvent.objects.filter(kind="calendar.change").exists()


def test_administrator_resolves_a_warning(client_for: ClientFor) -> None:
    warning = CalendarWarning.objects.create(year=2099, times=4)
    url = reverse("core:calendar_warning_resolve", args=[warning.pk])
    client = client_for("admin")
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 302
    warning.refresh_from_db()
    assert warning.resolved
    event = AuditEvent.objects.get(kind="calendar.change")
    assert event.data == {"action": "warning.resolve", "year": 2099, "times": 4}
    page = client.get(month_url(2026, 2)).content.decode()
    assert 'data-testid="calendar-warnings"' not in page
