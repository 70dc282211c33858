#!/usr/bin/env python
"""People at a million: resident imports end to end against a floor, the import's peak memory, and search over
a million residents against the raw SQL of the same answer.

    .venv/bin/python bench/people.py               # SQLite: var/bench/people-1m.sqlite3 (built once), copied
    .venv/bin/python bench/people.py --postgres    # a fresh jiedao_bench_<pid> on DATABASE_URL's server
    .venv/bin/python bench/people.py --only search # some of: xlsx, csv, search

The database is the demo district at `--scale` (100: ≈ 1,000,000 residents, see jiedao/people/bulk.py)
built with `manage.py migrate` + `load_demo(scale)` running the core and the people demo steps only. On SQLite
it is built once into var/bench/people-1m.sqlite3 and every run works on a copy (the imports add rows),
removed at the end; with --postgres the script creates `jiedao_bench_<pid>` on the server DATABASE_URL names,
builds it and drops it at the end. The input files (var/bench/people-<rows>-v<n>.xlsx / .csv) are generated
once: a title row and a header row, then one row per resident of realistic households (valid identity
numbers of regions the demo does not use, phones written several ways, dates in mixed styles: date cells,
1953年2月, 1953.02.01, 19530201, Excel serials).

Rows (each beside its floor, measured in the same run):

  xlsx     `jiedao.people.importer.run(path, unit=<community>, actor=None, kind="residents", commit=True)` on
           the 100,000-row .xlsx, in a child process (wall time of run(), and the child's peak resident
           memory, VmHWM). Floor: read the same file with python-calamine and insert one row per line into
           people_resident (the same table, with its indexes) from the raw cell values, constant tokens and
           masks, the raw identity number as its index: executemany on SQLite, COPY on PostgreSQL; in one
           transaction, in a child process too. The floor's rows are deleted before the import runs.
  csv      the same for the 1,000,000-row .csv (the floor reads it with the csv module: calamine has no CSV).
  search   `jiedao.search.query.search(user, q)` for a grid worker, a community's staff, a leader and the
           district, over names, pinyin, initials, addresses, compounds, an identity number and a phone:
           p50/p95 of --repeat runs after a warm-up. Baseline: the SQL statements that call executed
           (captured once), run raw through a cursor: the same answer without the Python around it.

Targets (2-core machine): 100k .xlsx ≤ 8 s; 1M .csv ≤ 40 s and ≤ 4× its floor; peak memory ≤ 500 MB;
search p95 ≤ 100 ms. Results are printed and appended to bench/RESULTS.md (--no-record to skip).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DIR = ROOT / "var" / "bench"
DEFAULT_DB = BENCH_DIR / "people-1m.sqlite3"
SECRET = "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
FIELD_KEY = "bench-only-field-key-0123456789"
#: The community the files are imported into (陇海东路第一社区).
TARGET = "410104007001"
#: Bump when the generated files change shape, so cached files are made again.
FILE_VERSION = 2
TITLE = "陇海东路第一社区居民信息台账"
HEADER = [
    "序号", "户号", "姓名", "与户主关系", "性别", "民族", "身份证号", "出生日期", "联系电话", "人口类型",
    "小区", "楼栋", "单元", "户室号", "迁入日期", "备注",
]  # fmt: skip
# Columns of the floor's rows (people_resident) filled from the raw cells: header name → column.
FLOOR_FROM_CELLS = {
    "姓名": "name",
    "与户主关系": "relation",
    "身份证号": "id_index",
    "性别": "sex",
    "联系电话": "phone_index",
    "人口类型": "residence_type",
    "民族": "ethnicity",
    "小区": "address",
    "备注": "note",
}
# Identity-number regions for the files: Henan counties the demo's residents never carry, so an imported row
# is always a new resident.
FILE_REGIONS = [
    "410203", "410204", "410205", "410212", "410224", "410303", "410304", "410305", "410311", "410323",
    "410324", "410325", "410326", "410327", "410328", "410329", "410381", "410403", "410404", "410421",
    "410422", "410425", "410481", "410482", "410503", "410505", "410506", "410523", "410526", "410527",
    "410581", "410602", "410603", "410611", "410621", "410622", "410703", "410704", "410711", "410724",
]  # fmt: skip


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=100, help="demo scale (100 ≈ 1,000,000 residents)")
    parser.add_argument(
        "--db", type=Path, default=DEFAULT_DB, help="SQLite base file (built once, then copied)"
    )
    parser.add_argument("--postgres", action="store_true", help="a fresh database on DATABASE_URL's server")
    parser.add_argument("--only", default="xlsx,csv,search")
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=51, help="runs per search measurement")
    parser.add_argument("--no-record", action="store_true", help="do not append to bench/RESULTS.md")
    parser.add_argument("--child", choices=["import", "floor"], help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


def bench_env(args: argparse.Namespace) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "bench.settings_bench",
        "JIEDAO_SECRET_KEY": SECRET,
        "JIEDAO_FIELD_KEY": FIELD_KEY,
        "JIEDAO_ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
        "JIEDAO_LOG_LEVEL": "WARNING",
        "JIEDAO_DEBUG": "",
    }


def setup(args: argparse.Namespace) -> dict[str, str]:
    """Environment for this process and its children; creates the PostgreSQL database, or copies the SQLite
    base file (built first when missing)."""
    env = bench_env(args)
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
    """The demo at `scale` with its people (the cases step is left out: this benchmark reads no cases)."""
    from django.core.management import call_command

    from jiedao.people import bulk
    from jiedao.people.models import Resident

    call_command("migrate", verbosity=0)
    wanted = bulk.residents_for_scale(scale)
    have = Resident.objects.count()
    built = None
    if have < 0.95 * wanted:
        from jiedao.core import demo

        demo.discover_demo_steps()
        steps = {name: step for name, step in demo.demo_steps() if not name.startswith("cases")}
        demo._STEPS.clear()
        demo._STEPS.update(steps)
        print(f"building the demo at scale {scale} (≈ {wanted:,} residents; steps {', '.join(steps)}) …")
        started = time.perf_counter()
        demo.load_demo(scale=scale, stdout=sys.stdout)  # type: ignore[arg-type]
        built = time.perf_counter() - started
        print(f"built in {built:.0f} s", flush=True)
    return {"residents": Resident.objects.count(), "built_seconds": built}


def work_copy(args: argparse.Namespace, env: dict[str, str]) -> Path | None:
    """SQLite: checkpoint the base file and copy it; this process and the children use the copy."""
    if args.postgres:
        return None
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    copy = args.db.with_name(f"people-run-{os.getpid()}.sqlite3")
    shutil.copyfile(args.db, copy)
    env["DATABASE_URL"] = f"sqlite:///{copy}"
    from django.conf import settings

    settings.DATABASES["default"]["NAME"] = str(copy)
    os.environ["DATABASE_URL"] = env["DATABASE_URL"]
    return copy


def remove_copy(copy: Path | None) -> None:
    if copy is None:
        return
    from django.db import connections

    connections.close_all()
    for suffix in ("", "-wal", "-shm", "-writer.lock"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------------------
# The input files


def file_rows(count: int, seed: int, first_household: int = 1) -> Iterator[list[Any]]:
    """`count` rows of a community's resident ledger, household by household (a household is never cut)."""
    from jiedao.people import bulk
    from jiedao.people.models import Relation, ResidenceType, Sex
    from jiedao.people.personal import name_pinyin  # noqa: F401  (imported for the side effect of pypinyin)

    rng = random.Random(seed)
    today = date.today()
    maker = bulk.IdentityMaker(0, today, limit=182_500)
    relation_words: dict[str, list[str]] = {
        Relation.HEAD: ["户主"],
        Relation.SPOUSE: ["配偶", "妻", "夫"],
        Relation.CHILD: ["子女", "子", "女"],
        Relation.CHILD_IN_LAW: ["儿媳", "女婿"],
        Relation.PARENT: ["父母", "母亲", "父亲"],
        Relation.GRANDCHILD: ["孙子女", "孙子", "孙女"],
        Relation.SIBLING: ["兄弟姐妹"],
        Relation.OTHER: ["其他"],
    }
    residence_words: dict[str, list[str]] = {
        ResidenceType.REGISTERED: ["户籍", "户籍人口"],
        ResidenceType.HABITUAL: ["常住", "常住人口"],
        ResidenceType.FLOATING: ["流动", "流动人口"],
    }
    shapes = bulk.Picker(bulk.ORDINARY.shapes)
    compounds: list[tuple[str, int]] = []
    used: set[str] = set()
    written = 0
    household = first_household
    while written < count:
        if not compounds or rng.random() < 1 / 400:  # a new compound about every 400 households
            name = bulk._compound_name(rng, rng.choice(list(bulk.SHAPES)), used)
            if name in used:
                name = f"{rng.choice(bulk.STREETS)}{len(used) + 300}号院"
            used.add(name)
            compounds.append((name, rng.randint(4, 24)))
        compound, buildings = compounds[-1]
        building, entrance = rng.randint(1, buildings), rng.randint(1, 4)
        room = f"{rng.randint(1, 7)}{rng.randint(1, 2):02d}"
        members = bulk.household_members(rng, shapes(rng))
        family = bulk.SURNAME(rng)
        number = f"{household:08d}"
        household += 1
        moved = today - timedelta(days=rng.randint(30, 40 * 365))
        for member in members:
            if written >= count:
                break
            written += 1
            surname = family if member.relation in (Relation.HEAD, Relation.CHILD) else bulk.SURNAME(rng)
            name = surname + bulk.given_name(rng, today.year - member.age, member.sex)
            region = FILE_REGIONS[rng.randrange(len(FILE_REGIONS))]
            id_number = maker.number(region, member.sex, member.age)
            born = date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
            if rng.random() < 0.03:
                id_number = id_number.lower() if id_number.endswith("X") else f" {id_number} "
            phone = ""
            if member.age >= 16 and rng.random() < 0.92:
                phone = bulk.mobile(rng)
                if rng.random() < 0.15:
                    phone = f"{phone[:3]} {phone[3:7]} {phone[7:]}"
            elif member.age >= 70 and rng.random() < 0.5:
                phone = bulk.landline(rng)
            yield [
                written,
                number,
                name,
                rng.choice(relation_words[member.relation]),
                "男" if member.sex == Sex.MALE else "女",
                "回族" if rng.random() < 0.05 else rng.choice(["汉族", "汉族", "汉"]),
                id_number,
                _date_style(rng, born, full=True),
                phone,
                rng.choice(residence_words[member.residence]),
                compound,
                f"{building}号楼" if rng.random() < 0.85 else f"{building}栋",
                f"{entrance}单元",
                room,
                _date_style(rng, max(moved, born), full=False),
                "",
            ]


