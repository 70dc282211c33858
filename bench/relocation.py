#!/usr/bin/env python
"""The expropriation progress board with 20,000 households, beside a raw-SQL baseline of the same figures.

    .venv/bin/python bench/relocation.py              # SQLite: a fresh var/bench/relocation-<pid>.sqlite3
    .venv/bin/python bench/relocation.py --postgres   # a fresh jiedao_bench_reloc_<pid> (DATABASE_URL)

Data: `manage.py migrate`, a district > sub-district > community tree, a leader (the sub-district's 街道领导,
who sees the project by scope), one project at the community with 10 teams of 6 people, and --households
households (bulk-inserted) spread over every stage with the dates they reached each one in the last 120 days.

Rows (p50/p95 of --repeat runs after a warm-up, in ms):
  board      what the board view computes for the leader: the project through `visible_to` and
             `jiedao.relocation.board.build(project, today)` (totals, teams, leaders, 包户人 ranking, stage
             counts, the 120-day trend), fully evaluated.
  page       GET /relocation/projects/<id>/board/ through Django's test client (session, middleware, the
             template with its drill-down links and the chart data).
  baseline   the same figures from hand-written SQL through a cursor, the same plan: the project, its teams
             with their leaders, one grouped pass by (team, staff, stage) with the seven counts, the staff
             names, and the two per-day groupings; fetched, with no Python around them.
The ratio is board p50 ÷ baseline p50. Target: board p95 ≤ 100 ms. Printed only (--json for a line of JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DIR = ROOT / "var" / "bench"
SECRET = "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
FIELD_KEY = "bench-only-field-key-0123456789"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--postgres", action="store_true", help="a fresh database on DATABASE_URL's server")
    parser.add_argument("--households", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=51)
    parser.add_argument("--json", action="store_true")
    return parser.parse_args()


def _pg_dsn(url: str, dbname: str) -> str:
    scheme, rest = url.split("://", 1)
    return scheme + "://" + re.sub(r"/[^/?]*(\?|$)", f"/{dbname}\\1", rest, count=1)


def setup(args: argparse.Namespace) -> tuple[dict[str, str], Path | None]:
    env = {
        "DJANGO_SETTINGS_MODULE": "bench.settings_bench",
        "JIEDAO_SECRET_KEY": SECRET,
        "JIEDAO_FIELD_KEY": FIELD_KEY,
        "JIEDAO_ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
        "JIEDAO_LOG_LEVEL": "WARNING",
        "JIEDAO_DEBUG": "",
    }
    sqlite_file = None
    if args.postgres:
        import psycopg

        base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
        name = f"jiedao_bench_reloc_{os.getpid()}"
        with psycopg.connect(_pg_dsn(base, "postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        env["DATABASE_URL"] = _pg_dsn(base, name)
        env["BENCH_PG_DROP"] = name
    else:
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        sqlite_file = BENCH_DIR / f"relocation-{os.getpid()}.sqlite3"
        env["DATABASE_URL"] = f"sqlite:///{sqlite_file}"
    os.environ.update(env)
    import django

    django.setup()
    return env, sqlite_file


def teardown(env: dict[str, str], sqlite_file: Path | None) -> None:
    from django.db import connections

    connections.close_all()
    if sqlite_file is not None:
        for suffix in ("", "-wal", "-shm", "-writer.lock"):
            Path(f"{sqlite_file}{suffix}").unlink(missing_ok=True)
    name = env.get("BENCH_PG_DROP")
    if name:
        import psycopg

        with psycopg.connect(_pg_dsn(env["DATABASE_URL"], "postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def build(households: int) -> tuple[Any, Any]:
    """The org tree, the people, the project, its teams and `households` households; (leader, project)."""
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from jiedao.core.models import Membership, OrgUnit, Role, User
    from jiedao.relocation import services
    from jiedao.relocation.models import (
        STAGE_DATE_FIELD,
        STAGE_ORDER,
        DocumentKind,
        ExpropriationHousehold,
        ExpropriationProject,
        Team,
    )

    call_command("migrate", verbosity=0)
    with transaction.atomic():
        district = OrgUnit.objects.add_root(
            {"kind": "district", "code": "410104000000", "name": "管城回族区"}
        )
        sub = OrgUnit.objects.add_child(
            district, {"kind": "subdistrict", "code": "410104006000", "name": "二里岗街道办事处"}
        )
        sub.refresh_from_db()
        community = OrgUnit.objects.add_child(
            sub, {"kind": "community", "code": "410104006001", "name": "中博社区"}
        )
        community.refresh_from_db()
        leader = User.objects.create_user("bench_leader", password="x", full_name="虎金治")
        Membership.objects.create(user=leader, org_unit=sub, role=Role.LEADER)
        people = []
        for n in range(60):
            user = User.objects.create_user(f"bench_staff_{n}", password="x", full_name=f"干部{n:02d}")
            Membership.objects.create(user=user, org_unit=community, role=Role.COMMUNITY_STAFF)
            people.append(user)
        today = timezone.localdate()
        project = ExpropriationProject.objects.create(
            org_unit=community,
            name="中博城中村拆迁改造（基准）",
            leader=leader,
            start_date=today - timedelta(days=120),
            target_date=today + timedelta(days=30),
            target_signed=households,
            target_vacated=households,
        )
        DocumentKind.objects.bulk_create(
            DocumentKind(project=project, name=n, required_stage=s, sort_order=i)
            for i, (n, s) in enumerate(services.DEFAULT_CHECKLIST)
        )
        teams = []
        for t in range(10):
            team = Team.objects.create(
                project=project, name=f"第{t + 1}组", leader=people[t * 6], sort_order=t
            )
            team.members.set(people[t * 6 + 1 : t * 6 + 6])
            teams.append((team, people[t * 6 : t * 6 + 6]))
        rng = random.Random(20)
        rows = []
        for index in range(households):
            team, members = teams[index % len(teams)]
            reached = rng.choices(range(6), weights=[10, 12, 26, 14, 18, 20])[0]
            day = today - timedelta(days=rng.randint(0, 30))
            dates = [day]
            for _ in range(reached):
                dates.insert(0, dates[0] - timedelta(days=rng.randint(2, 15)))
            household = ExpropriationHousehold(
                project=project,
                org_unit=community,
                org_path=community.path,
                number=f"B-{index:05d}",
                owner_name=f"户主{index}",
                team=team,
                staff=members[index % len(members)],
                stage=STAGE_ORDER[reached],
            )
            for stage, value in zip(STAGE_ORDER, dates, strict=False):
                setattr(household, STAGE_DATE_FIELD[stage], value)
            rows.append(household)
        ExpropriationHousehold.objects.bulk_create(rows, batch_size=1000)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return leader, project


def raw_baseline(project_id: int, day: date) -> Callable[[], int]:
    from django.db import connection

    week = day - timedelta(days=day.weekday())
    table = "relocation_expropriationhousehold"
    counts = (
        "COUNT(*), COUNT(signed_on), "
        "SUM(CASE WHEN signed_on >= %s AND signed_on <= %s THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN signed_on = %s THEN 1 ELSE 0 END), COUNT(vacated_on), "
        "SUM(CASE WHEN vacated_on >= %s AND vacated_on <= %s THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN vacated_on = %s THEN 1 ELSE 0 END)"
    )
    adapt = connection.ops.adapt_datefield_value
    d, w = adapt(day), adapt(week)
    args = [w, d, d, w, d, d, project_id]
    statements: list[tuple[str, list[Any]]] = [
        ("SELECT id FROM relocation_expropriationproject WHERE id = %s", [project_id]),
        (
            "SELECT t.id, t.name, u.full_name FROM relocation_team t JOIN core_user u ON u.id = t.leader_id "
            "WHERE t.project_id = %s",
            [project_id],
        ),
        (
            f"SELECT team_id, staff_id, stage, {counts} FROM {table} WHERE project_id = %s "
            f"GROUP BY team_id, staff_id, stage",
            args,
        ),
        (
            "SELECT DISTINCT u.id, u.full_name FROM core_user u JOIN relocation_expropriationhousehold h "
            "ON h.staff_id = u.id WHERE h.project_id = %s",
            [project_id],
        ),
        (
            f"SELECT signed_on, COUNT(*) FROM {table} WHERE project_id = %s AND signed_on IS NOT NULL "
            f"AND signed_on <= %s GROUP BY signed_on",
            [project_id, d],
        ),
        (
            f"SELECT vacated_on, COUNT(*) FROM {table} WHERE project_id = %s AND vacated_on IS NOT NULL "
            f"AND vacated_on <= %s GROUP BY vacated_on",
            [project_id, d],
        ),
    ]

    def run() -> int:
        rows = 0
        with connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
                rows += len(cursor.fetchall())
        return rows

    return run


def timed(func: Callable[[], Any], repeat: int) -> list[float]:
    func()
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        runs.append((time.perf_counter() - started) * 1000)
    return runs


def p50(runs: list[float]) -> float:
    return statistics.median(runs)


def p95(runs: list[float]) -> float:
    ordered = sorted(runs)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    args = parse_args()
    env, sqlite_file = setup(args)
    try:
        from django.db import connection
        from django.test import Client
        from django.urls import reverse
        from django.utils import timezone

        from jiedao.relocation import board
        from jiedao.relocation.models import ExpropriationProject

        started = time.perf_counter()
        leader, project = build(args.households)
        build_seconds = time.perf_counter() - started
        day = timezone.localdate()

        def board_run() -> None:
            visible = ExpropriationProject.objects.visible_to(leader).get(pk=project.pk)
            data = board.build(visible, day)
            assert data.total.households == args.households

        client = Client()
        client.force_login(leader)
        url = reverse("relocation:board", kwargs={"pk": project.pk})

        def page_run() -> None:
            response = client.get(url)
            assert response.status_code == 200

        baseline = raw_baseline(project.pk, day)
        results = {
            "board": timed(board_run, args.repeat),
            "page": timed(page_run, args.repeat),
            "baseline": timed(baseline, args.repeat),
        }
        vendor = connection.vendor
        print(
            f"relocation board · {vendor} · {args.households:,} households · build {build_seconds:.1f} s · "
            f"{platform.python_implementation()} {platform.python_version()} · {os.cpu_count()} CPUs"
        )
        print(f"{'row':<10}{'p50 ms':>10}{'p95 ms':>10}")
        for name, runs in results.items():
            print(f"{name:<10}{p50(runs):>10.1f}{p95(runs):>10.1f}")
        ratio = p50(results["board"]) / p50(results["baseline"])
        target = "met" if p95(results["board"]) <= 100 else "MISSED"
        print(f"board ÷ baseline (p50): {ratio:.2f}× · target board p95 ≤ 100 ms: {target}")
        if args.json:
            print(
                json.dumps(
                    {
                        "vendor": vendor,
                        "households": args.households,
                        **{f"{k}_p50": round(p50(v), 2) for k, v in results.items()},
                        **{f"{k}_p95": round(p95(v), 2) for k, v in results.items()},
                        "ratio": round(ratio, 2),
                    }
                )
            )
    finally:
        teardown(env, sqlite_file)


if __name__ == "__main__":
    main()
