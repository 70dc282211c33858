"""The work calendar pages: a month view for everyone, override editing and warnings for administrators.

The lead includes `urlpatterns_calendar` into the "core" namespace (URL names core:calendar,
core:calendar_override_add, core:calendar_override_edit, core:calendar_override_delete,
core:calendar_warning_resolve).
"""

from __future__ import annotations

import calendar as pycalendar
import contextlib
from datetime import date, datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jiedao.core import services_calendar
from jiedao.core.forms_calendar import MAX_YEAR, MIN_YEAR, WorkdayOverrideForm
from jiedao.core.models.calendar import CalendarWarning, WorkdayOverride
from jiedao.core.permissions import can, require
from jiedao.core.workdays import CALENDAR_TZ, DayInfo, days_info

#: Months a user may browse to (the form's range, with a margin of a year on each side).
BROWSE_YEARS = (MIN_YEAR - 1, MAX_YEAR + 1)


def _today() -> date:
    return datetime.now(CALENDAR_TZ).date()


def _requested_month(request: HttpRequest) -> tuple[int, int]:
    """?year=&month= when valid, else the current month (Beijing time)."""
    today = _today()
    try:
        year = int(request.GET.get("year", today.year))
        month = int(request.GET.get("month", today.month))
    except ValueError:
        return today.year, today.month
    if not (BROWSE_YEARS[0] <= year <= BROWSE_YEARS[1] and 1 <= month <= 12):
        return today.year, today.month
    return year, month


def _shift(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def _weekday_names() -> list[str]:
    return [_("一"), _("二"), _("三"), _("四"), _("五"), _("六"), _("日")]


def _special_runs(days: list[DayInfo]) -> list[dict[str, Any]]:
    """Holidays, make-up days and overrides of the month, consecutive days with the same meaning joined:
    春节 2026-02-15 – 2026-02-23 is one entry, not nine."""
    names = _weekday_names()
    runs: list[dict[str, Any]] = []
    for info in days:
        if info.kind not in ("holiday", "makeup") and info.source != "override":
            continue
        last = runs[-1] if runs else None
        if (
            last is not None
            and (info.date - last["last"]).days == 1
            and last["info"].explanation == info.explanation
            and last["info"].kind == info.kind
        ):
            last["last"] = info.date
            last["days"] += 1
            last["last_weekday"] = names[info.date.weekday()]
            continue
        weekday = names[info.date.weekday()]
        runs.append(
            {
                "info": info,
                "first": info.date,
                "last": info.date,
                "days": 1,
                "first_weekday": weekday,
                "last_weekday": weekday,
            }
        )
    return runs


def _month_url(year: int, month: int) -> str:
    return f"{reverse('core:calendar')}?year={year}&month={month}"


@login_required
def calendar_month(request: HttpRequest) -> HttpResponse:
    require(request.user, "calendar.view")
    year, month = _requested_month(request)
    weeks_dates = pycalendar.Calendar(firstweekday=0).monthdatescalendar(year, month)
    infos = {info.date: info for info in days_info(weeks_dates[0][0], weeks_dates[-1][-1], warn=False)}
    weeks: list[list[DayInfo]] = [[infos[d] for d in week] for week in weeks_dates]
    month_days = [info for info in infos.values() if info.date.month == month]
    special = _special_runs(month_days)
    can_change = can(request.user, "calendar.change")
    prev_year, prev_month = _shift(year, month, -1)
    next_year, next_month = _shift(year, month, 1)
    today = _today()
    context: dict[str, Any] = {
        "year": year,
        "month": month,
        "weeks": weeks,
        "weekday_names": _weekday_names(),
        "special_days": special,
        "workday_count": sum(1 for info in month_days if info.is_workday),
        "rest_count": sum(1 for info in month_days if not info.is_workday),
        "fallback": any(info.source == "fallback" for info in month_days),
        "overrides": list(WorkdayOverride.objects.filter(date__year=year).order_by("date")),
        "warnings": list(CalendarWarning.objects.filter(resolved=False).order_by("year"))
        if can_change
        else [],
        "can_change": can_change,
        "today": today,
        "prev_url": _month_url(prev_year, prev_month) if prev_year >= BROWSE_YEARS[0] else "",
        "next_url": _month_url(next_year, next_month) if next_year <= BROWSE_YEARS[1] else "",
        "today_url": _month_url(today.year, today.month),
        "years": range(year - 2, year + 3),
    }
    return render(request, "core/calendar.html", context)


def _back_to(day: date) -> HttpResponseRedirect:
    return redirect(_month_url(day.year, day.month))


def _edit(request: HttpRequest, override: WorkdayOverride | None) -> HttpResponse:
    require(request.user, "calendar.change")
    back = override.date if override is not None else _today()
    if request.method == "POST":
        form = WorkdayOverrideForm(request.POST, instance=override)
        if form.is_valid():
            try:
                saved = services_calendar.save_override(
                    request.user,
                    date=form.cleaned_data["date"],
                    is_workday=form.cleaned_data["is_workday"],
                    name=form.cleaned_data["name"],
                    override=override,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("已保存 %(date)s 的调整。") % {"date": saved.date.isoformat()})
                return _back_to(saved.date)
    else:
        initial: dict[str, Any] = {}
        if override is None and request.GET.get("date"):
            with contextlib.suppress(ValueError):
                initial["date"] = back = date.fromisoformat(request.GET["date"])
        form = WorkdayOverrideForm(instance=override, initial=initial)
    return render(
        request,
        "core/calendar_override_form.html",
        {"form": form, "override": override, "cancel_url": _month_url(back.year, back.month)},
    )


@login_required
def override_add(request: HttpRequest) -> HttpResponse:
    return _edit(request, None)


@login_required
def override_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, "calendar.change")
    return _edit(request, get_object_or_404(WorkdayOverride, pk=pk))


@login_required
def override_delete(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, "calendar.change")
    override = get_object_or_404(WorkdayOverride, pk=pk)
    if request.method == "POST":
        day = override.date
        services_calendar.delete_override(request.user, override)
        messages.success(request, _("已删除 %(date)s 的调整。") % {"date": day.isoformat()})
        return _back_to(day)
    return render(
        request,
        "core/calendar_override_confirm_delete.html",
        {"override": override, "cancel_url": _month_url(override.date.year, override.date.month)},
    )


@login_required
@require_POST
def warning_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, "calendar.change")
    warning = get_object_or_404(CalendarWarning, pk=pk)
    services_calendar.resolve_warning(request.user, warning)
    messages.success(request, _("已将 %(year)s 年的日历告警标记为已处理。") % {"year": warning.year})
    if BROWSE_YEARS[0] <= warning.year <= BROWSE_YEARS[1]:
        return redirect(_month_url(warning.year, 1))
    return redirect("core:calendar")


urlpatterns_calendar: list[URLPattern] = [
    path("calendar/", calendar_month, name="calendar"),
    path("calendar/overrides/add/", override_add, name="calendar_override_add"),
    path("calendar/overrides/<int:pk>/edit/", override_edit, name="calendar_override_edit"),
    path("calendar/overrides/<int:pk>/delete/", override_delete, name="calendar_override_delete"),
    path("calendar/warnings/<int:pk>/resolve/", warning_resolve, name="calendar_warning_resolve"),
]
