#!/usr/bin/env python
"""How much does row scope cost? `visible_to(user)` and `can()` against a hand-written prefix query.

    .venv/bin/python bench/bench_scope.py --units 100000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jiedao .venv/bin/python bench/bench_scope.py

Builds a throw-away database (a temporary SQLite file, or test_<name> next to the PostgreSQL database that
DATABASE_URL names; dropped at the end), a district of S sub-districts × C communities × G grids with a staff
member per community and a worker per grid, and N reminders (a ScopedModel) spread evenly over the grids.
Then, for one community's staff member, it times (median of --repeat runs):

  count  Reminder.objects.visible_to(user).count()   vs  SELECT count(*) … WHERE org_path LIKE '<path>%'
  page   first 50 rows of visible_to(user) by due time  vs  SELECT … WHERE org_path LIKE … ORDER BY … LIMIT 50

"ours" drops the user's cached memberships before each run, so it includes the membership query a real
request makes; "ours warm" reuses the cached memberships (later queries in the same request).
It also times `can(user, "org.view", unit)`.
See bench/README.md; figures go in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--units", type=int, default=100_000, help="number of scoped rows (reminders)")
    parser.add_argument("--subdistricts", type=int, default=10)
    parser.add_argument("--communities", type=int, default=10, help="communities per sub-district")
    parser.add_argument("--grids", type=int, default=10, help="grids per community")
    parser.add_argument("--repeat", type=int, default=21, help="runs per measurement (the median is shown)")
    parser.add_argument("--can-calls", type=int, default=20_000, help="calls of can() to average over")
    return parser.parse_args()


def setup_django(tmp: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    os.environ["JIEDAO_VAR_DIR"] = str(tmp)
    os.environ.setdefault("JIEDAO_LOG_LEVEL", "WARNING")
    import django
    from django.conf import settings

    django.setup()
    db = settings.DATABASES["default"]
    if "sqlite" in db["ENGINE"]:
        db.setdefault("TEST", {})["NAME"] = str(tmp / "bench.sqlite3")


def tree_path(parent: str, index: int) -> str:
    """treebeard's materialized path: 4 base-36 digits per level (OrgUnit.steplen / alphabet)."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    digits = ""
    for _ in range(4):
        index, rest = divmod(index, 36)
        digits = alphabet[rest] + digits
    return parent + digits


def build(args: argparse.Namespace) -> dict[str, Any]:
    from django.db import transaction
    from django.utils import timezone

    from jiedao.core.models import Membership, OrgUnit, Reminder, Role, User

    started = time.perf_counter()
    units: list[OrgUnit] = []
    district = OrgUnit(
        kind="district",
        code="B00000000000",
        name="基准区",
        path=tree_path("", 1),
        depth=1,
        numchild=args.subdistricts,
    )
    units.append(district)
    grids: list[OrgUnit] = []
    communities: list[OrgUnit] = []
    for s in range(1, args.subdistricts + 1):
        sub = OrgUnit(
            kind="subdistrict",
            code=f"B{s:03d}0000000",
            name=f"第{s}街道",
            path=tree_path(district.path, s),
            depth=2,
            numchild=args.communities,
        )
        units.append(sub)
        for c in range(1, args.communities + 1):
            comm = OrgUnit(
                kind="community",
                code=f"B{s:03d}{c:03d}0000",
                name=f"第{s}街道第{c}社区",
                path=tree_path(sub.path, c),
                depth=3,
                numchild=args.grids,
            )
            units.append(comm)
            communities.append(comm)
            for g in range(1, args.grids + 1):
                grid = OrgUnit(
                    kind="grid",
                    code=f"B{s:03d}{c:03d}{g:04d}",
                    name=f"{comm.name}第{g}网格",
                    path=tree_path(comm.path, g),
                    depth=4,
                    numchild=0,
                )
                units.append(grid)
                grids.append(grid)
    with transaction.atomic():
        OrgUnit.objects.bulk_create(units, batch_size=1000)
        by_path = {u.path: u for u in OrgUnit.objects.all()}
        communities = [by_path[u.path] for u in communities]
        grids = [by_path[u.path] for u in grids]

        people: list[tuple[User, OrgUnit, str]] = []
        for i, comm in enumerate(communities):
            people.append((User(username=f"comm{i}", full_name=f"社区工作者{i}"), comm, Role.COMMUNITY_STAFF))
        for i, grid in enumerate(grids):
            people.append((User(username=f"grid{i}", full_name=f"网格员{i}"), grid, Role.GRID_WORKER))
        for user, _unit, _role in people:
            user.set_unusable_password()
        User.objects.bulk_create([p[0] for p in people], batch_size=1000)
        saved = {u.username: u for u in User.objects.all()}
        Membership.objects.bulk_create(
            [
                Membership(user=saved[u.username], org_unit=unit, org_path=unit.path, role=role)
                for u, unit, role in people
            ],
            batch_size=1000,
        )
    tree_seconds = time.perf_counter() - started

    started = time.perf_counter()
    now = timezone.now()
    workers = [saved[f"grid{i}"] for i in range(len(grids))]
    batch: list[Reminder] = []
    for n in range(args.units):
        g = n % len(grids)
        batch.append(
            Reminder(
                org_unit=grids[g],
                org_path=grids[g].path,
                recipient=workers[g],
                title=f"提醒 {n}",
                due_at=now + timedelta(minutes=(n * 7919) % 100_000),
            )
        )
        if len(batch) == 5000:
            with transaction.atomic():
                Reminder.objects.bulk_create(batch)
            batch = []
    if batch:
        with transaction.atomic():
            Reminder.objects.bulk_create(batch)
    rows_seconds = time.perf_counter() - started

    from django.db import connection

    if connection.vendor in {"postgresql", "sqlite"}:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    middle = communities[len(communities) // 2]
    return {
        "community": middle,
        "grid": grids[len(grids) // 2],
        "units": len(units),
        "users": len(people),
        "tree_seconds": tree_seconds,
        "rows_seconds": rows_seconds,
    }


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm the statement and page caches once
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs) * 1000


def main() -> int:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="jiedao-bench-") as tmp:
        setup_django(Path(tmp))
        from django.db import connection

        old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            return run(args)
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)