EXCEL_EPOCH = date(1899, 12, 30)


def _date_style(rng: random.Random, day: date, full: bool) -> Any:
    """A date as ledgers hold it: a date cell, an Excel serial, 1953.02.01, 1953/2/1, 19530201, 1953年2月1日,
    and (`full` False) month-only 1953年2月 or 1953.02."""
    x = rng.random()
    if x < 0.45:
        return day  # a date cell (a CSV writes it 1953-02-01)
    if x < 0.55:
        return (day - EXCEL_EPOCH).days  # a serial number
    if x < 0.65:
        return f"{day:%Y.%m.%d}"
    if x < 0.75:
        return f"{day.year}/{day.month}/{day.day}"
    if x < 0.82:
        return f"{day:%Y%m%d}"
    if x < 0.9 or full:
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.year}年{day.month}月" if x < 0.95 else f"{day:%Y.%m}"


def make_files(xlsx_rows: int, csv_rows: int) -> tuple[Path, Path]:
    """The two input files, generated once per size and FILE_VERSION (their identity numbers never repeat
    across the two files: the csv continues where the xlsx stopped)."""
    xlsx = BENCH_DIR / f"people-{xlsx_rows}-v{FILE_VERSION}.xlsx"
    csv_path = BENCH_DIR / f"people-{csv_rows}-v{FILE_VERSION}.csv"
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    if xlsx.exists() and csv_path.exists():
        return xlsx, csv_path
    started = time.perf_counter()
    rows = file_rows(xlsx_rows + csv_rows, seed=20261123)
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("居民")
    sheet.append([TITLE])
    sheet.append(HEADER)
    for _n in range(xlsx_rows):
        row = next(rows)
        sheet.append([_excel_cell(v) for v in row])
    book.save(xlsx)
    with open(csv_path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([TITLE])
        writer.writerow(HEADER)
        dates = (HEADER.index("出生日期"), HEADER.index("迁入日期"))
        for n, row in enumerate(rows, start=1):
            row[0] = n
            for i in dates:  # a CSV holds text: a serial there is a number someone typed, not a date
                if isinstance(row[i], int):
                    row[i] = EXCEL_EPOCH + timedelta(days=row[i])
            writer.writerow([v.isoformat() if isinstance(v, date) else v for v in row])
    print(f"input files written in {time.perf_counter() - started:.0f} s", flush=True)
    return xlsx, csv_path


def _excel_cell(value: Any) -> Any:
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return value


# ---------------------------------------------------------------------------------------------------------
# Children: the import and its floor, each in its own process (time of the work, peak memory)


def peak_memory_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def child_import(path: Path) -> dict[str, Any]:
    from jiedao.core.models import OrgUnit
    from jiedao.people import importer
    from jiedao.people.models import Resident

    unit = OrgUnit.objects.get(code=TARGET)
    before = Resident.objects.count()
    started = time.perf_counter()
    result = importer.run(path, unit=unit, actor=None, kind="residents", commit=True)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "errors": result.error_count,
        "total": result.total,
        "residents_added": Resident.objects.count() - before,
        "first_errors": [str(e) for e in result.errors[:5]],
        "peak_kb": peak_memory_kb(),
    }


