#!/usr/bin/env python
"""The key-project portfolio (项目总览) at 5,000 projects and 100,000 supervised matters, against the raw SQL
of the same page.

    .venv/bin/python bench/projects.py               # SQLite: a fresh var/bench/projects-<pid>.sqlite3
    .venv/bin/python bench/projects.py --postgres    # a fresh jiedao_bench_<pid> on DATABASE_URL's server

The database is migrated and filled by bulk insert: one sub-district with 10 communities, a leader attached
to the sub-district (who sees every project), 5,000 projects spread over the communities (kinds, stages,
one in eight stalled), a year of monthly investment each (60,000 rows), three milestones each (some late),
a problem each, and 100,000 supervised matters on those projects in every status (a fifth past their
deadline). Both databases are removed at the end.

Measured (p50/p95 of --repeat runs after a warm-up, in the same run):

  ours   GET /projects/ as the leader through Django's test client: middleware, scope, the FilterSet, the
         summary tiles (one aggregate), the first page of 50 rows with their figures (one query with
         correlated subqueries), the template.
  raw    the same two answers (the tiles' four counts; the 50 rows with planned/completed to date, late
         milestones, open/overdue problems, open/overdue matters and the stalled flag, in the page's order)
         as hand-written SQL through a cursor, without Django.

Before timing, the page's rows and figures are checked equal to the raw SQL's. Target: p95 ≤ 100 ms.
Results are printed (not recorded anywhere).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DIR = ROOT / "var" / "bench"
SECRET = "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
FIELD_KEY = "bench-only-field-key-0123456789"
PAGE = 50


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=5_000)
    parser.add_argument("--matters", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=41, help="runs per measurement")
    parser.add_argument("--postgres", action="store_true", help="a fresh database on DATABASE_URL's server")
    return parser.parse_args()


def _pg_dsn(url: str, dbname: str) -> str:
    _scheme, rest = url.split("://", 1)
    rest = re.sub(r"/[^/?]*(\?|$)", f"/{dbname}\\1", rest, count=1)
    return f"postgresql://{rest}"


def setup(args: argparse.Namespace) -> dict[str, str]:
    env = {
        "DJANGO_SETTINGS_MODULE": "bench.settings_bench",
        "JIEDAO_SECRET_KEY": SECRET,
        "JIEDAO_FIELD_KEY": FIELD_KEY,
        "JIEDAO_ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
        "JIEDAO_LOG_LEVEL": "WARNING",
        "JIEDAO_DEBUG": "",
    }
    if args.postgres:
        import psycopg

        base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
        name = f"jiedao_bench_{os.getpid()}"
        with psycopg.connect(_pg_dsn(base, "postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        scheme, rest = base.split("://", 1)
        env["DATABASE_URL"] = scheme + "://" + re.sub(r"/[^/?]*(\?|$)", f"/{name}\\1", rest, count=1)
        env["BENCH_PG_DROP"] = name
    else:
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        env["DATABASE_URL"] = f"sqlite:///{BENCH_DIR / f'projects-{os.getpid()}.sqlite3'}"
    os.environ.update(env)
    import django

    django.setup()
    return env


def teardown(env: dict[str, str]) -> None:
    from django.db import connections

    connections.close_all()
    name = env.get("BENCH_PG_DROP")
    if name:
        import psycopg

        with psycopg.connect(_pg_dsn(env["DATABASE_URL"], "postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    path = env["DATABASE_URL"].removeprefix("sqlite:///")
    for suffix in ("", "-wal", "-shm", "-writer.lock"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------------------
# Data


def build(projects: int, matters: int) -> Any:
    from django.core.management import call_command
    from django.utils import timezone

    from jiedao.core.models import Membership, OrgUnit, Role, User
    from jiedao.projects.models import (
        ACTIVE_STAGES,
        InvestmentEntry,
        KeyProject,
        Milestone,
        Problem,
        ProjectKind,
        Stage,
    )
    from jiedao.supervision.models import Status, SupervisedMatter

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    rng = random.Random(6)
    district = OrgUnit.objects.add_root({"kind": "district", "code": "410104000000", "name": "管城回族区"})
    sub = OrgUnit.objects.add_child(
        district, {"kind": "subdistrict", "code": "410104006000", "name": "二里岗街道办事处"}
    )
    communities = []
    for n in range(1, 11):
        sub.refresh_from_db()
        communities.append(
            OrgUnit.objects.add_child(
                sub, {"kind": "community", "code": f"410104006{n:03d}", "name": f"社区{n}"}
            )
        )
    leader = User.objects.create_user(username="bench_leader", password="x", full_name="虎金治")
    Membership.objects.create(user=leader, org_unit=sub, role=Role.LEADER)
    others = [User.objects.create_user(username=f"bench_l{n}", full_name=f"领导{n}") for n in range(8)]
    now = timezone.now()
    today = timezone.localdate()
    kinds = list(ProjectKind.values)
    stages = list(Stage.values)
    rows = []
    for n in range(projects):
        unit = communities[n % len(communities)]
        stalled = n % 8 == 0
        last = now - timedelta(days=45 if stalled else rng.randint(0, 20))
        rows.append(
            KeyProject(
                name=f"重点项目{n:05d}",
                kind=kinds[n % len(kinds)],
                stage=ACTIVE_STAGES[n % 2] if n % 5 else stages[n % len(stages)],
                org_unit=unit,
                org_path=unit.path,
                leader=others[n % len(others)],
                total_investment=Decimal(rng.randint(1_000, 500_000)),
                last_progress_at=last,
                stalled_after=last + timedelta(days=30),
            )
        )
    KeyProject.objects.bulk_create(rows, batch_size=1000)
    ids = list(KeyProject.objects.order_by("id").values_list("id", flat=True))
    months = []
    first = today.replace(day=1)
    for _i in range(12):
        months.append(first)
        first = (first - timedelta(days=1)).replace(day=1)
    InvestmentEntry.objects.bulk_create(
        (
            InvestmentEntry(
                project_id=pk,
                month=month,
                planned=Decimal(rng.randint(10, 5000)),
                completed=Decimal(rng.randint(0, 5000)),
            )
            for pk in ids
            for month in months
        ),
        batch_size=5000,
    )
    Milestone.objects.bulk_create(
        (
            Milestone(
                project_id=pk,
                name=f"节点{k}",
                planned_date=today + timedelta(days=90 * k - 120),
                actual_date=None if (k == 1 and pk % 3 == 0) or k == 2 else today - timedelta(days=100 - k),
            )
            for pk in ids
            for k in range(3)
        ),
        batch_size=5000,
    )
    Problem.objects.bulk_create(
        (
            Problem(
                project_id=pk, description="问题", owner=leader, due_date=today + timedelta(days=pk % 40 - 20)
            )
            for pk in ids
        ),
        batch_size=5000,
    )
    statuses = list(Status.values)
    batch: list[SupervisedMatter] = []
    for n in range(matters):
        pk = ids[rng.randrange(len(ids))]
        deadline = now + timedelta(days=rng.randint(-30, 120))
        batch.append(
            SupervisedMatter(
                number=f"DB{n:07d}",
                title="督办事项",
                content="督办内容",
                source="meeting",
                project_id=pk,
                org_unit=sub,
                org_path=sub.path,
                status=statuses[n % len(statuses)],
                deadline=deadline,
                period_start=deadline - timedelta(days=60),
                blue_at=deadline - timedelta(days=5),
                pace_at=deadline - timedelta(days=10),
                created_at=deadline - timedelta(days=60),
            )
        )
        if len(batch) == 5000:
            SupervisedMatter.objects.bulk_create(batch)
            batch = []
    SupervisedMatter.objects.bulk_create(batch)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"built {projects:,} projects, {InvestmentEntry.objects.count():,} monthly rows, "
        f"{SupervisedMatter.objects.count():,} matters in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return leader, sub


# ---------------------------------------------------------------------------------------------------------
# The raw SQL baseline


def raw_page(sub_path: str, now: datetime) -> tuple[tuple[int, int, int, int], list[tuple[Any, ...]]]:
    from django.db import connection
    from django.utils import timezone

    from jiedao.supervision.models import OPEN_STATUSES

    ops = connection.ops
    today = timezone.localdate(now)
    this_month = today.replace(day=1)
    now_p = ops.adapt_datetimefield_value(now)
    today_p = ops.adapt_datefield_value(today)
    if connection.vendor == "sqlite":
        scope = "p.org_path >= %s AND p.org_path < %s"
        scope_params: list[Any] = [sub_path, sub_path[:-1] + chr(ord(sub_path[-1]) + 1)]
    else:
        scope = "p.org_path LIKE %s"
        scope_params = [sub_path + "%"]
    open_in = ", ".join(f"'{s}'" for s in sorted(OPEN_STATUSES))
    stalled = "(p.stage IN ('preparation', 'construction') AND p.stalled_after <= %s)"
    late = (
        "EXISTS (SELECT 1 FROM projects_milestone m WHERE m.project_id = p.id AND m.actual_date IS NULL"
        " AND m.planned_date < %s)"
    )
    summary_sql = (
        f"SELECT COUNT(*), COALESCE(SUM(CASE WHEN {stalled} THEN 1 ELSE 0 END), 0),"
        f" COALESCE(SUM(CASE WHEN {late} THEN 1 ELSE 0 END), 0),"
        f" COALESCE(SUM(CASE WHEN {stalled} OR {late} THEN 1 ELSE 0 END), 0)"
        f" FROM projects_keyproject p WHERE {scope}"
    )
    rows_sql = f"""
        SELECT p.id, p.name, p.kind, p.stage, u.name, l.full_name, p.last_progress_at,
          COALESCE((SELECT SUM(i.planned) FROM projects_investmententry i
                    WHERE i.project_id = p.id AND i.month <= %s), 0),
          COALESCE((SELECT SUM(i.completed) FROM projects_investmententry i WHERE i.project_id = p.id), 0),
          (SELECT COUNT(*) FROM projects_milestone m
            WHERE m.project_id = p.id AND m.actual_date IS NULL AND m.planned_date < %s),
          (SELECT COUNT(*) FROM projects_problem q WHERE q.project_id = p.id AND q.status = 'open'),
          (SELECT COUNT(*) FROM projects_problem q
            WHERE q.project_id = p.id AND q.status = 'open' AND q.due_date < %s),
          (SELECT COUNT(*) FROM supervision_supervisedmatter s
            WHERE s.project_id = p.id AND s.status IN ({open_in})),
          (SELECT COUNT(*) FROM supervision_supervisedmatter s
            WHERE s.project_id = p.id AND s.status IN ({open_in}) AND s.deadline < %s),
          CASE WHEN {stalled} THEN 1 ELSE 0 END AS stalled,
          CASE WHEN {late} THEN 1 ELSE 0 END
        FROM projects_keyproject p
        JOIN core_orgunit u ON u.id = p.org_unit_id
        LEFT JOIN core_user l ON l.id = p.leader_id
        WHERE {scope}
        ORDER BY stalled DESC, p.org_path, p.name
        LIMIT {PAGE}"""
    with connection.cursor() as cursor:
        cursor.execute(summary_sql, [now_p, today_p, now_p, today_p, *scope_params])
        summary = tuple(int(v) for v in cursor.fetchone())
        cursor.execute(
            rows_sql,
            [
                ops.adapt_datefield_value(this_month),
                today_p,
                today_p,
                now_p,
                now_p,
                today_p,
                *scope_params,
            ],
        )
        rows = cursor.fetchall()
    return summary, rows  # type: ignore[return-value]


def check_same(leader: Any, sub_path: str) -> None:
    """The page's figures (the context of the rendered page) equal the raw SQL's, row for row."""
    from django.test import Client
    from django.test.utils import setup_test_environment, teardown_test_environment
    from django.utils import timezone

    client = Client()
    client.force_login(leader)
    now = timezone.now()
    setup_test_environment()  # the rendered page's context, for this check only
    try:
        response = client.get("/projects/")
    finally:
        teardown_test_environment()
    assert response.status_code == 200, response.status_code
    page = response.context["page"]
    figures = response.context["figures"]
    summary, rows = raw_page(sub_path, now)
    assert (figures.total, figures.stalled, figures.late, figures.flagged) == summary, (figures, summary)
    ours = [
        (
            p.pk,
            Decimal(p.planned_to_date),
            Decimal(p.completed_to_date),
            p.late_count,
            p.open_problems,
            p.overdue_problems,
            p.open_matters,
            p.overdue_matters,
            int(p.is_stalled),
        )
        for p in page.object_list
    ]
    theirs = [
        (r[0], Decimal(r[7]), Decimal(r[8]), r[9], r[10], r[11], r[12], r[13], int(r[14])) for r in rows
    ]
    assert ours == theirs, (ours[:3], theirs[:3])
    print(
        f"checked: the page and the raw SQL agree ({summary[0]:,} projects, {summary[1]:,} stalled, "
        f"{summary[2]:,} late; {len(rows)} rows, {sum(r[12] for r in rows):,} open matters on the page)",
        flush=True,
    )


# ---------------------------------------------------------------------------------------------------------
# Timing


def p50(runs: list[float]) -> float:
    return statistics.median(runs)


def p95(runs: list[float]) -> float:
    ordered = sorted(runs)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def timed(func: Any, repeat: int) -> list[float]:
    for _i in range(3):
        func()
    runs = []
    for _i in range(repeat):
        started = time.perf_counter()
        func()
        runs.append((time.perf_counter() - started) * 1000)
    return runs


def main() -> None:
    args = parse_args()
    env = setup(args)
    try:
        from django.db import connection
        from django.test import Client
        from django.utils import timezone

        leader, sub = build(args.projects, args.matters)
        check_same(leader, sub.path)
        client = Client()
        client.force_login(leader)

        def page() -> None:
            response = client.get("/projects/")
            assert response.status_code == 200

        def page_flagged() -> None:
            response = client.get("/projects/?flag=any&stage=construction")
            assert response.status_code == 200

        def frame() -> None:
            response = client.get("/projects/meetings/")
            assert response.status_code == 200

        def raw() -> None:
            raw_page(sub.path, timezone.now())

        ours = timed(page, args.repeat)
        flagged = timed(page_flagged, args.repeat)
        base = timed(raw, args.repeat)
        empty = timed(frame, args.repeat)
        vendor = connection.vendor
        with connection.cursor() as cursor:
            cursor.execute("select sqlite_version()" if vendor == "sqlite" else "show server_version")
            version = cursor.fetchone()[0]
        lines = [
            f"projects portfolio — {vendor} {version}, {args.projects:,} projects, {args.matters:,} matters,"
            f" {args.repeat} runs",
            f"{'what':44} {'p50 ms':>8} {'p95 ms':>8}",
            f"{'GET /projects/ (leader, all 5,000 in scope)':44} {p50(ours):8.1f} {p95(ours):8.1f}",
            f"{'GET /projects/?flag=any&stage=construction':44} {p50(flagged):8.1f} {p95(flagged):8.1f}",
            f"{'raw SQL (tiles + 50 rows, same figures)':44} {p50(base):8.1f} {p95(base):8.1f}",
            f"{'GET /projects/meetings/ (empty: the frame)':44} {p50(empty):8.1f} {p95(empty):8.1f}",
            f"ratio ours/raw (p50): {p50(ours) / max(p50(base), 1e-6):.1f}×;"
            f" target p95 ≤ 100 ms: {'met' if p95(ours) <= 100 else 'NOT met'}",
        ]
        print("\n".join(lines), flush=True)
    finally:
        teardown(env)


if __name__ == "__main__":
    main()
