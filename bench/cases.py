#!/usr/bin/env python
"""Cases at a million: list pages, the 三率 page, portal submissions per second and one deadline tick, each
against a baseline measured in the same run.

    .venv/bin/python bench/cases.py                       # SQLite var/bench/cases-1m.sqlite3 (built once)
    .venv/bin/python bench/cases.py --postgres            # a fresh database on DATABASE_URL's server
    .venv/bin/python bench/cases.py --only list,measures  # some of: list, measures, portal, tick

The database is the demo district at `--scale` (100: ≈1,000,000 cases, see jiedao/cases/bulk.py), built with
`manage.py migrate` + `load_demo(scale)` when it has fewer cases than that scale makes, and reused otherwise.
With --postgres the script creates `jiedao_bench_<pid>` on the server DATABASE_URL names and drops it at the
end. Rows:

  list      GET /cases/?… for a grid worker, a community staff member, a leader (status filter) and the
            district (light filter) through django.test.Client (force_login) — p50/p95 of --repeat runs;
            baseline: the raw SELECT of the same page (same scope, filter, order, LIMIT 50) plus its COUNT(*).
  measures  GET /cases/measures/?month=… for the leader and the district; baseline: the same figures (month
            totals, by community, by department, 12-month trend) as raw SQL.
  portal    POST /portal/submit/ against gunicorn (2 sync workers, 127.0.0.1) from wrk (bench/portal.lua, 2
            threads, --connections) for --seconds, each POST a new submission; the rate is the cases made per
            second. Baseline: POST /bench/insert/ (bench/urls_bench.py, a plain view inserting one row) on the
            same server. Also the form page's GET rate. Needs wrk (apt-get install wrk).
  tick      jiedao.core.deadlines.run_due with --due clocks due among the pending ones (padded to ≈1,000,000
            pending clocks); baseline: the indexed SELECT of due clocks. The due clocks' work is rolled back.
Results are printed and appended to bench/RESULTS.md (--no-record to skip).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DB = ROOT / "var" / "bench" / "cases-1m.sqlite3"
SECRET = "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=100, help="demo scale (100 ≈ 1,000,000 cases)")
    parser.add_argument("--db", type=Path, default=DEFAULT_DB, help="SQLite file (built once, then reused)")
    parser.add_argument("--postgres", action="store_true", help="a fresh database on DATABASE_URL's server")
    parser.add_argument(
        "--pg-database",
        metavar="NAME",
        help="with --postgres: use (and create if missing) this database and keep it afterwards, so that"
        " repeated runs build the million once",
    )
    parser.add_argument("--repeat", type=int, default=21, help="runs per page measurement")
    parser.add_argument("--only", default="list,measures,portal,tick")
    parser.add_argument("--seconds", type=float, default=10.0, help="portal: seconds per run")
    parser.add_argument("--connections", type=int, default=8, help="portal: wrk connections (2 threads)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--due", type=int, default=100, help="tick: clocks due now")
    parser.add_argument("--pending", type=int, default=1_000_000, help="tick: pad pending clocks to this")
    parser.add_argument("--no-record", action="store_true", help="do not append to bench/RESULTS.md")
    return parser.parse_args()


def setup(args: argparse.Namespace) -> dict[str, str]:
    """Environment for this process and for gunicorn; creates the PostgreSQL database when asked."""
    env = {
        "DJANGO_SETTINGS_MODULE": "bench.settings_bench",
        "JIEDAO_SECRET_KEY": SECRET,
        "JIEDAO_ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
        "JIEDAO_LOG_LEVEL": "WARNING",
        "JIEDAO_FIELD_KEY": "bench-only-field-key-0123456789",  # the people demo step encrypts
        "JIEDAO_TRUSTED_PROXIES": "1",  # the portal's clients come through X-Forwarded-For (bench/portal.lua)
        "JIEDAO_DEBUG": "",
    }
    if args.postgres:
        import psycopg

        base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
        name = args.pg_database or f"jiedao_bench_{os.getpid()}"
        with psycopg.connect(_pg_dsn(base, "postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
        env["DATABASE_URL"] = re.sub(r"/[^/?]*(\?|$)", f"/{name}\\1", base.split("://", 1)[1], count=1)
        env["DATABASE_URL"] = base.split("://", 1)[0] + "://" + env["DATABASE_URL"]
        if not args.pg_database:
            env["BENCH_PG_DROP"] = name
    else:
        args.db.parent.mkdir(parents=True, exist_ok=True)
        env["DATABASE_URL"] = f"sqlite:///{args.db}"
    os.environ.update(env)
    import django

    django.setup()
    return env


def _pg_dsn(url: str, dbname: str) -> str:
    _scheme, rest = url.split("://", 1)
    rest = re.sub(r"/[^/?]*(\?|$)", f"/{dbname}\\1", rest, count=1)
    return f"postgresql://{rest}"


def drop_postgres(env: dict[str, str]) -> None:
    name = env.get("BENCH_PG_DROP")
    if not name:
        return
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(_pg_dsn(env["DATABASE_URL"], "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def ensure_data(scale: int) -> dict[str, Any]:
    from django.core.management import call_command

    from jiedao.cases import bulk
    from jiedao.cases.models import Case

    call_command("migrate", verbosity=0)
    wanted = bulk.cases_for_scale(scale)
    have = Case.objects.count()
    built = None
    if have < wanted:
        from jiedao.core.demo import load_demo

        print(f"building the demo at scale {scale} ({wanted:,} cases) …", flush=True)
        started = time.perf_counter()
        load_demo(scale=scale, stdout=sys.stdout)  # type: ignore[arg-type]
        built = time.perf_counter() - started
        print(f"built in {built:.0f} s", flush=True)
    return {"cases": Case.objects.count(), "built_seconds": built}


# ---------------------------------------------------------------------------------------------------------
# Timing helpers


def timed(func: Callable[[], Any], repeat: int) -> list[float]:
    func()  # warm up
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


# ---------------------------------------------------------------------------------------------------------
# Scope as SQL (the baseline's WHERE)


def scope_sql(user: Any) -> tuple[str, list[Any]]:
    """The raw condition for the cases `user` may see: one org_path range (SQLite) or prefix (PostgreSQL) per
    scope root, and confidential ones only under the roots where the user may see those."""
    from django.db import connection

    from jiedao.cases.models import Case
    from jiedao.core.permissions import scope_paths

    def paths_sql(paths: list[str]) -> tuple[str, list[Any]]:
        parts, params = [], []
        for path in paths:
            if connection.vendor == "sqlite":
                parts.append("(org_path >= %s AND org_path < %s)")
                params += [path, path[:-1] + chr(ord(path[-1]) + 1)]
            else:
                parts.append("org_path LIKE %s")
                params.append(path + "%")
        return "(" + " OR ".join(parts or ["1=0"]) + ")", params

    seen = scope_paths(user, "case.view", Case)
    confidential = scope_paths(user, "case.view_confidential")
    where, params = ("1=1", []) if seen is None else paths_sql(sorted(seen))
    if confidential is not None:
        conf_sql, conf_params = paths_sql(sorted(confidential))
        where = f"{where} AND (NOT confidential OR {conf_sql})"
        params += conf_params
    return where, params


# ---------------------------------------------------------------------------------------------------------
# a. list pages


def bench_list(repeat: int) -> list[dict[str, Any]]:
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from jiedao.cases.models import OPEN_STATUSES, Case
    from jiedao.core.models import User

    now = timezone.now()
    qn = connection.ops.quote_name
    cols = ", ".join(qn(str(f.column)) for f in Case._meta.concrete_fields)
    open_list = ", ".join(f"'{s}'" for s in sorted(OPEN_STATUSES))
    dt = connection.ops.adapt_datetimefield_value
    personas: list[tuple[str, str, str, list[Any]]] = [
        ("grid_a", "", "", []),
        ("comm_a", "", "", []),
        ("leader", "status=handling", "status = %s", ["handling"]),
        ("district", "light=red", f"status IN ({open_list}) AND due_at < %s", [dt(now)]),
    ]
    rows = []
    for username, query, extra_sql, extra_params in personas:
        user = User.objects.get(username=username)
        client = Client()
        client.force_login(user)
        url = f"/cases/?{query}" if query else "/cases/"
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        where, params = scope_sql(user)
        if extra_sql:
            where, params = f"{where} AND {extra_sql}", [*params, *extra_params]
        page_sql = f"SELECT {cols} FROM cases_case WHERE {where} ORDER BY received_at DESC, id DESC LIMIT 50"
        count_sql = f"SELECT COUNT(*) FROM cases_case WHERE {where}"

        def raw(page_sql: str = page_sql, count_sql: str = count_sql, params: list[Any] = params) -> int:
            with connection.cursor() as cursor:
                cursor.execute(count_sql, params)
                total = cursor.fetchone()[0]
                cursor.execute(page_sql, params)
                cursor.fetchall()
            return int(total)

        total = raw()
        paginator = response.context["page"].paginator if response.context else None
        if paginator is not None:
            assert paginator.count == total, (username, paginator.count, total)
        ours = timed(partial(client.get, url), repeat)
        base = timed(raw, repeat)
        plan = explain(count_sql, params)
        rows.append(
            {
                "what": f"list {username} {query}".strip(),
                "rows": total,
                "ours": ours,
                "base": base,
                "plan": plan,
            }
        )
        show(rows[-1])
    return rows


def show(row: dict[str, Any]) -> None:
    print(
        f"  {row['what']}: ours p50 {p50(row['ours']):.1f} ms, p95 {p95(row['ours']):.1f}; "
        f"baseline p50 {p50(row['base']):.2f} ms",
        flush=True,
    )


def explain(sql: str, params: list[Any]) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            return " | ".join(str(r[-1]) for r in cursor.fetchall())
        cursor.execute(f"EXPLAIN {sql}", params)
        return " | ".join(str(r[0]).strip() for r in cursor.fetchall()[:4])


# ---------------------------------------------------------------------------------------------------------
# b. 三率 page


def measures_sql(user: Any, month: Any) -> Callable[[], dict[str, Any]]:
    """The page's figures as raw SQL: month totals, by community, by department, the 12-month trend."""
    from django.db import connection

    from jiedao.cases import measures

    where, params = scope_sql(user)
    dt = connection.ops.adapt_datetimefield_value
    start, end = measures.month_bounds(month)
    s, e = dt(start), dt(end)
    good = "('satisfied', 'basic')"
    closed = "('closed', 'rated')"

    def counts(s: Any, e: Any) -> tuple[str, list[Any]]:
        d = "dispatched_at >= %s AND dispatched_at < %s"
        c = f"closed_at >= %s AND closed_at < %s AND status IN {closed} AND outcome <> ''"
        r = "rated_at >= %s AND rated_at < %s AND rating <> ''"
        exprs = [
            (d, [s, e]),
            (
                f"{d} AND responded_at IS NOT NULL AND response_due_at IS NOT NULL"
                " AND responded_at <= response_due_at",
                [s, e],
            ),
            (c, [s, e]),
            (f"{c} AND outcome = 'resolved'", [s, e]),
            (r, [s, e]),
            (f"{r} AND rating IN {good}", [s, e]),
        ]
        sql = ", ".join(f"SUM(CASE WHEN {x} THEN 1 ELSE 0 END)" for x, _p in exprs)
        return sql, [p for _x, ps in exprs for p in ps]

    any_sql = (
        "(dispatched_at >= %s AND dispatched_at < %s OR closed_at >= %s AND closed_at < %s OR rated_at >= %s "
        "AND rated_at < %s)"
    )
    agg, agg_params = counts(s, e)
    length = measures.COMMUNITY_PATH_LENGTH
    first = measures.add_months(month, -11)
    w_start, _ = measures.month_bounds(first)
    trend_parts, trend_params = [], []
    for i in range(12):
        m_start, m_end = measures.month_bounds(measures.add_months(first, i))
        sql, ps = counts(dt(m_start), dt(m_end))
        trend_parts.append(sql)
        trend_params += ps
    queries = [
        (
            f"SELECT {agg} FROM cases_case WHERE {where} AND {any_sql}",
            [*agg_params, *params, s, e, s, e, s, e],
        ),
        (
            f"SELECT substr(org_path, 1, {length}) AS k, {agg} FROM cases_case WHERE {where} AND {any_sql} "
            "AND lead_department_id IS NULL GROUP BY k",
            [*agg_params, *params, s, e, s, e, s, e],
        ),
        (
            f"SELECT lead_department_id, {agg} FROM cases_case WHERE {where} AND {any_sql} "
            "AND lead_department_id IS NOT NULL GROUP BY lead_department_id",
            [*agg_params, *params, s, e, s, e, s, e],
        ),
        (
            f"SELECT {', '.join(trend_parts)} FROM cases_case WHERE {where} AND {any_sql}",
            [*trend_params, *params, *[dt(w_start), e] * 3],
        ),
    ]

    def run() -> dict[str, Any]:
        out: dict[str, Any] = {}
        with connection.cursor() as cursor:
            for n, (sql, ps) in enumerate(queries):
                cursor.execute(sql, ps)
                out[str(n)] = cursor.fetchall()
        return out

    return run


