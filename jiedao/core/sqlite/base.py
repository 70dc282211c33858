"""Django's SQLite backend, with writers queued on a file lock.

Every transaction starts with BEGIN IMMEDIATE (the settings' `transaction_mode`), so one connection writes at
a time. A second writer that finds the database locked is parked by SQLite's busy handler, which sleeps 1, 2,
5, 10 … ms between tries: under load (two gunicorn workers submitting cases) the writer often sleeps long
after the lock is free, and the second worker added nothing to the first one's throughput. Here each writer
first takes an exclusive `flock` on `<database>-writer.lock`, polled every 0.2 ms, and holds it until its
commit or rollback, so the next writer starts as soon as the previous one ends.

The file lock only orders writers: SQLite's own locking still guarantees correctness (writes outside a
transaction do not take the file lock; a writer that cannot get the file lock within the database timeout goes
on to BEGIN IMMEDIATE and SQLite's busy handler). In-memory databases (tests) have no file lock.
"""

from __future__ import annotations

import fcntl
import os
import time
from typing import Any

from django.db.backends.sqlite3 import base

POLL_SECONDS = 0.0002


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._writer_fd: int | None = None
        self._writer_held = False

    def _acquire_writer(self) -> None:
        if self._writer_held or self.is_in_memory_db():
            return
        if self._writer_fd is None:
            path = f"{self.settings_dict['NAME']}-writer.lock"
            self._writer_fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        give_up = time.monotonic() + float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
        while True:
            try:
                fcntl.flock(self._writer_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() > give_up:
                    return  # leave it to SQLite's busy handler (and its "database is locked")
                time.sleep(POLL_SECONDS)
            else:
                self._writer_held = True
                return

    def _release_writer(self) -> None:
        if self._writer_held and self._writer_fd is not None:
            fcntl.flock(self._writer_fd, fcntl.LOCK_UN)
        self._writer_held = False

    def _start_transaction_under_autocommit(self) -> None:
        self._acquire_writer()
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self._release_writer()
            raise

    def _commit(self) -> None:
        try:
            super()._commit()  # type: ignore[misc]
        finally:
            self._release_writer()

    def _rollback(self) -> None:
        try:
            super()._rollback()  # type: ignore[misc]
        finally:
            self._release_writer()

    def _close(self) -> None:
        try:
            super()._close()  # type: ignore[misc]
        finally:
            self._release_writer()
            if self._writer_fd is not None:
                os.close(self._writer_fd)
                self._writer_fd = None
