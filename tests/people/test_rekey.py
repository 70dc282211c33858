"""Key rotation: values under the old key still read, the command re-encrypts them and their blind
indexes under the new key, and a second run finds nothing to do."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings

from jiedao.audit.models import AuditEvent
from jiedao.core.privacy import _keys, decrypt, needs_new_key
from jiedao.people.models import ID_CONTEXT, PHONE_CONTEXT, Resident
from jiedao.people.personal import id_lookup, phone_lookup
from tests.people.helpers import id_number, resident
from tests.world import World

pytestmark = pytest.mark.django_db


def test_rotation_reencrypts_and_reindexes(world: World) -> None:
    from django.conf import settings as live

    old_key = live.FIELD_KEY
    number = id_number(date(1955, 5, 5), 9)
    made = resident(world["comm_a"], world.grid_a, id_number=number, phone="13700001111")
    with override_settings(
        FIELD_KEY="a-brand-new-field-key-for-this-test-0123456789", FIELD_OLD_KEYS=[old_key]
    ):
        _keys.cache_clear()
        stored = Resident.objects.get(pk=made.pk)
        assert needs_new_key(stored.id_token) and decrypt(stored.id_token, ID_CONTEXT) == number
        assert stored.id_index != id_lookup(number)  # the index is under the old key until rotated
        out = StringIO()
        call_command("rotate_field_key", stdout=out)
        assert "people.Resident.id_token: 1 re-encrypted" in out.getvalue()
        stored.refresh_from_db()
        assert not needs_new_key(stored.id_token) and not needs_new_key(stored.phone_token)
        assert decrypt(stored.phone_token, PHONE_CONTEXT) == "13700001111"
        assert stored.id_index == id_lookup(number) and stored.phone_index == phone_lookup("13700001111")
        assert AuditEvent.objects.filter(kind="people.rekey").count() == 1
        again = StringIO()
        call_command("rotate_field_key", stdout=again)
        assert "nothing to re-encrypt" in again.getvalue()
    _keys.cache_clear()