def bench_measures(repeat: int) -> list[dict[str, Any]]:
    from django.test import Client

    from jiedao.cases import measures
    from jiedao.core.models import User

    month = measures.add_months(measures.current_month(), -1)
    rows: list[dict[str, Any]] = []
    refresh = getattr(measures, "refresh_months", None)
    if refresh is not None:  # the page reads a monthly rollup: bring it up to date first, and time that
        started = time.perf_counter()
        results = refresh(measures.add_months(month, -12), measures.current_month())
        seconds = time.perf_counter() - started
        print(f"  rollup refresh of {len(results)} months: {seconds:.1f} s", flush=True)
        rows.append({"what": f"rollup refresh, {len(results)} months", "seconds": seconds})
    for username in ("leader", "district"):
        user = User.objects.get(username=username)
        client = Client()
        client.force_login(user)
        url = f"/cases/measures/?month={month:%Y-%m}"
        response = client.get(url)
        assert response.status_code == 200, response.status_code
        raw = measures_sql(user, month)
        figures = raw()
        total = response.context["total"] if response.context else None
        if total is not None:
            assert total["dispatched"] == (figures["0"][0][0] or 0), (total["dispatched"], figures["0"])
        runs = repeat if username != "district" else min(repeat, 5)  # the district's page takes seconds
        ours = timed(partial(client.get, url), runs)
        base = timed(raw, runs)
        rows.append({"what": f"measures {username} {month:%Y-%m}", "rows": None, "ours": ours, "base": base})
        show(rows[-1])
    return rows


