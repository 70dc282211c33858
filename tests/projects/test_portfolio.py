"""The portfolio's figures and flags: stalled and late on a frozen clock, investment running totals on a
fixture, supervised-matter counts, the summary tiles, and a pinned number of queries for the page."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jiedao.projects import portfolio, services
from jiedao.projects.models import InvestmentEntry, KeyProject
from jiedao.supervision.models import Status, SupervisedMatter
from tests.projects import helpers
from tests.world import World

NOW = timezone.make_aware(datetime(2025, 6, 16, 10, 0))


def _row(project: KeyProject, now: datetime) -> Any:
    return portfolio.annotate(KeyProject.objects.filter(pk=project.pk), now).get()


def test_stalled_flag_boundary_on_a_frozen_clock(world: World, settings: Any) -> None:
    settings.PROJECTS_STALL_DAYS = 30
    with time_machine.travel(NOW, tick=False):
        project = helpers.project(world)  # created now: progress now
        assert project.stalled_after == NOW + timedelta(days=30)
    with time_machine.travel(NOW + timedelta(days=30) - timedelta(seconds=1), tick=False):
        assert not _row(project, timezone.now()).is_stalled
    with time_machine.travel(NOW + timedelta(days=30), tick=False):
        assert _row(project, timezone.now()).is_stalled
        assert KeyProject.objects.stalled().filter(pk=project.pk).exists()
        services.add_note(world["leader"], project, "复工")
        assert not _row(project, timezone.now()).is_stalled
    # A project in use is never stalled.
    KeyProject.objects.filter(pk=project.pk).update(stage="operating")
    assert not _row(project, NOW + timedelta(days=400)).is_stalled


def test_stall_days_per_kind(world: World, settings: Any) -> None:
    settings.PROJECTS_STALL_DAYS_BY_KIND = {"commercial": 10}
    with time_machine.travel(NOW, tick=False):
        project = helpers.project(world)
    assert project.stalled_after == NOW + timedelta(days=10)


def test_milestone_late_flag_boundary(world: World) -> None:
    with time_machine.travel(NOW, tick=False):
        project = helpers.project(world)
        milestone = services.save_milestone(
            world["leader"], project, {"name": "主体封顶", "planned_date": date(2025, 6, 20)}
        )
    with time_machine.travel(NOW.replace(day=20), tick=False):
        row = _row(project, timezone.now())
        assert not row.is_late and row.late_count == 0
    with time_machine.travel(NOW.replace(day=21), tick=False):
        row = _row(project, timezone.now())
        assert row.is_late and row.late_count == 1
        services.save_milestone(world["leader"], project, {"actual_date": date(2025, 6, 21)}, milestone)
        assert not _row(project, timezone.now()).is_late


def test_investment_running_totals(world: World) -> None:
    project = helpers.project(world)
    figures = [("2025-01-01", "100", "80"), ("2025-02-01", "200", "150"), ("2025-03-01", "100", "170")]
    InvestmentEntry.objects.bulk_create(
        InvestmentEntry(
            project=project, month=date.fromisoformat(m), planned=Decimal(p), completed=Decimal(c)
        )
        for m, p, c in figures
    )
    rows = services.running_totals(project.investments.all())
    assert [(r["planned_total"], r["completed_total"], r["rate"]) for r in rows] == [
        (Decimal("100"), Decimal("80"), Decimal("80.0")),
        (Decimal("300"), Decimal("230"), Decimal("76.7")),
        (Decimal("400"), Decimal("400"), Decimal("100.0")),
    ]
    row = _row(project, timezone.make_aware(datetime(2025, 2, 10)))
    assert row.planned_to_date == Decimal("300")  # March's plan is not due yet
    assert row.completed_to_date == Decimal("400")
    assert portfolio.rate(row.completed_to_date, row.planned_to_date) == Decimal("133.3")


def _matter(
    project: KeyProject, n: int, deadline: datetime, status: str = Status.ASSIGNED
) -> SupervisedMatter:
    return SupervisedMatter.objects.create(
        number=f"DB-T-{n}",
        title="督办",
        content="督办内容",
        source="meeting",
        project=project,
        org_unit=project.org_unit,
        status=status,
        deadline=deadline,
        period_start=deadline - timedelta(days=30),
        blue_at=deadline - timedelta(days=3),
        pace_at=deadline,
        created_at=deadline - timedelta(days=30),
    )


def test_open_and_overdue_matter_counts(world: World) -> None:
    project = helpers.project(world)
    now = timezone.now()
    _matter(project, 1, now - timedelta(days=1))
    _matter(project, 2, now + timedelta(days=5))
    _matter(project, 3, now - timedelta(days=9), status=Status.COMPLETED)
    row = _row(project, now)
    assert (row.open_matters, row.overdue_matters) == (2, 1)


def test_summary_counts(world: World) -> None:
    moving = helpers.project(world)
    stalled = helpers.project(world, name="停滞项目")
    past = timezone.now() - timedelta(days=90)
    KeyProject.objects.filter(pk=stalled.pk).update(last_progress_at=past, stalled_after=past)
    services.save_milestone(
        world["leader"], moving, {"name": "开工", "planned_date": timezone.localdate() - timedelta(days=2)}
    )
    figures = portfolio.summary(KeyProject.objects.visible_to(world["leader"]))
    assert (figures.total, figures.stalled, figures.late, figures.flagged, figures.ok) == (2, 1, 1, 2, 0)


def test_portfolio_page_query_count_does_not_grow(world: World, client_for: Any) -> None:
    client = client_for("leader")
    helpers.full_project(world)
    client.get("/projects/")  # warm caches (session, memberships…)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/projects/").status_code == 200
    for n in range(8):
        p = helpers.project(world, name=f"批量项目{n}")
        services.add_note(world["leader"], p, "进展")
        _matter(p, 100 + n, timezone.now() - timedelta(days=1))
    with CaptureQueriesContext(connection) as many:
        response = client.get("/projects/")
    assert response.status_code == 200 and "批量项目7" in response.content.decode()
    assert len(many) == len(few), [q["sql"][:120] for q in many.captured_queries]
    assert len(many) <= 12, [q["sql"][:120] for q in many.captured_queries]
