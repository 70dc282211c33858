"""The hash chain: appends link up, `audit_verify` passes an intact chain and names the first broken row."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from jiedao.audit.kinds import is_registered, kind_choices, label_for, register_kinds
from jiedao.audit.models import AuditEvent, ChainHead
from jiedao.audit.services import (
    GENESIS,
    HASHED_COLUMNS,
    Problem,
    compute_hash,
    hash_frame,
    hash_values,
    hash_verifies,
    record_event,
    verify_chain,
)
from tests.world import World


def _append(world: World, n: int) -> list[AuditEvent]:
    return [
        record_event(
            "org.change", actor=world["leader"], obj=world.community_a, data={"n": i, "名称": "社区"}
        )
        for i in range(n)
    ]


def _run_verify() -> str:
    out = StringIO()
    call_command("audit_verify", stdout=out)
    return out.getvalue()


def _broken_message() -> str:
    with pytest.raises(CommandError) as excinfo:
        _run_verify()
    assert excinfo.value.returncode == 1
    return str(excinfo.value)


def test_events_link_into_a_chain(world: World) -> None:
    first_seq = ChainHead.objects.get_or_create(id=1)[0].seq
    events = _append(world, 3)
    assert [e.seq for e in events] == [first_seq + 1, first_seq + 2, first_seq + 3]
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    head = ChainHead.objects.get(id=1)
    assert (head.seq, head.hash) == (events[-1].seq, events[-1].hash)
    assert events[0].org_path == world.community_a.path
    assert events[0].object_type == "core.orgunit"
    assert events[0].object_id == str(world.community_a.pk)


def test_hash_frame_gives_the_same_hash(world: World) -> None:
    """PostgreSQL appends in one statement, hashing the frame around the head's values on the server; the
    same bytes must come out as `hash_values` (here in Python, with names and data in Chinese)."""
    event = record_event(
        "privacy.reveal", actor=world["leader"], obj=world.grid_a, data={"字段": ["身份证", 1.5]}
    )
    values = {c: getattr(event, c) for c in HASHED_COLUMNS if c != "actor"} | {"actor": event.actor_id}
    prefix, middle, suffix = hash_frame(values)
    framed = f"{prefix}{event.prev_hash}{middle}{event.seq}{suffix}"
    assert hashlib.sha256(framed.encode()).hexdigest() == hash_values(values) == event.hash
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.seq, stored.prev_hash, stored.hash) == (event.seq, event.prev_hash, event.hash)
    assert hash_verifies(stored)


def test_hash_verifies_after_reading_back(world: World) -> None:
    event = record_event(
        "privacy.reveal",
        actor=world["leader"],
        obj=world.grid_a,
        data={"field": "id_number", "nested": [1, 2.5]},
    )
    assert hash_verifies(AuditEvent.objects.get(pk=event.pk))


def test_verify_passes_an_intact_chain(world: World) -> None:
    _append(world, 5)
    total = AuditEvent.objects.count()
    output = _run_verify()
    assert f"OK: {total} events, chain intact" in output


def test_verify_walks_in_small_chunks(world: World) -> None:
    _append(world, 7)
    result = verify_chain(chunk_size=2)
    assert result.ok
    assert result.count == AuditEvent.objects.count()


def test_empty_chain_is_intact(db: None) -> None:
    AuditEvent.objects.all().delete()
    ChainHead.objects.all().delete()
    assert verify_chain().ok
    assert verify_chain().count == 0


def test_altered_row_is_named(world: World) -> None:
    events = _append(world, 5)
    victim = events[2]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET data = %s WHERE id = %s", ['{"n": 99}', victim.pk])
    message = _broken_message()
    assert f"seq={victim.seq} id={victim.pk}" in message
    assert "hash mismatch" in message
    assert "第一个损坏的记录" in message
    assert not hash_verifies(AuditEvent.objects.get(pk=victim.pk))


def test_rehashed_row_breaks_the_link_to_the_next(world: World) -> None:
    """Someone who alters a row and recomputes its hash still breaks the next row's prev_hash."""
    events = _append(world, 4)
    victim = AuditEvent.objects.get(pk=events[1].pk)
    victim.data = {"n": 42}
    forged = compute_hash(victim)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET data = %s, hash = %s WHERE id = %s", ['{"n": 42}', forged, victim.pk]
        )
    result = verify_chain()
    assert not result.ok
    assert (result.problem, result.seq) == (Problem.PREV_HASH_MISMATCH, events[2].seq)


def test_deleted_middle_row_is_named_as_a_gap(world: World) -> None:
    events = _append(world, 5)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[2].pk])
    message = _broken_message()
    assert f"missing seq {events[2].seq}" in message
    assert f"seq={events[3].seq} id={events[3].pk}" in message


def test_deleted_last_row_is_caught_by_the_head(world: World) -> None:
    events = _append(world, 3)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[-1].pk])
    result = verify_chain()
    assert not result.ok
    assert result.problem == Problem.MISSING_SEQ
    assert result.missing_seq == events[-1].seq


def test_forged_head_is_caught(world: World) -> None:
    _append(world, 2)
    ChainHead.objects.filter(id=1).update(hash=GENESIS)
    result = verify_chain()
    assert not result.ok
    assert result.problem == Problem.HEAD_MISMATCH


def test_kinds_registry_labels_and_refuses_duplicates() -> None:
    assert label_for("auth.login") == "登录"
    assert label_for("privacy.reveal") == "查看个人信息"
    assert label_for("nobody.registered.this") == "nobody.registered.this"
    assert is_registered("deadline.fired")
    assert ("export", "导出 (export)") in kind_choices()
    with pytest.raises(ValueError, match="declared twice"):
        register_kinds({"auth.login": "again"})
    with pytest.raises(ValueError, match="invalid"):
        register_kinds({" padded ": "x"})