# ---------------------------------------------------------------------------------------------------------
# c. portal submissions per second


def free_port(preferred: int) -> int:
    for port in [preferred, *range(preferred + 1, preferred + 50)]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


def bench_portal(env: dict[str, str], seconds: float, connections: int, port: int) -> list[dict[str, Any]]:
    """Submissions per second against gunicorn (2 sync workers), the load from wrk (bench/portal.lua): the
    client is a C program on the same two cores, so it takes little of the CPU the server needs; a Python
    client took about half of it and halved every figure, the baseline's included."""
    import requests
    from django.db import connection

    from bench.urls_bench import TABLE, ensure_table
    from jiedao.cases.models import Case
    from jiedao.core.models import OrgUnit

    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("the portal row needs wrk: apt-get install wrk (Debian's package)")
    ensure_table()
    connection.close()
    port = free_port(port)
    proc = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "jiedao.wsgi",
            "-w",
            os.environ.get("BENCH_WORKERS", "2"),
            *os.environ.get("BENCH_GUNICORN_EXTRA", "").split(),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                requests.get(f"{base_url}/portal/", timeout=10)
                break
            except requests.RequestException:  # not listening yet, or still loading its views
                time.sleep(0.2)
        session = requests.Session()
        form = session.get(f"{base_url}/portal/submit/", timeout=30)
        assert form.status_code == 200, form.status_code
        token = session.cookies.get("csrftoken") or ""
        # Submitted to a grid of another sub-district than the list rows' personas (grid_a, comm_a, leader):
        # the cases made here would otherwise grow their lists from run to run.
        personas_subdistrict = OrgUnit.objects.get(code="410104007000")
        grid = (
            OrgUnit.objects.filter(kind=OrgUnit.Kind.GRID, is_active=True)
            .exclude(path__startswith=personas_subdistrict.path)
            .order_by("path")
            .first()
        ) or OrgUnit.objects.get(code="410104007001001")  # a district of one sub-district (small scales)
        community = OrgUnit.objects.get(path=grid.path[: -OrgUnit.steplen])
        fixed = urlencode(
            {
                "csrfmiddlewaretoken": token,
                "name": "王先生",
                "category": "env-garbage",
                "description": "小区东门垃圾桶满溢两天无人清运，气味很大，请尽快处理。",
                "community": community.code,
                "grid": grid.code,
                "address": "陇海花园东门",
                "website": "",
            }
        )
        prefix = uuid.uuid4().hex[:12]

        def server_cpu() -> float:
            """CPU seconds used so far by gunicorn's workers (user + system, from /proc)."""
            total = 0.0
            for child in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split():
                fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            return total

        def database_cpu() -> dict[str, float]:
            """CPU seconds used so far by each process of the PostgreSQL server on this machine (its backends,
            WAL writer, checkpointer …), by pid; empty for SQLite."""
            if connection.vendor != "postgresql":
                return {}
            used: dict[str, float] = {}
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                name, rest = stat.split("(", 1)[1].rsplit(")", 1)
                if name == "postgres":
                    fields = rest.split()
                    used[entry.name] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            return used

        def database_cpu_since(before: dict[str, float]) -> float:
            """CPU the server's processes used since `before` (a process that ended meanwhile is left out)."""
            return sum(seconds - before.get(pid, 0.0) for pid, seconds in database_cpu().items())

        def run_wrk(path: str, body: str, cookie: str, script: bool = True) -> dict[str, Any]:
            command = [wrk, "-t2", f"-c{connections}", f"-d{seconds:.0f}s", "--timeout", "10s"]
            if script:
                lua = str(ROOT / "bench" / "portal.lua")
                command += ["-s", lua, base_url, "--", path, body, cookie, prefix]
            else:
                command += [base_url + path]
            cpu_before, db_before = server_cpu(), database_cpu()
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            cpu, db_cpu = server_cpu() - cpu_before, database_cpu_since(db_before)
            rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
            statuses = {int(a): int(b) for a, b in re.findall(r"^status (\d+) (\d+)$", out, re.M)}
            p50_ = re.search(r"^latency_p50_ms ([\d.]+)$", out, re.M)
            served = sum(statuses.values()) or rate * seconds
            return {
                "wrk_rate": rate,
                "statuses": statuses,
                "p50": float(p50_.group(1)) if p50_ else None,
                "cpu_ms": cpu * 1000 / max(served, 1),
                "db_cpu_ms": db_cpu * 1000 / max(served, 1),
            }

        def count_rows(table: str) -> int:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT COUNT(*) FROM {table}")
                return int(cursor.fetchone()[0])

        rows = []
        before = Case.objects.count()
        result = run_wrk("/portal/submit/", fixed, token)
        made = Case.objects.count() - before
        rows.append({"what": "portal submit (POST)", "rate": made / seconds, "made": made, **result})
        before = count_rows(TABLE)
        result = run_wrk("/bench/insert/", "description=row", "")
        made = count_rows(TABLE) - before
        rows.append({"what": "baseline insert (POST)", "rate": made / seconds, "made": made, **result})
        result = run_wrk("/portal/submit/", "", "", script=False)
        rows.append({"what": "portal form page (GET)", "rate": result["wrk_rate"], **result})
        connection.close()
        return rows
    finally:
        proc.terminate()
        proc.wait(timeout=20)


