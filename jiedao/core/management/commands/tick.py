"""`python manage.py tick`: one pass of the deadline engine (`--loop` to keep running).

    python manage.py tick                      # one pass, prints "claimed 3, done 3, failed 0, …"
    python manage.py tick --loop --interval 60 # a simple long-running worker (stop with Ctrl-C or SIGTERM)

Any number of these may run next to each other and next to `db_worker` (see `jiedao.core.tasks`).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections

from jiedao.core.deadlines import run_due


class Command(BaseCommand):
    help = "Run due deadlines and reminders once (or repeatedly with --loop)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="Repeat until stopped.")
        parser.add_argument("--interval", type=float, default=60.0, help="Seconds between passes.")
        parser.add_argument("--limit", type=int, default=500, help="Rows per model per pass.")

    def handle(self, *args: Any, **options: Any) -> None:
        interval: float = options["interval"]
        limit: int = options["limit"]
        if interval <= 0:
            raise CommandError("--interval must be positive")
        if limit < 1:
            raise CommandError("--limit must be at least 1")
        if not options["loop"]:
            self.stdout.write(str(run_due(limit=limit)))
            return
        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        try:
            while not stop.is_set():
                close_old_connections()
                try:
                    report = run_due(limit=limit)
                except Exception as exc:  # keep the loop alive; the next pass retries
                    self.stderr.write(f"tick failed: {type(exc).__name__}: {exc}")
                else:
                    if report.claimed or report.lost:
                        self.stdout.write(str(report))
                stop.wait(interval)
        except KeyboardInterrupt:
            pass
        finally:
            close_old_connections()
