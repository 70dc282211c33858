"""三率统计 (measures) and 积案清零 (backlog campaign board) pages: read-only views over the user's cases."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jiedao.cases import backlog, measures, rollup
from jiedao.cases.models import Case, MonthlyFigureRun
from jiedao.core.models import OrgUnit
from jiedao.core.permissions import require

#: Community rows shown before "显示全部" (the page stays fast for a district-wide user).
TABLE_LIMIT = 60


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

    params: dict[str, str] = {}
    unit: OrgUnit | None = None
    unit_code = request.GET.get("unit", "").strip()
    if unit_code:
        # the rollup goes down to communities: finer units are not offered
        unit = get_object_or_404(OrgUnit.objects.visible_to(request.user), code=unit_code, depth__lte=3)
        params["unit"] = unit.code

    rollup.ensure_refresh_scheduled()
    runs = measures.ensure_computed(measures.trend_months(month))
    figures = measures.figures_for(request.user, unit)
    total = measures.totals(figures, month, params)
    communities = measures.by_community(figures, month, params)
    departments = measures.by_department(figures, month, params)
    trend = measures.trend(figures, month)
    # a district has hundreds of communities: the table and the bars show the first ones unless asked for all
    show_all = request.GET.get("all") == "1"
    hidden = 0 if show_all else max(len(communities) - TABLE_LIMIT, 0)
    if hidden:
        communities = communities[:TABLE_LIMIT]
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
            "hidden": hidden,
            "all_url": "?" + urlencode({**params, "month": f"{month:%Y-%m}", "all": "1"}),
            "trend": trend_chart,
            "bars": bars_chart,
            "definitions": measures.DEFINITIONS,
            "errors": errors,
            "updated": _updated_text(runs.get(month)),
            "can_refresh": month <= this_month,
        },
    )


def _updated_text(run: MonthlyFigureRun | None) -> str:
    if run is None:  # a month after the current one: nothing to compute yet
        return ""
    local = timezone.localtime(run.computed_at)
    stamp = f"{local:%H:%M}" if local.date() == timezone.localdate() else f"{local:%Y-%m-%d %H:%M}"
    return _("数据更新于 %(time)s（每 10 分钟汇总一次）") % {"time": stamp}


@login_required
@require_POST
def measures_refresh(request: HttpRequest) -> HttpResponse:
    """立即更新: recompute the posted month's rollup now, then back to the page."""
    month = measures.parse_month(request.POST.get("month"))
    query: dict[str, str] = {}
    if month is None or month > measures.current_month():
        require(request.user, "case.measures")
        messages.error(request, _("请选择要更新的月份（不能晚于本月）。"))
    else:
        run = measures.request_refresh(request.user, month)
        done = _("%(month)s 的三率已更新（用时 %(s).1f 秒）。")
        messages.success(request, done % {"month": f"{month:%Y-%m}", "s": run.seconds})
        query["month"] = f"{month:%Y-%m}"
    unit_code = request.POST.get("unit", "").strip()
    if unit_code:
        query["unit"] = unit_code
    url = reverse("cases:measures")
    return redirect(f"{url}?{urlencode(query)}" if query else url)


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
    path("measures/refresh/", measures_refresh, name="measures_refresh"),
    path("backlog/", backlog_page, name="backlog"),
]
