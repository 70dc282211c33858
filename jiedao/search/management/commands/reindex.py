"""`python manage.py reindex [--kind K] [--missing]`: rebuild the search index in bulk.

    python manage.py reindex                 # every kind: every row's entry rewritten, stale entries dropped
    python manage.py reindex --kind case     # one kind
    python manage.py reindex --missing       # only rows without an entry (after a bulk_create)

Rows are read in chunks and written with one statement per chunk, in one transaction per run.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jiedao.search import index
from jiedao.search.registry import kinds


class Command(BaseCommand):
    help = "Rebuild the search index (all kinds, or one with --kind)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", choices=kinds(), help="Only this kind.")
        parser.add_argument("--missing", action="store_true", help="Only rows that have no entry yet.")

    def handle(self, *args: Any, **options: Any) -> None:
        kind: str | None = options["kind"]
        started = time.perf_counter()
        last_report = [started]

        def progress(name: str, count: int) -> None:
            now = time.perf_counter()
            if options["verbosity"] >= 2 or now - last_report[0] >= 10:
                last_report[0] = now
                self.stdout.write(f"  {name}: {count:,}")

        try:
            written = index.rebuild(kind, only_missing=options["missing"], progress=progress)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        for name, count in written.items():
            self.stdout.write(f"{name}: {count:,}")
        self.stdout.write(
            f"reindexed {sum(written.values()):,} entries in {time.perf_counter() - started:.1f} s"
        )
