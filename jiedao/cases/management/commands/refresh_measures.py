"""python manage.py refresh_measures [--months 13] [--since YYYY-MM]: recompute the 三率 rollup of the
last months (the current one included) from the cases, e.g. after a bulk load; prints each month's rows
and time."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jiedao.cases import measures, rollup


class Command(BaseCommand):
    help = "Recompute the monthly 三率 rollup (MonthlyFigure) of the last months from the cases."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--months",
            type=int,
            default=rollup.NIGHTLY_MONTHS,
            help="how many months, the current one included",
        )
        parser.add_argument(
            "--since", help="first month YYYY-MM instead of --months (e.g. after a bulk load)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        last = measures.current_month()
        if options.get("since"):
            first = measures.parse_month(options["since"])
            if first is None or first > last:
                raise CommandError(f"--since must be a month YYYY-MM not after {last:%Y-%m}")
        else:
            if options["months"] < 1:
                raise CommandError("--months must be at least 1")
            first = measures.add_months(last, -(options["months"] - 1))
        started = time.perf_counter()
        results = measures.refresh_months(first, last)
        for result in results:
            self.stdout.write(f"{result.month:%Y-%m}  {len(result.rows):6d} rows  {result.seconds:7.2f} s")
        self.stdout.write(f"{len(results)} months in {time.perf_counter() - started:.2f} s")
        rollup.ensure_refresh_scheduled()