def child_floor(path: Path) -> dict[str, Any]:
    """Read every cell, insert one resident row per line (raw values, constant tokens), one transaction."""
    from django.db import connection, transaction
    from django.utils import timezone

    from jiedao.core.models import OrgUnit
    from jiedao.people.models import Resident

    unit = OrgUnit.objects.get(code=TARGET)
    now = timezone.now()
    stamp: Any = now if connection.vendor == "postgresql" else now.isoformat(" ")
    columns = [str(f.column) for f in Resident._meta.concrete_fields if f.column != "id"]
    constant = {
        "household_id": None, "relation": "", "name": "", "name_pinyin": "", "id_token": "e1$floor$token",
        "id_index": "", "id_mask": "410***********0000", "birth_date": None, "sex": "", "phone_token": "",
        "phone_index": "", "phone_mask": "", "residence_type": "", "ethnicity": "", "dwelling_id": None,
        "address": "", "moved_in": None, "moved_out": None, "note": "", "version": 1, "created_at": stamp,
        "updated_at": stamp, "org_unit_id": unit.pk, "org_path": unit.path,
    }  # fmt: skip
    assert set(constant) == set(columns), set(columns) ^ set(constant)
    started = time.perf_counter()
    rows = _raw_rows(path)
    at = {name: i for i, name in enumerate(HEADER)}
    picks = [(columns.index(col), at[head]) for head, col in FLOOR_FROM_CELLS.items()]
    template = [constant[c] for c in columns]

    def record(cells: list[Any]) -> tuple[Any, ...]:
        row = list(template)
        for target, source in picks:
            value = cells[source] if source < len(cells) else ""
            row[target] = "" if value is None else str(value)
        return tuple(row)

    qn = connection.ops.quote_name
    names = ", ".join(qn(c) for c in columns)
    count = 0
    with transaction.atomic(), connection.cursor() as cursor:
        batch: list[tuple[Any, ...]] = []
        for cells in rows:
            batch.append(record(cells))
            if len(batch) >= 10_000:
                count += _floor_insert(cursor, names, columns, batch)
                batch = []
        count += _floor_insert(cursor, names, columns, batch)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": count, "peak_kb": peak_memory_kb()}


