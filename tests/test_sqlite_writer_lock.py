"""jiedao.core.sqlite: writers on a SQLite file queue on a file lock, taken at BEGIN and released at commit or
rollback, so that the next writer starts as soon as the previous one ends."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db.utils import ConnectionHandler


@pytest.fixture(autouse=True)
def _own_connections(django_db_blocker: Any) -> Iterator[None]:
    with django_db_blocker.unblock():  # these tests open their own connections to their own files
        yield


def connect(path: Path, timeout: float = 5) -> Any:
    options = {
        "transaction_mode": "IMMEDIATE",
        "timeout": timeout,
        "init_command": "PRAGMA journal_mode=WAL;",
    }
    return ConnectionHandler(
        {"default": {"ENGINE": "jiedao.core.sqlite", "NAME": str(path), "OPTIONS": options}}
    )["default"]


@contextmanager
def transaction_on(conn: Any) -> Iterator[None]:
    """BEGIN … COMMIT (ROLLBACK on an exception) on this connection object, as transaction.atomic does."""
    conn.ensure_connection()
    conn.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    else:
        conn.commit()
    finally:
        conn.set_autocommit(True)


def test_second_writer_waits_for_the_first_to_commit(tmp_path: Path) -> None:
    db = tmp_path / "lock.sqlite3"
    setup = connect(db)
    with setup.cursor() as cursor:
        cursor.execute("CREATE TABLE t (n INTEGER)")
    setup.close()
    order: list[str] = []
    first_in = threading.Event()

    def first() -> None:
        conn = connect(db)
        with transaction_on(conn):
            order.append("first begins")
            first_in.set()
            time.sleep(0.2)
            with conn.cursor() as cursor:
                cursor.execute("INSERT INTO t VALUES (1)")
            order.append("first commits")
        conn.close()

    def second() -> None:
        first_in.wait(5)
        conn = connect(db)
        with transaction_on(conn):
            order.append("second begins")
            with conn.cursor() as cursor:
                cursor.execute("INSERT INTO t VALUES (2)")
        conn.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert order == ["first begins", "first commits", "second begins"]
    assert (tmp_path / "lock.sqlite3-writer.lock").exists()
    check = connect(db)
    with check.cursor() as cursor:
        cursor.execute("SELECT n FROM t ORDER BY n")
        assert [r[0] for r in cursor.fetchall()] == [1, 2]
    check.close()


def test_lock_is_released_on_rollback_and_on_close(tmp_path: Path) -> None:
    db = tmp_path / "lock.sqlite3"
    a = connect(db)
    with pytest.raises(RuntimeError), transaction_on(a):
        assert a._writer_held
        raise RuntimeError("roll back")
    assert not a._writer_held
    with transaction_on(a):
        assert a._writer_held
        b = connect(db, timeout=0.05)
        b.ensure_connection()
        started = time.monotonic()
        b._acquire_writer()  # gives up on the file lock after the database timeout …
        assert not b._writer_held and time.monotonic() - started < 2  # … and leaves it to SQLite's own lock
        b.close()
    assert not a._writer_held
    a.close()
    assert a._writer_fd is None


def test_in_memory_database_takes_no_file_lock(tmp_path: Path) -> None:
    conn = connect(Path(":memory:"))
    with transaction_on(conn):
        assert not conn._writer_held and conn._writer_fd is None
    conn.close()
