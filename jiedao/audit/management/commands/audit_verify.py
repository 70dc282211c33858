"""`manage.py audit_verify`: check the whole audit chain; exit 1 at the first broken row."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jiedao.audit.services import VERIFY_CHUNK, verify_chain


class Command(BaseCommand):
    help = "Recompute every audit event's hash in sequence order and check the chain; exit 1 if broken."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--chunk-size", type=int, default=VERIFY_CHUNK, help="rows fetched from the database at a time"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1")
        result = verify_chain(chunk_size=options["chunk_size"])
        if not result.ok:
            raise CommandError(result.message(), returncode=1)
        self.stdout.write(self.style.SUCCESS(result.message()))
