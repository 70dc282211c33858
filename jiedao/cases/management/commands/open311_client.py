"""python manage.py open311_client NAME --unit CODE: register a system that may submit requests through
Open311 for the places under that unit, and print its api_key once (only its SHA-256 hash is stored)."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from jiedao.audit.services import record_event
from jiedao.cases.models import Open311Client
from jiedao.core.models import OrgUnit


class Command(BaseCommand):
    help = "Create an Open311 client for the places under an org unit and print its api_key once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="the client's name, e.g. 12345 hotline system")
        parser.add_argument("--unit", required=True, help="code of the org unit whose places it may report")

    def handle(self, *args: Any, **options: Any) -> None:
        unit = OrgUnit.objects.filter(code=options["unit"], is_active=True).first()
        if unit is None:
            raise CommandError(f"no active org unit with code {options['unit']!r}")
        name = str(options["name"]).strip()
        if not name:
            raise CommandError("the name must not be empty")
        key = secrets.token_urlsafe(32)
        with transaction.atomic():
            client = Open311Client.objects.create(
                name=name[:100],
                key_hash=hashlib.sha256(key.encode()).hexdigest(),
                key_prefix=key[:8],
                org_unit=unit,
            )
            record_event(
                "open311.client_create",
                obj=client,
                org_path=unit.path,  # seen by the area's leaders and auditors
                data={"name": client.name, "unit": unit.code, "key_prefix": client.key_prefix},
            )
        self.stdout.write(f"Open311 client {client.name!r} (id {client.pk}) for {unit.name} ({unit.code})")
        self.stdout.write("api_key (shown once, store it now):")
        self.stdout.write(key)