# ---------------------------------------------------------------------------------------------------------
# d. one tick


def bench_tick(due: int, pending: int, repeat: int) -> list[dict[str, Any]]:
    from django.db import connection, transaction
    from django.utils import timezone

    from jiedao.cases.models import OPEN_STATUSES, Case, Clock, RollupRefresh
    from jiedao.core.deadlines import run_due
    from jiedao.core.models.deadlines import DueState

    now = timezone.now()
    have = Clock.objects.filter(due_state=DueState.PENDING).count()
    if have < pending:  # pad with far-future clocks on open cases (they never fall due here)
        print(f"padding pending clocks {have:,} → {pending:,} …", flush=True)
        ids = list(Case.objects.filter(status__in=OPEN_STATUSES).values_list("id", flat=True))
        far = now + timedelta(days=400)
        dt = connection.ops.adapt_datetimefield_value if connection.vendor == "sqlite" else (lambda v: v)
        rows = [
            (dt(far + timedelta(seconds=i)), "pending", 0, "", ids[i % len(ids)], "remind", dt(far))
            for i in range(pending - have)
        ]
        with transaction.atomic(), connection.cursor() as cursor:
            for i in range(0, len(rows), 10_000):
                cursor.executemany(
                    "INSERT INTO cases_clock (due_at, due_state, attempts, last_error, case_id, kind,"
                    " deadline) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    rows[i : i + 10_000],
                )
    # A running worker ticks every minute: what fell due since the data was built (the other modules' demo
    # reminders, patrol plans and the like, and clocks of cases made by earlier portal runs) would long be
    # done. One committed pass does it, so the measured pass is the million cases' own.
    worked = 0
    for _ in range(1000):
        backlog = run_due(now=now)
        worked += backlog.done + backlog.failed
        if not backlog.claimed:
            break
    if worked:
        print(f"tick: first worked off a backlog of {worked:,} items", flush=True)
    total_pending = Clock.objects.filter(due_state=DueState.PENDING).count()
    candidates = list(
        Clock.objects.filter(due_state=DueState.PENDING, case__status__in=OPEN_STATUSES, kind="overdue")
        .order_by("due_at")
        .values_list("id", "due_at")[:due]
    )
    sql = (
        "SELECT id, due_state, claim_token FROM cases_clock WHERE due_state = %s AND due_at <= %s"
        " ORDER BY due_at LIMIT 500"
    )

    def raw() -> int:
        with connection.cursor() as cursor:
            cursor.execute(sql, ["pending", connection.ops.adapt_datetimefield_value(now)])
            return len(cursor.fetchall())

    ours, base, fired = [], [], []
    for _ in range(max(1, repeat // 7)):
        with transaction.atomic():
            # make `due` clocks due now (as if their time had come), run one pass, roll it all back
            Clock.objects.filter(id__in=[c[0] for c in candidates]).update(due_at=now - timedelta(minutes=1))
            # The 三率 rollup's own refresh (every 10 minutes, measured in its own row) is not in this pass.
            RollupRefresh.objects.filter(due_state=DueState.PENDING).update(due_at=now + timedelta(hours=1))
            due_now = raw()  # ours plus any clock whose time came since the data was built
            assert due_now >= len(candidates)
            base += timed(raw, 5)
            started = time.perf_counter()
            report = run_due(now=now)
            ours.append((time.perf_counter() - started) * 1000)
            fired.append(report.done)
            transaction.set_rollback(True)
    plan = explain(sql.replace("%s", "%s"), ["pending", connection.ops.adapt_datetimefield_value(now)])
    return [
        {
            "what": f"tick: {due_now} due among {total_pending:,} pending",
            "rows": fired[0],
            "ours": ours,
            "base": base,
            "plan": plan,
        }
    ]


# ---------------------------------------------------------------------------------------------------------


def main() -> None:
    args = parse_args()
    env = setup(args)
    only = set(args.only.split(","))
    results: dict[str, Any] = {}
    try:
        info = ensure_data(args.scale)
        from django.db import connection

        import jiedao.wsgi  # noqa: F401  # settled as a server process is: views loaded, gc frozen

        print(f"{connection.vendor}: {info['cases']:,} cases", flush=True)
        rows: list[dict[str, Any]] = []
        if "list" in only:
            rows += bench_list(args.repeat)
        if "measures" in only:
            rows += bench_measures(args.repeat)
        if "tick" in only:
            rows += bench_tick(args.due, args.pending, args.repeat)
        portal = bench_portal(env, args.seconds, args.connections, args.port) if "portal" in only else []
        results = {"vendor": connection.vendor, "info": info, "rows": rows, "portal": portal}
        text = report(results, args)
        print(text)
        if not args.no_record:
            with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as fh:
                fh.write(text)
    finally:
        drop_postgres(env)


def report(results: dict[str, Any], args: argparse.Namespace) -> str:
    info = results["info"]
    lines = [
        "",
        f"## cases.py — {datetime.now():%Y-%m-%d %H:%M}, {results['vendor']}, {info['cases']:,} cases, "
        f"{platform.machine()} × {os.cpu_count()} cores, repeat {args.repeat}",
        "",
    ]
    if info.get("built_seconds"):
        lines.append(f"Built in {info['built_seconds']:.0f} s (load_demo at scale {args.scale}).\n")
    if results["rows"]:
        lines += [
            "```",
            f"{'':44} {'rows':>9} {'ours p50':>9} {'p95':>8} {'base p50':>9} {'p95':>8} {'ratio':>6}",
        ]
        for r in results["rows"]:
            if "seconds" in r:
                lines.append(f"{r['what'][:44]:44} {r['seconds'] * 1000:29.0f} (one run, ms)")
                continue
            o50, o95, b50, b95 = p50(r["ours"]), p95(r["ours"]), p50(r["base"]), p95(r["base"])
            count = f"{r['rows']:,}" if r.get("rows") is not None else ""
            lines.append(
                f"{r['what'][:44]:44} {count:>9} {o50:9.1f} {o95:8.1f} {b50:9.2f} {b95:8.2f} {o50 / b50:6.1f}"
            )
        lines.append("(ms; ratio = ours p50 / baseline p50)")
        for r in results["rows"]:
            if r.get("plan"):
                lines.append(f"plan {r['what']}: {r['plan'][:300]}")
        lines.append("```")
    if results["portal"]:
        lines += [
            "```",
            f"portal: wrk, 2 threads, {args.connections} connections × {args.seconds:.0f} s,"
            " gunicorn -w 2 (sync workers)",
        ]
        for r in results["portal"]:
            made = f"  {r['made']:,} rows made" if "made" in r else ""
            latency = f"  p50 {r['p50']:.1f} ms" if r.get("p50") is not None else ""
            codes = ", ".join(f"{k}: {v:,}" for k, v in sorted(r["statuses"].items()))
            cpu = f"  server CPU {r['cpu_ms']:.2f} ms/request"
            if r.get("db_cpu_ms"):
                cpu += f"  database CPU {r['db_cpu_ms']:.2f} ms/request"
            lines.append(
                f"{r['what']:28} {r['rate']:8.1f} /s{made}{latency}{cpu}{f'  ({codes})' if codes else ''}"
            )
        ratio = results["portal"][0]["rate"] / max(results["portal"][1]["rate"], 1e-9)
        lines.append(f"ratio portal / baseline: {ratio:.2f}")
        lines.append("```")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
