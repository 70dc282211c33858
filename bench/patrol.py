#!/usr/bin/env python
"""The storm night at district scale: an emergency over 20,000 hazard points and 2,000 grid workers — time to
declare (the fan-out), the live board's refresh while 2,000 check-ins arrive, and the map data of one
community — each beside a baseline measured in the same run.

    .venv/bin/python bench/patrol.py               # SQLite in a temporary directory
    .venv/bin/python bench/patrol.py --postgres    # a fresh database on DATABASE_URL's server (dropped after)

What it builds: one sub-district with `--communities` (20) communities of `--grids` (100) grids each, one grid
worker per grid (with a mobile number, so every notification also goes out as an SMS through the in-memory
backend), `--points` (10) hazard points per grid (20,000), a leader, and the default case catalogue.

Rows:
  declare   services.declare_event over the whole sub-district, every kind: 20,000 check rows (bulk insert),
            2,000 inbox notifications (each listing the worker's points) and, after
            commit, 2,000 SMS with their
            delivery rows. Baseline: two INSERT … SELECT statements making the same check rows and one
            notification per worker (no SMS), rolled back. One run each (--declare-runs to repeat).
  checkin   services.check_point for --checkins (2,000) points, 2 % of them hazards
  (each files a routed case);
            p50/p95 per check-in. Baseline: the conditional UPDATE alone.
  board     GET /patrol/events/<id>/board/ for the leader (the htmx partial the page polls), once every
            --board-every (20) check-ins while they arrive, and for a community's staff; baseline: the same
            grouped SELECT over the checks (per grid: total, checked, hazards, open cases) and the unit names.
  map       GET /patrol/map/data.json?unit=<community> for the community's staff (1,000 points, 100 grid
            boundaries, open hazard cases); baseline: the raw SELECTs of the same
            points, boundaries and cases.
Results are printed and appended to bench/RESULTS.md (--no-record to skip).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SECRET = "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--postgres", action="store_true", help="a fresh database on DATABASE_URL's server")
    parser.add_argument("--communities", type=int, default=20)
    parser.add_argument("--grids", type=int, default=100, help="grids per community (one worker each)")
    parser.add_argument("--points", type=int, default=10, help="hazard points per grid")
    parser.add_argument("--checkins", type=int, default=2000)
    parser.add_argument("--board-every", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=41, help="runs per map/board-at-rest measurement")
    parser.add_argument("--declare-runs", type=int, default=1)
    parser.add_argument("--no-record", action="store_true", help="do not append to bench/RESULTS.md")
    return parser.parse_args()


def _pg_dsn(url: str, dbname: str) -> str:
    _scheme, rest = url.split("://", 1)
    rest = re.sub(r"/[^/?]*(\?|$)", f"/{dbname}\\1", rest, count=1)
    return f"postgresql://{rest}"


def setup(args: argparse.Namespace) -> dict[str, str]:
    env = {
        "DJANGO_SETTINGS_MODULE": "bench.settings_bench",
        "JIEDAO_SECRET_KEY": SECRET,
        "JIEDAO_ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
        "JIEDAO_LOG_LEVEL": "WARNING",
        "JIEDAO_FIELD_KEY": "bench-only-field-key-0123456789",
        "JIEDAO_SMS_BACKEND": "jiedao.notifications.sms.MemorySMSBackend",
        "JIEDAO_DEBUG": "",
    }
    tmp = tempfile.mkdtemp(prefix="jiedao-patrol-bench-")
    env["JIEDAO_VAR_DIR"] = tmp
    env["BENCH_TMP"] = tmp
    if args.postgres:
        import psycopg

        base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
        name = f"jiedao_patrol_bench_{os.getpid()}"
        with psycopg.connect(_pg_dsn(base, "postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        rest = re.sub(r"/[^/?]*(\?|$)", f"/{name}\\1", base.split("://", 1)[1], count=1)
        env["DATABASE_URL"] = base.split("://", 1)[0] + "://" + rest
        env["BENCH_PG_DROP"] = name
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp}/patrol.sqlite3"
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
    shutil.rmtree(env["BENCH_TMP"], ignore_errors=True)


# ---------------------------------------------------------------------------------------------------------
# Data


def build(args: argparse.Namespace) -> dict[str, Any]:
    """The org tree, workers and points in bulk (paths written directly: treebeard's add_child one by one
    would dominate the setup)."""
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command

    from jiedao.cases.catalog import ensure_default_catalog
    from jiedao.core.models import Membership, OrgUnit, Role, User
    from jiedao.patrol.kinds import ensure_hazard_categories
    from jiedao.patrol.models import HazardKind, HazardPoint, RiskLevel

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    ensure_default_catalog()
    ensure_hazard_categories()
    district = OrgUnit.objects.create(
        path="0001", depth=1, numchild=1, kind="district", code="410104000000", name="管城回族区"
    )
    sub = OrgUnit.objects.create(
        path="00010001",
        depth=2,
        numchild=args.communities,
        kind="subdistrict",
        code="410104007000",
        name="陇海马路街道办事处",
    )
    units = []
    for c in range(1, args.communities + 1):
        cpath = f"{sub.path}{c:04d}"
        ccode = f"410104007{c:03d}"
        units.append(
            OrgUnit(path=cpath, depth=3, numchild=args.grids, kind="community", code=ccode, name=f"社区{c}")
        )
        x0, y0 = 113.60 + (c % 5) * 0.02, 34.70 + (c // 5) * 0.02
        for g in range(1, args.grids + 1):
            gx, gy = x0 + (g % 10) * 0.002, y0 + (g // 10) * 0.002
            ring = [[gx, gy], [gx + 0.002, gy], [gx + 0.002, gy + 0.002], [gx, gy + 0.002], [gx, gy]]
            units.append(
                OrgUnit(
                    path=f"{cpath}{g:04d}",
                    depth=4,
                    numchild=0,
                    kind="grid",
                    code=f"{ccode}{g:03d}",
                    name=f"社区{c}第{g}网格",
                    boundary={"type": "Polygon", "coordinates": [ring]},
                )
            )
    OrgUnit.objects.bulk_create(units, batch_size=2000)
    grids = list(OrgUnit.objects.filter(kind="grid").order_by("path"))
    password = make_password("bench")
    leader = User.objects.create(username="leader", full_name="马建军", password=password)
    Membership.objects.create(user=leader, org_unit=sub, role=Role.LEADER)
    comm = User.objects.create(username="comm_1", full_name="社区一", password=password)
    community1 = OrgUnit.objects.get(code="410104007001")
    Membership.objects.create(user=comm, org_unit=community1, role=Role.COMMUNITY_STAFF)
    workers = [
        User(username=f"grid_{g.code}", full_name=f"网格员{i}", password=password, mobile=f"139{i:08d}")
        for i, g in enumerate(grids)
    ]
    User.objects.bulk_create(workers, batch_size=2000)
    by_name = {u.username: u for u in User.objects.filter(username__startswith="grid_")}
    Membership.objects.bulk_create(
        [
            Membership(user=by_name[f"grid_{g.code}"], org_unit=g, org_path=g.path, role=Role.GRID_WORKER)
            for g in grids
        ],
        batch_size=2000,
    )
    kinds = list(HazardKind.objects.all())
    rng = random.Random(7)
    risks = [RiskLevel.HIGH, RiskLevel.MEDIUM, RiskLevel.LOW]
    points = []
    for g in grids:
        ring = g.boundary["coordinates"][0]
        for n in range(args.points):
            points.append(
                HazardPoint(
                    org_unit=g,
                    org_path=g.path,
                    kind=kinds[n % len(kinds)],
                    name=f"{g.name}隐患点{n + 1}",
                    latitude=ring[0][1] + rng.random() * 0.002,
                    longitude=ring[0][0] + rng.random() * 0.002,
                    risk=risks[n % 3],
                    responsible=by_name[f"grid_{g.code}"],
                )
            )
    HazardPoint.objects.bulk_create(points, batch_size=5000)
    del district
    return {
        "grids": len(grids),
        "workers": len(workers),
        "points": HazardPoint.objects.count(),
        "built_seconds": time.perf_counter() - started,
    }


# ---------------------------------------------------------------------------------------------------------
# Timing helpers


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


# ---------------------------------------------------------------------------------------------------------
# Rows


def declare_baseline(sub_path: str, kind_ids: list[int], leader_id: int) -> float:
    """The same check rows and one notification per worker by INSERT … SELECT, rolled back."""
    from django.db import connection, transaction
    from django.utils import timezone

    from jiedao.patrol.models import EmergencyEvent, EventStatus

    class Rollback(Exception):
        pass

    started = time.perf_counter()
    try:
        with transaction.atomic():
            event = EmergencyEvent.objects.create(
                org_unit_id=1,
                org_path=sub_path[:4],
                kind="baseline",
                started_at=timezone.now(),
                declared_by_id=leader_id,
                status=EventStatus.ACTIVE,
            )
            kinds = ",".join(str(k) for k in kind_ids)
            with connection.cursor() as cur:
                cur.execute(
                    "INSERT INTO patrol_eventcheck"
                    " (event_id, point_id, org_unit_id, org_path, status, note, photo)"
                    " SELECT %s, id, org_unit_id, org_path, 'pending', '', '' FROM patrol_hazardpoint"
                    f" WHERE org_path LIKE %s AND is_active AND kind_id IN ({kinds})",
                    [event.pk, sub_path + "%"],
                )
                cur.execute(
                    "INSERT INTO notifications_notification"
                    " (recipient_id, title, body, url, kind, created_at)"
                    " SELECT m.user_id, 'storm', '', '/x/', 'patrol.event', %s FROM core_membership m"
                    " WHERE m.role = 'grid_worker' AND m.is_active AND m.org_unit_id IN"
                    " (SELECT DISTINCT org_unit_id FROM patrol_eventcheck WHERE event_id = %s)",
                    [timezone.now(), event.pk],
                )
            elapsed = time.perf_counter() - started
            raise Rollback
    except Rollback:
        pass
    return elapsed


def bench_declare(runs: int) -> tuple[list[dict[str, Any]], Any]:
    from jiedao.core.models import OrgUnit, User
    from jiedao.notifications.models import Delivery, Notification
    from jiedao.notifications.sms import outbox
    from jiedao.patrol import services
    from jiedao.patrol.models import EventCheck, HazardKind

    leader = User.objects.get(username="leader")
    sub = OrgUnit.objects.get(kind="subdistrict")
    kinds = list(HazardKind.objects.all())
    ours, base = [], []
    event = None
    for n in range(runs):
        outbox.clear()
        started = time.perf_counter()
        event = services.declare_event(
            leader, kind=f"暴雨红色预警{n}", level="red", areas=[sub], point_kinds=kinds
        )
        ours.append(time.perf_counter() - started)
        base.append(declare_baseline(sub.path, [k.pk for k in kinds], leader.pk))
    assert event is not None
    checks = EventCheck.objects.filter(event=event).count()
    notes = Notification.objects.filter(kind="patrol.event", url__contains=f"/{event.pk}/").count()
    sms = Delivery.objects.filter(channel="sms", notification__url__contains=f"/{event.pk}/").count()
    return [
        {
            "what": f"declare: {checks:,} checks, {notes:,} inbox, {sms:,} SMS",
            "ours": [s * 1000 for s in ours],
            "base": [s * 1000 for s in base],
            "rows": checks,
            "seconds": min(ours),
        }
    ], event


def board_sql(event_id: int, path: str) -> Callable[[], Any]:
    from django.db import connection

    def run() -> Any:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT c.org_path, count(*), sum(CASE WHEN c.status <> 'pending' THEN 1 ELSE 0 END),"
                " sum(CASE WHEN c.status = 'hazard' THEN 1 ELSE 0 END),"
                " sum(CASE WHEN k.status IN ('registered','accepted','dispatched','contested','handling',"
                "'reported','verified','escalated','under_review') THEN 1 ELSE 0 END)"
                " FROM patrol_eventcheck c LEFT JOIN cases_case k ON k.id = c.case_id"
                " WHERE c.event_id = %s AND c.org_path LIKE %s GROUP BY c.org_path ORDER BY c.org_path",
                [event_id, path + "%"],
            )
            rows = cur.fetchall()
            paths = list({r[0] for r in rows} | {r[0][:12] for r in rows})
            cur.execute(
                f"SELECT path, name FROM core_orgunit WHERE path IN ({','.join(['%s'] * len(paths))})", paths
            )
            return rows, cur.fetchall()

    return run


def bench_checkins_and_board(event: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    from django.db import connection
    from django.test import Client

    from jiedao.core.models import OrgUnit, User
    from jiedao.patrol import services
    from jiedao.patrol.models import CheckStatus, EventCheck

    leader = User.objects.get(username="leader")
    comm = User.objects.get(username="comm_1")
    sub = OrgUnit.objects.get(kind="subdistrict")
    community = OrgUnit.objects.get(code="410104007001")
    client = Client()
    client.force_login(leader)
    comm_client = Client()
    comm_client.force_login(comm)
    url = f"/patrol/events/{event.pk}/board/"
    rng = random.Random(11)
    pending = list(EventCheck.objects.filter(event=event).values_list("pk", "org_unit__code"))
    rng.shuffle(pending)
    workers = {u.username: u for u in User.objects.filter(username__startswith="grid_")}
    check_ms: list[float] = []
    update_ms: list[float] = []
    board_ms: list[float] = []
    base_ms: list[float] = []
    base = board_sql(event.pk, sub.path)
    hazards = 0
    for n, (pk, code) in enumerate(pending[: args.checkins]):
        hazard = n % 50 == 0
        hazards += hazard
        check = EventCheck.objects.select_related("point__kind").get(pk=pk)
        started = time.perf_counter()
        services.check_point(
            workers[f"grid_{code}"],
            check,
            services.CheckInput(
                status=CheckStatus.HAZARD if hazard else CheckStatus.OK,
                note="积水" if hazard else "",
                depth_cm=30 if hazard else None,
                passable="no" if hazard else "",
                latitude=34.72,
                longitude=113.62,
            ),
        )
        check_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        EventCheck.objects.filter(pk=pending[-1 - n][0], status="never").update(
            status="ok"
        )  # the bare UPDATE
        update_ms.append((time.perf_counter() - started) * 1000)
        if n % args.board_every == 0:
            started = time.perf_counter()
            response = client.get(url)
            board_ms.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
            started = time.perf_counter()
            base()
            base_ms.append((time.perf_counter() - started) * 1000)
    comm_url = url
    comm_runs = timed(lambda: comm_client.get(comm_url), args.repeat)
    comm_base = timed(board_sql(event.pk, community.path), args.repeat)
    plan = ""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                "EXPLAIN SELECT org_path, count(*) FROM patrol_eventcheck"
                " WHERE event_id = %s AND org_path LIKE %s"
                " GROUP BY org_path",
                [event.pk, community.path + "%"],
            )
            plan = " / ".join(r[0].strip() for r in cur.fetchall()[:4])
    return [
        {
            "what": f"check-in ({hazards} hazards → cases)",
            "ours": check_ms,
            "base": update_ms,
            "rows": len(check_ms),
        },
        {
            "what": "board refresh, leader, during check-ins",
            "ours": board_ms,
            "base": base_ms,
            "rows": len(board_ms),
        },
        {
            "what": "board refresh, one community's staff",
            "ours": comm_runs,
            "base": comm_base,
            "rows": None,
            "plan": plan,
        },
    ]


def map_sql(path: str) -> Callable[[], Any]:
    from django.db import connection

    def run() -> Any:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT p.id, p.name, p.latitude, p.longitude, p.risk, k.code, k.name, k.color"
                " FROM patrol_hazardpoint p JOIN patrol_hazardkind k ON k.id = p.kind_id"
                " WHERE p.org_path LIKE %s AND p.is_active AND p.latitude IS NOT NULL",
                [path + "%"],
            )
            points = cur.fetchall()
            cur.execute(
                "SELECT name, code, kind, boundary FROM core_orgunit WHERE path LIKE %s AND is_active"
                " AND kind IN ('community','village','grid') AND boundary IS NOT NULL",
                [path + "%"],
            )
            units = cur.fetchall()
            cur.execute(
                "SELECT c.number, c.title, c.latitude, c.longitude, c.status FROM cases_case c"
                " JOIN cases_category k ON k.id = c.category_id WHERE c.org_path LIKE %s AND k.is_hazard"
                " AND c.latitude IS NOT NULL"
                " AND c.status IN ('registered','accepted','dispatched','contested',"
                "'handling','reported','verified','escalated','under_review') LIMIT 500",
                [path + "%"],
            )
            return points, units, cur.fetchall()

    return run


def bench_map(repeat: int) -> list[dict[str, Any]]:
    from django.test import Client

    from jiedao.core.models import OrgUnit, User

    comm = User.objects.get(username="comm_1")
    community = OrgUnit.objects.get(code="410104007001")
    client = Client()
    client.force_login(comm)
    url = f"/patrol/map/data.json?unit={community.code}"
    count = len(client.get(url).json()["points"])
    return [
        {
            "what": "map data, one community",
            "ours": timed(lambda: client.get(url), repeat),
            "base": timed(map_sql(community.path), repeat),
            "rows": count,
        }
    ]


def report(results: dict[str, Any], args: argparse.Namespace) -> str:
    info = results["info"]
    lines = [
        "",
        f"## patrol.py — {datetime.now():%Y-%m-%d %H:%M}, {results['vendor']},"
        f" {info['points']:,} hazard points,"
        f" {info['workers']:,} grid workers, {platform.machine()} × {os.cpu_count()} cores",
        "",
        f"Built in {info['built_seconds']:.0f} s.",
        "",
        "```",
        f"{'':44} {'rows':>7} {'ours p50':>9} {'p95':>8} {'base p50':>9} {'p95':>8} {'ratio':>6}",
    ]
    for r in results["rows"]:
        o50, o95, b50, b95 = p50(r["ours"]), p95(r["ours"]), p50(r["base"]), p95(r["base"])
        count = f"{r['rows']:,}" if r.get("rows") is not None else ""
        lines.append(
            f"{r['what'][:44]:44} {count:>7} {o50:9.1f} {o95:8.1f} {b50:9.2f} {b95:8.2f} {o50 / b50:6.1f}"
        )
    lines.append("(ms; ratio = ours p50 / baseline p50; declare: one run per column unless --declare-runs)")
    for r in results["rows"]:
        if r.get("plan"):
            lines.append(f"plan {r['what']}: {r['plan'][:300]}")
    lines.append("```")
    return "\n".join(lines) + "\n"


def main() -> None:
    args = parse_args()
    env = setup(args)
    try:
        info = build(args)
        from django.db import connection

        import jiedao.wsgi  # noqa: F401

        print(f"{connection.vendor}: {info['points']:,} points, {info['workers']:,} workers", flush=True)
        rows, event = bench_declare(args.declare_runs)
        print(f"declared in {rows[0]['seconds']:.2f} s", flush=True)
        rows += bench_checkins_and_board(event, args)
        rows += bench_map(args.repeat)
        text = report({"vendor": connection.vendor, "info": info, "rows": rows}, args)
        print(text)
        if not args.no_record:
            with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as fh:
                fh.write(text)
    finally:
        teardown(env)


if __name__ == "__main__":
    main()
