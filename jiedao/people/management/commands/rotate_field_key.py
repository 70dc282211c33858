"""python manage.py rotate_field_key: re-encrypt personal data under the current JIEDAO_FIELD_KEY."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from jiedao.people.rekey import BATCH, rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt identity numbers and phones still under a key listed in JIEDAO_FIELD_OLD_KEYS with the "
        "current JIEDAO_FIELD_KEY, and recompute their blind indexes. Safe to stop and run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=BATCH, help="rows per transaction")

    def handle(self, *args: Any, **options: Any) -> None:
        counts = rotate(
            batch=options["batch"],
            progress=lambda name, done: (
                self.stdout.write(f"  {name}: {done}") if options["verbosity"] > 1 else None
            ),
        )
        for name, done in counts.items():
            self.stdout.write(f"{name}: {done} re-encrypted")
        self.stdout.write(self.style.SUCCESS("done" if any(counts.values()) else "nothing to re-encrypt"))
