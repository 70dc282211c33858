"""The 三率 rollup: equal to the live aggregates, drill-downs list the counted cases, scoped like cases,
kept fresh by the shared deadline engine (once, with two workers), computed on first view, 立即更新 and the
command."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from jiedao.audit.models import AuditEvent
from jiedao.cases import measures, rollup
from jiedao.cases.models import Case, MonthlyFigure, MonthlyFigureRun, RollupRefresh
from jiedao.core.deadlines import TickReport, run_due
from jiedao.core.models import DueState
from tests.cases import test_measures_rates
from tests.cases.test_measures_pages import text_of
from tests.cases.test_measures_rates import MARCH, figure_cases
from tests.world import World

measured = test_measures_rates.measured  # the fixture (cases with known 2025 timestamps, refreshed)

URL = reverse("cases:measures")
REFRESH_URL = reverse("cases:measures_refresh")
MONTHS = [date(2025, m, 1) for m in (1, 2, 3, 4)]
KEYS = ("dispatched", "on_time", "late", "unresponded", "closed", "resolved", "rated", "good")


def counts(figures: measures.Figures) -> dict[str, int]:
    return dict(figures.counts)


# --- the rollup equals the live aggregates ---------------------------------------------------------------


def test_rollup_equals_live_aggregates(world: World, measured: dict[str, Case]) -> None:
    everything = MonthlyFigure.objects.all()
    units = {u.code: u for u in (world.community_a, world.community_b, world.other_community)}
    for month in MONTHS:
        assert counts(measures.totals(everything, month)) == measures.live_counts(Case.objects.all(), month)
        for row in measures.by_community(everything, month):
            unit = units[row.code]
            live = Case.objects.filter(measures.community_key_q(unit.path), lead_department__isnull=True)
            assert counts(row) == measures.live_counts(live, month), (month, row.code)
        for row in measures.by_department(everything, month):
            live = Case.objects.filter(lead_department__code=row.code)
            assert counts(row) == measures.live_counts(live, month), (month, row.code)
    march = measures.totals(everything, MARCH)
    assert march["dispatched"] == 8 and march["on_time"] == 5  # ours (7, 4) and the other sub-district's


def test_rows_per_community_and_department(world: World, measured: dict[str, Case]) -> None:
    rows = {(r.org_path, r.department_id): r for r in MonthlyFigure.objects.filter(month=MARCH)}
    assert set(rows) == {
        (world.community_a.path, None),
        (world.community_b.path, None),
        (world.community_a.path, world.dept_xinfang.pk),
        (world.other_community.path, None),
    }
    a = rows[(world.community_a.path, None)]
    assert (a.dispatched, a.on_time, a.late, a.unresponded) == (4, 2, 1, 1)
    assert (a.closed, a.resolved, a.partial, a.rated, a.good) == (3, 2, 1, 3, 2)
    assert MonthlyFigureRun.objects.get(month=MARCH).seconds >= 0


def test_the_rollup_changes_only_when_refreshed(world: World, measured: dict[str, Case]) -> None:
    figures = measures.figures_for(world["leader"])
    Case.objects.filter(pk=measured["a3"].pk).update(responded_at=test_measures_rates.at(3, 7, 11))
    assert measures.totals(figures, MARCH)["unresponded"] == 1  # not yet
    before = MonthlyFigureRun.objects.get(month=MARCH).computed_at
    assert measures.refresh_month(MARCH) == 4
    total = measures.totals(figures, MARCH)
    assert (total["unresponded"], total["on_time"]) == (0, 5)
    assert MonthlyFigureRun.objects.get(month=MARCH).computed_at >= before
    assert MonthlyFigure.objects.filter(month=MARCH).count() == 4  # replaced, not added


def test_drill_downs_list_exactly_the_counted_cases(world: World, measured: dict[str, Case]) -> None:
    leader = world["leader"]
    figures = measures.figures_for(leader)
    for month in MONTHS:
        rows = [
            measures.totals(figures, month),
            *measures.by_community(figures, month),
            *measures.by_department(figures, month),
        ]
        for row in rows:
            for key in KEYS:
                assert len(figure_cases(row.links[key], leader)) == row[key], (month, row.code, key)
            for outcome in row.breakdown:
                assert len(figure_cases(outcome["url"], leader)) == outcome["count"]


def test_confidential_cases_count_but_list_only_for_who_may_open_them(
    world: World, measured: dict[str, Case]
) -> None:
    Case.objects.filter(pk=measured["a3"].pk).update(confidential=True)
    measures.refresh_month(MARCH)
    comm_a = world["comm_a"]  # community staff may not open confidential cases
    total = measures.totals(measures.figures_for(comm_a), MARCH)
    assert total["unresponded"] == 1
    assert figure_cases(total.links["unresponded"], comm_a) == set()
    assert figure_cases(total.links["unresponded"], world["leader"]) == {"a3"}


# --- scope -----------------------------------------------------------------------------------------------


def test_scope_of_the_rollup(world: World, measured: dict[str, Case]) -> None:
    comm_b = measures.figures_for(world["comm_b"])
    assert set(comm_b.values_list("org_path", flat=True)) == {world.community_b.path}
    assert [c.code for c in measures.by_community(comm_b, MARCH)] == [world.community_b.code]
    assert measures.by_department(comm_b, MARCH) == []
    other = measures.figures_for(world["other_leader"])
    assert other.exists()
    assert not other.filter(org_path__startswith=world.subdistrict.path).exists()
    assert measures.totals(other, MARCH)["dispatched"] == 1
    assert not measures.figures_for(world["grid_a"]).exists()  # a grid is finer than the rollup
    narrowed = measures.figures_for(world["leader"], world.community_b)
    assert measures.totals(narrowed, MARCH)["dispatched"] == 1


# --- the deadline engine -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_engine_runs_a_due_refresh_once_and_schedules_the_next() -> None:
    now = timezone.now()
    item = rollup.ensure_refresh_scheduled(now)
    assert item is not None and item.months == 2
    assert rollup.ensure_refresh_scheduled(now) is None  # one is pending
    report = run_due(now=now + timedelta(seconds=1))
    assert (report.claimed, report.done) == (1, 1)
    item.refresh_from_db()
    assert item.due_state == DueState.DONE
    this_month = measures.current_month()
    assert set(MonthlyFigureRun.objects.values_list("month", flat=True)) == {
        this_month,
        measures.add_months(this_month, -1),
    }
    (following,) = RollupRefresh.objects.filter(due_state=DueState.PENDING)
    assert timedelta(minutes=9) < following.due_at - now < timedelta(minutes=11)
    # the second pass finds nothing due; at the next time, the next one runs
    assert run_due(now=now + timedelta(seconds=2)).claimed == 0
    assert run_due(now=following.due_at).done == 1
    assert RollupRefresh.objects.filter(due_state=DueState.PENDING).count() == 1
    assert AuditEvent.objects.filter(kind="deadline.fired", object_type="cases.rolluprefresh").count() == 2


@pytest.mark.django_db
def test_first_run_of_a_day_recomputes_thirteen_months() -> None:
    tz = timezone.get_current_timezone()
    late = datetime(2025, 3, 9, 23, 55, tzinfo=tz)
    assert rollup.months_for(late + timedelta(minutes=10), late) == 13
    assert rollup.months_for(late - timedelta(minutes=10), late - timedelta(minutes=20)) == 2
    assert rollup.months_for(late, None) == 2
    item = RollupRefresh.objects.create(due_at=late, months=2, due_state=DueState.CLAIMED)
    following = rollup.schedule_next(item, late)
    assert following is not None and following.months == 13
    assert rollup.schedule_next(item, late) is None  # one is pending already
    rollup.run_refresh(RollupRefresh(due_at=late, months=13))
    assert MonthlyFigureRun.objects.count() == 13


def test_two_workers_run_the_refresh_once(tx_world: World) -> None:
    now = timezone.now()
    rollup.ensure_refresh_scheduled(now)
    barrier = threading.Barrier(2)
    reports: list[TickReport] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            reports.append(run_due(now=now + timedelta(seconds=1)))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert sum(r.done for r in reports) == 1 and sum(r.failed + r.retried for r in reports) == 0
    assert RollupRefresh.objects.filter(due_state=DueState.DONE).count() == 1
    assert RollupRefresh.objects.filter(due_state=DueState.PENDING).count() == 1
    assert AuditEvent.objects.filter(kind="deadline.fired", object_type="cases.rolluprefresh").count() == 1


# --- the page --------------------------------------------------------------------------------------------


def test_first_view_of_an_uncomputed_month_computes_it(
    world: World, client_for: Callable[[str], Client], measured: dict[str, Case]
) -> None:
    MonthlyFigure.objects.filter(month=MARCH).delete()
    MonthlyFigureRun.objects.filter(month=MARCH).delete()
    html = client_for("leader").get(URL, {"month": "2025-03"}).content.decode()
    assert text_of(html, "total-dispatched") == "7"
    assert "数据更新于" in text_of(html, "measures-updated")
    window = measures.trend_months(MARCH)
    computed = MonthlyFigureRun.objects.filter(month__in=window).values_list("month", flat=True)
    assert set(computed) == set(window)
    assert RollupRefresh.objects.filter(due_state=DueState.PENDING).count() == 1  # the chain is started
    # a month after the current one is not computed (nothing to show yet)
    assert client_for("leader").get(URL, {"month": "2999-01"}).status_code == 200
    assert not MonthlyFigureRun.objects.filter(month__gt=measures.current_month()).exists()


def test_page_reads_the_rollup_not_the_cases(
    world: World, client_for: Callable[[str], Client], measured: dict[str, Case]
) -> None:
    client = client_for("district")
    client.get(URL, {"month": "2025-03"})
    with CaptureQueriesContext(connection) as captured:
        response = client.get(URL, {"month": "2025-03"})
    assert response.status_code == 200
    grouped = [q["sql"] for q in captured.captured_queries if "GROUP BY" in q["sql"] or "SUM(" in q["sql"]]
    assert len(grouped) == 4  # totals, communities, departments, trend
    assert all('"cases_monthlyfigure"' in sql and '"cases_case"' not in sql for sql in grouped)


def test_refresh_button_recomputes_and_is_audited(
    world: World, client_for: Callable[[str], Client], measured: dict[str, Case]
) -> None:
    Case.objects.filter(pk=measured["a3"].pk).update(responded_at=test_measures_rates.at(3, 7, 11))
    client = client_for("comm_a")
    html = client.get(URL, {"month": "2025-03"}).content.decode()
    assert REFRESH_URL in html and "立即更新" in html
    assert text_of(html, "total-dispatched") == "6"  # community A's places, 信访办's two included
    response = client.post(REFRESH_URL, {"month": "2025-03", "unit": world.community_a.code})
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?month=2025-03&unit={world.community_a.code}"
    event = AuditEvent.objects.get(kind="case.measures_refresh")
    assert event.actor == world["comm_a"] and event.data["month"] == "2025-03"
    html = client.get(response["Location"]).content.decode()
    assert "已更新" in html
    total = measures.totals(measures.figures_for(world["leader"]), MARCH)
    assert total["unresponded"] == 0


@pytest.mark.parametrize("username", ["grid_a", "volunteer"])
def test_refresh_needs_case_measures(
    world: World, client_for: Callable[[str], Client], measured: dict[str, Case], username: str
) -> None:
    before = MonthlyFigureRun.objects.get(month=MARCH).computed_at
    assert client_for(username).post(REFRESH_URL, {"month": "2025-03"}).status_code == 403
    assert MonthlyFigureRun.objects.get(month=MARCH).computed_at == before
    assert not AuditEvent.objects.filter(kind="case.measures_refresh").exists()


def test_refresh_refuses_get_and_bad_months(
    world: World, client_for: Callable[[str], Client], measured: dict[str, Case]
) -> None:
    client = client_for("leader")
    assert client.get(REFRESH_URL).status_code == 405
    for bad in ("2025-13", "2999-01", ""):
        response = client.post(REFRESH_URL, {"month": bad}, follow=True)
        assert response.status_code == 200
        assert "请选择要更新的月份" in response.content.decode()
    assert not AuditEvent.objects.filter(kind="case.measures_refresh").exists()


def test_unit_finer_than_a_community_is_not_found(
    world: World, client_for: Callable[[str], Client], measured: dict[str, Case]
) -> None:
    assert client_for("leader").get(URL, {"unit": world.grid_a.code}).status_code == 404


# --- the command -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_refresh_measures_command(world: World) -> None:
    out = StringIO()
    call_command("refresh_measures", "--months", "3", stdout=out)
    lines = out.getvalue().splitlines()
    this_month = measures.current_month()
    assert lines[0].startswith(f"{measures.add_months(this_month, -2):%Y-%m}") and "rows" in lines[0]
    assert lines[-1].startswith("3 months in")
    assert MonthlyFigureRun.objects.count() == 3
    assert RollupRefresh.objects.filter(due_state=DueState.PENDING).count() == 1


def test_long_community_table_shows_the_first_rows_then_all(
    world: World,
    client_for: Callable[[str], Client],
    measured: dict[str, Case],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from jiedao.cases import views_measures

    monkeypatch.setattr(views_measures, "TABLE_LIMIT", 1)
    client = client_for("leader")
    html = client.get(URL, {"month": "2025-03"}).content.decode()
    table = html.split('data-testid="community-table"')[1].split('data-testid="department-table"')[0]
    assert world.community_b.code in table and world.community_a.code not in table
    assert "另有 1 个社区/村排在后面" in html and "all=1" in html
    html = client.get(URL, {"month": "2025-03", "all": "1"}).content.decode()
    table = html.split('data-testid="community-table"')[1].split('data-testid="department-table"')[0]
    assert world.community_a.code in table and 'data-testid="community-more"' not in html
