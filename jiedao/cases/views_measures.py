"""三率统计 (measures) and 积案清零 (backlog campaign board) pages: read-only views over the user's cases."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.cases import backlog, measures
from jiedao.cases.models import Case
from jiedao.core.models import OrgUnit
from jiedao.core.models.scope import under_path
from jiedao.core.permissions import require


def _series_names() -> dict[str, str]:
    return {"response": _("响应率"), "resolution": _("解决率"), "satisfaction": _("满意率")}


@login_required
def measures_page(request: HttpRequest) -> HttpResponse:
    require(request.user, "case.measures")
    errors: list[str] = []
    this_month = measures.current_month()
    raw_month = request.GET.get("month", "").strip()
    month = measures.parse_month(raw_month) if raw_month else this_month
    if month is None:
        errors.append(_("月份“%(value)s”无法识别，请按“年-月”填写，例如 2026-03。") % {"value": raw_month})
        month = this_month

    qs = Case.objects.visible_to(request.user)
    params: dict[str, str] = {}
    unit: OrgUnit | None = None
    unit_code = request.GET.get("unit", "").strip()
    if unit_code:
        unit = get_object_or_404(OrgUnit.objects.visible_to(request.user), code=unit_code)
        qs = qs.filter(under_path("org_path", unit.path, qs.db))
        params["unit"] = unit.code

    total = measures.totals(qs, month, params)
    communities = measures.by_community(qs, month, params)
    departments = measures.by_department(qs, month, params)
    trend = measures.trend(qs, month)
    names = _series_names()
    trend_chart = {
        "categories": [t["month"] for t in trend],
        "series": [
            {"name": names[k], "data": [measures.chart_value(t[k]) for t in trend]}
            for k in ("response", "resolution", "satisfaction")
        ],
        "unit": "%",
    }
    bars_chart = {
        "categories": [c.label for c in communities],
        "series": [
            {"name": names["response"], "data": [measures.chart_value(c.response_rate) for c in communities]},
            {
                "name": names["resolution"],
                "data": [measures.chart_value(c.resolution_rate) for c in communities],
            },
            {
                "name": names["satisfaction"],
                "data": [measures.chart_value(c.satisfaction_rate) for c in communities],
            },
        ],
        "urls": [c.link("dispatched") for c in communities],
        "unit": "%",
    }
    units = OrgUnit.objects.visible_to(request.user).filter(depth__lte=3).order_by("path")
    return render(
        request,
        "cases/measures.html",
        {
            "month": f"{month:%Y-%m}",
            "month_choices": measures.month_choices(this_month),
            "unit": unit,
            "units": units,
            "total": total,
            "communities": communities,
            "departments": departments,
            "trend": trend_chart,
            "bars": bars_chart,
            "definitions": measures.DEFINITIONS,
            "errors": errors,
        },
    )


def _parse_day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


@login_required
def backlog_page(request: HttpRequest) -> HttpResponse:
    require(request.user, "case.backlog")
    errors: list[str] = []
    now = timezone.now()
    today = timezone.localdate(now)
    default_start = backlog.quarter_start(today)
    raw = request.GET.get("start", "").strip()
    start = _parse_day(raw) if raw else default_start
    if start is None:
        errors.append(_("起始日“%(value)s”无法识别，请按“年-月-日”填写，例如 2026-01-01。") % {"value": raw})
        start = default_start
    elif start > today:
        errors.append(_("起始日不能晚于今天。"))
        start = default_start

    qs = Case.objects.visible_to(request.user)
    rows = backlog.board(qs, start)
    total = backlog.LeaderRow(
        _("合计"),
        {"baseline_start": start.isoformat()},
        sum(r.baseline for r in rows),
        sum(r.remaining for r in rows),
    )
    weekly = backlog.weekly_remaining(qs, start, now)
    chart: dict[str, Any] = {
        "categories": [w["date"] for w in weekly],
        "series": [{"name": _("剩余积案"), "data": [w["remaining"] for w in weekly], "type": "line"}],
    }
    return render(
        request,
        "cases/backlog.html",
        {
            "start": start.isoformat(),
            "raw_start": raw if errors else start.isoformat(),
            "rows": rows,
            "total": total,
            "chart": chart,
            "kinds": backlog.current_counts(qs, now, qs),
            "people": backlog.repeated_people(qs, now),
            "places": backlog.repeated_places(qs, now),
            "backlog_days": backlog.BACKLOG_DAYS,
            "repeat_days": backlog.REPEAT_DAYS,
            "repeat_min": backlog.REPEAT_MIN,
            "errors": errors,
        },
    )


urlpatterns: list[URLPattern] = [
    path("measures/", measures_page, name="measures"),
    path("backlog/", backlog_page, name="backlog"),
]