def _raw_rows(path: Path) -> Iterator[list[Any]]:
    """The file's rows below the title and header, as the reader gives them."""
    if path.suffix == ".csv":
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            next(reader), next(reader)
            yield from reader
        return
    from python_calamine import CalamineWorkbook

    data = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    yield from (list(r) for r in data[2:])


def _floor_insert(cursor: Any, names: str, columns: list[str], batch: list[tuple[Any, ...]]) -> int:
    from django.db import connection

    if not batch:
        return 0
    if connection.vendor == "postgresql":
        with cursor.cursor.copy(f"COPY people_resident ({names}) FROM STDIN") as copy:
            for row in batch:
                copy.write_row(row)
    else:
        marks = ", ".join(["%s"] * len(columns))
        cursor.executemany(f"INSERT INTO people_resident ({names}) VALUES ({marks})", batch)
    return len(batch)


def run_child(env: dict[str, str], mode: str, path: Path) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", mode, "--path", str(path)]
    started = time.perf_counter()
    out = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"{mode} child failed:\n{out.stdout[-3000:]}\n{out.stderr[-5000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall"] = time.perf_counter() - started
    return result


def bench_import(env: dict[str, str], path: Path, rows: int) -> dict[str, Any]:
    from django.db import connection

    from jiedao.people.models import Resident

    first_new = (Resident.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    connection.close()
    floor = run_child(env, "floor", path)
    print(f"  floor {path.name}: {floor['seconds']:.1f} s, peak {floor['peak_kb'] / 1024:.0f} MB", flush=True)
    with connection.cursor() as cursor:  # the floor's rows go before the import runs
        cursor.execute("DELETE FROM people_resident WHERE id >= %s", [first_new])
    connection.close()
    ours = run_child(env, "import", path)
    print(
        f"  import {path.name}: {ours['seconds']:.1f} s, created {ours['created']:,},"
        f" errors {ours['errors']:,}, peak {ours['peak_kb'] / 1024:.0f} MB",
        flush=True,
    )
    if ours["errors"] or ours["created"] != rows:
        print(f"  NOTE: {rows:,} rows in the file, the import says {ours}", flush=True)
    return {"file": path.name, "rows": rows, "ours": ours, "floor": floor}


# ---------------------------------------------------------------------------------------------------------
# Search


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


def search_queries() -> list[tuple[str, str]]:
    """(what, query): names, pinyin, initials, places, an identity number and a phone of a resident of
    陇海东路第一社区 (read in clear here, as the person at the desk would type them)."""
    from jiedao.core.models import OrgUnit
    from jiedao.core.privacy import decrypt
    from jiedao.people.models import ID_CONTEXT, PHONE_CONTEXT, Resident

    community = OrgUnit.objects.get(code=TARGET)
    grid = OrgUnit.objects.get(code=f"{TARGET}001")
    someone = (
        Resident.objects.filter(org_path__startswith=grid.path).exclude(phone_token="").order_by("id").first()
    )
    assert someone is not None, "no resident in the demo grid: build the demo first"
    common = (
        Resident.objects.filter(org_path__startswith=community.path, name__startswith="王")
        .values_list("name", flat=True)
        .order_by("id")
        .first()
    ) or "王秀英"
    initials = someone.name_pinyin.split()[-1] if someone.name_pinyin else "wxy"
    full = someone.name_pinyin.split()[0] if someone.name_pinyin else "wangxiuying"
    return [
        ("name", someone.name),
        ("common name", common),
        ("surname + 1", common[:2]),
        ("pinyin", full),
        ("initials", initials),
        ("compound prefix", "陇海花"),
        ("address", "陇海花园 3号楼"),
        ("organisation", "日间照料"),
        ("id number", decrypt(someone.id_token, ID_CONTEXT)),
        ("phone", decrypt(someone.phone_token, PHONE_CONTEXT)),
    ]


def bench_search(repeat: int) -> list[dict[str, Any]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from jiedao.core.models import User
    from jiedao.search.query import search

    queries = search_queries()
    rows = []
    for username in ("grid_a", "comm_a", "leader", "district"):
        user = User.objects.get(username=username)
        for what, q in queries:
            search(user, q)  # caches (memberships, place words) as a warm process has them
            with CaptureQueriesContext(connection) as captured:
                hits = search(user, q)
            statements = [(s["sql"], None) for s in captured.captured_queries]

            def raw(statements: list[tuple[str, None]] = statements) -> int:
                n = 0
                with connection.cursor() as cursor:
                    for sql, _params in statements:
                        cursor.execute(sql)
                        n += len(cursor.fetchall()) if cursor.description else 0
                return n

            ours = timed(partial(search, user, q), repeat)
            base = timed(raw, repeat)
            shown = q if what not in ("id number", "phone") else what
            rows.append(
                {
                    "what": f"{username} · {what} «{shown}»",
                    "hits": len(hits),
                    "queries": len(statements),
                    "ours": ours,
                    "base": base,
                }
            )
            print(
                f"  {rows[-1]['what']}: {len(hits)} hits, ours p50 {p50(ours):.1f} / p95 {p95(ours):.1f} ms;"
                f" raw SQL p50 {p50(base):.1f} ms",
                flush=True,
            )
    return rows


# ---------------------------------------------------------------------------------------------------------


def main() -> None:
    args = parse_args()
    if args.child:
        os.environ.update(bench_env(args))
        import django

        django.setup()
        result = child_import(args.path) if args.child == "import" else child_floor(args.path)
        print(json.dumps(result))
        return
    env = setup(args)
    only = set(args.only.split(","))
    copy = None
    try:
        info = ensure_data(args.scale)
        copy = work_copy(args, env)
        from django.db import connection

        import jiedao.wsgi  # noqa: F401  # settled as a server process is: views loaded, gc frozen

        print(f"{connection.vendor}: {info['residents']:,} residents", flush=True)
        results: dict[str, Any] = {"vendor": connection.vendor, "info": info, "imports": [], "search": []}
        if "search" in only:  # before the imports: a million demo residents, nothing else
            results["search"] = bench_search(args.repeat)
        if only & {"xlsx", "csv"}:
            xlsx, csv_path = make_files(args.xlsx_rows, args.csv_rows)
            importer = ROOT / "jiedao" / "people" / "importer.py"
            if not importer.exists() or "def run(" not in importer.read_text(encoding="utf-8"):
                print("jiedao/people/importer.py has no run() yet: the import rows are skipped", flush=True)
            else:
                if "xlsx" in only:
                    results["imports"].append(bench_import(env, xlsx, args.xlsx_rows))
                if "csv" in only:
                    results["imports"].append(bench_import(env, csv_path, args.csv_rows))
        text = report(results, args)
        print(text)
        if not args.no_record:
            with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as fh:
                fh.write(text)
    finally:
        remove_copy(copy)
        drop_postgres(env)


def report(results: dict[str, Any], args: argparse.Namespace) -> str:
    info = results["info"]
    lines = [
        "",
        f"## people.py — {datetime.now():%Y-%m-%d %H:%M}, {results['vendor']}, "
        f"{info['residents']:,} residents, {platform.machine()} × {os.cpu_count()} cores",
        "",
    ]
    if info.get("built_seconds"):
        lines.append(
            f"Demo built in {info['built_seconds']:.0f} s (load_demo at scale {args.scale}, people).\n"
        )
    if results["imports"]:
        lines += [
            "```",
            f"{'import':28} {'rows':>10} {'ours s':>8} {'floor s':>8} {'ratio':>6} {'rows/s':>8}"
            f" {'peak MB':>8} {'floor MB':>8}  result",
        ]
        for r in results["imports"]:
            o, f = r["ours"], r["floor"]
            lines.append(
                f"{r['file'][:28]:28} {r['rows']:>10,} {o['seconds']:8.1f} {f['seconds']:8.1f}"
                f" {o['seconds'] / f['seconds']:6.1f} {r['rows'] / o['seconds']:8.0f}"
                f" {o['peak_kb'] / 1024:8.0f}"
                f" {f['peak_kb'] / 1024:8.0f}  created {o['created']:,}, updated {o['updated']:,},"
                f" unchanged {o['unchanged']:,}, errors {o['errors']:,}"
            )
        lines.append(
            "(ours: importer.run(…, commit=True) in a child process; floor: read + raw insert of the"
        )
        lines.append(" same rows into people_resident; peak = the child's VmHWM)")
        lines.append("```")
    if results["search"]:
        all_ours = [x for r in results["search"] for x in r["ours"]]
        lines += [
            "```",
            f"{'search':52} {'hits':>5} {'ours p50':>9} {'p95':>7} {'raw p50':>8} {'p95':>7} {'ratio':>6}",
        ]
        for r in results["search"]:
            o50, o95, b50, b95 = p50(r["ours"]), p95(r["ours"]), p50(r["base"]), p95(r["base"])
            lines.append(
                f"{r['what'][:52]:52} {r['hits']:>5} {o50:9.1f} {o95:7.1f} {b50:8.2f} {b95:7.2f}"
                f" {o50 / max(b50, 1e-6):6.1f}"
            )
        lines.append(
            f"all searches: p50 {p50(all_ours):.1f} ms, p95 {p95(all_ours):.1f} ms,"
            f" max {max(all_ours):.1f} ms ({len(all_ours):,} runs)"
        )
        lines.append("(ms; raw = the statements search() executed, run again through a cursor; ratio = p50s)")
        lines.append("```")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