def run(args: argparse.Namespace) -> int:
    import platform

    from django.db import connection

    from jiedao.core.models import OrgUnit, Reminder, User
    from jiedao.core.permissions import can, forget

    world = build(args)
    community: OrgUnit = world["community"]
    username = f"comm{OrgUnit.objects.filter(kind='community', path__lt=community.path).count()}"
    prefix = community.path
    table = Reminder._meta.db_table
    columns = ", ".join(str(f.column) for f in Reminder._meta.concrete_fields)
    count_sql = f"SELECT count(*) FROM {table} WHERE org_path LIKE %s"
    page_sql = f"SELECT {columns} FROM {table} WHERE org_path LIKE %s ORDER BY due_at, id LIMIT 50"

    warm_user = User.objects.get(username=username)
    cold_user = User.objects.get(username=username)

    def fresh_user() -> User:
        """The user as a new request sees it: memberships not loaded yet (the user row itself is)."""
        forget(cold_user)
        return cold_user

    def ours_count() -> int:
        return Reminder.objects.visible_to(fresh_user()).count()

    def ours_count_warm() -> int:
        return Reminder.objects.visible_to(warm_user).count()

    def ours_page() -> list[Reminder]:
        return list(Reminder.objects.visible_to(fresh_user()).order_by("due_at", "id")[:50])

    def ours_page_warm() -> list[Reminder]:
        return list(Reminder.objects.visible_to(warm_user).order_by("due_at", "id")[:50])

    def base_count() -> int:
        with connection.cursor() as cursor:
            cursor.execute(count_sql, [prefix + "%"])
            return int(cursor.fetchone()[0])

    def base_page() -> list[tuple[Any, ...]]:
        with connection.cursor() as cursor:
            cursor.execute(page_sql, [prefix + "%"])
            return cursor.fetchall()

    visible = ours_count()
    assert visible == base_count(), "visible_to and the baseline disagree"
    assert [r.pk for r in ours_page()] == [row[0] for row in base_page()], "pages differ"

    db: Any = connection
    version = db.Database.sqlite_version if connection.vendor == "sqlite" else db.pg_version
    print(f"Jiedao scope benchmark — {connection.vendor} {version}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(
        f"tree: {world['units']} org units, {world['users']} users/memberships"
        f" (built in {world['tree_seconds']:.1f}s);"
        f" {args.units} reminders (inserted in {world['rows_seconds']:.1f}s)"
    )
    print(
        f"user: {username}, community {community.name} ({prefix}), sees {visible} reminders;"
        f" median of {args.repeat} runs\n"
    )

    rows = [
        (
            "count",
            median_ms(ours_count, args.repeat),
            median_ms(ours_count_warm, args.repeat),
            median_ms(base_count, args.repeat),
        ),
        (
            "page of 50",
            median_ms(ours_page, args.repeat),
            median_ms(ours_page_warm, args.repeat),
            median_ms(base_page, args.repeat),
        ),
    ]
    print(f"{'':12}{'ours ms':>10}{'ours warm':>11}{'baseline':>10}{'ratio':>8}{'warm ratio':>12}")
    for name, ours, warm, base in rows:
        print(f"{name:12}{ours:10.3f}{warm:11.3f}{base:10.3f}{ours / base:8.2f}{warm / base:12.2f}")

    # For reference: the same subtree as an index range (what a LIKE prefix becomes when the planner can use
    # the index: always on PostgreSQL's pattern-ops index, never on SQLite's case-insensitive LIKE … ESCAPE).
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)

    def range_count() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT count(*) FROM {table} WHERE org_path >= %s AND org_path < %s", [prefix, upper]
            )
            return int(cursor.fetchone()[0])

    assert range_count() == visible
    print(
        f"{'(range)':12}{'':21}{median_ms(range_count, args.repeat):10.3f}"
        "   count by org_path >= path AND < next path"
    )

    grid: OrgUnit = world["grid"]
    user = fresh_user()
    started = time.perf_counter()
    can(user, "org.view", grid)
    first_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    for _ in range(args.can_calls):
        can(user, "org.view", grid)
        can(user, "org.view", community)
    per_call_us = (time.perf_counter() - started) / (2 * args.can_calls) * 1e6
    print(
        f"\ncan(user, 'org.view', unit): first call {first_ms:.3f} ms (loads memberships), "
        f"then {per_call_us:.2f} µs per call (mean of {2 * args.can_calls})"
    )

    sql, params = Reminder.objects.visible_to(warm_user).order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN SELECT count(*) FROM ({sql})", params)
            plan = "; ".join(str(row[-1]) for row in cursor.fetchall())
        else:
            cursor.execute(f"EXPLAIN SELECT count(*) FROM ({sql}) AS q", params)
            plan = "; ".join(str(row[0]).strip() for row in cursor.fetchall())
    print(f"plan of visible_to(user).count(): {plan}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
