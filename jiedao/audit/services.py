"""Appending to the audit chain and checking it. Every module records its actions through `record_event`."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.ipv6 import clean_ipv6_address

from jiedao.audit.models import ROOT_PATH_LENGTH, AuditEvent, ChainHead

GENESIS = "0" * 64

# The columns the hash covers, as `values()` names them; `hash_values` reads exactly these.
HASHED_COLUMNS = (
    "seq",
    "created_at",
    "actor",
    "actor_repr",
    "kind",
    "object_type",
    "object_id",
    "object_repr",
    "org_path",
    "ip_address",
    "data",
    "prev_hash",
)


def hash_values(values: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of one event's hashed columns (a `values()` row or the model's)."""
    return hashlib.sha256(_canonical(_payload(values)).encode()).hexdigest()


def _canonical(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def hash_frame(values: Mapping[str, Any]) -> tuple[str, str, str]:
    """The canonical JSON of an event around its previous hash and sequence number, which only the chain
    head knows: the hash is sha256(prefix + prev_hash + middle + str(seq) + suffix). "prev" and "seq" sort
    after every other key, so they close the JSON object."""
    payload = _payload({**values, "seq": 0, "prev_hash": ""})
    del payload["prev"], payload["seq"]
    assert all(key < "prev" for key in payload)
    return _canonical(payload)[:-1] + ',"prev":"', '","seq":', "}"


def _payload(values: Mapping[str, Any]) -> dict[str, Any]:
    created_at: dt.datetime = values["created_at"]
    return {
        "seq": values["seq"],
        "created_at": created_at.astimezone(dt.UTC).isoformat(),
        "actor": values["actor"],
        "actor_repr": values["actor_repr"],
        "kind": values["kind"],
        "object_type": values["object_type"],
        "object_id": values["object_id"],
        "object_repr": values["object_repr"],
        "org_path": values["org_path"],
        "ip": values["ip_address"],
        "data": values["data"],
        "prev": values["prev_hash"],
    }


def _event_values(event: AuditEvent) -> dict[str, Any]:
    values = {column: getattr(event, column) for column in HASHED_COLUMNS if column != "actor"}
    values["actor"] = event.actor_id
    return values


def compute_hash(event: AuditEvent) -> str:
    return hash_values(_event_values(event))


def hash_verifies(event: AuditEvent) -> bool:
    """Does the stored hash still match the row (as read from the database)?"""
    return compute_hash(event) == event.hash


def client_ip(request: HttpRequest | None) -> str | None:
    """The client address as the database will store it (IPv6 normalised), or None.

    Behind `settings.TRUSTED_PROXIES` reverse proxies (nginx …) the socket peer is the proxy: the client is
    then the address that many hops from the right of X-Forwarded-For (each proxy appends the address it
    saw). With no trusted proxy the header is ignored, since any client can send it."""
    if request is None:
        return None
    address = request.META.get("REMOTE_ADDR") or ""
    hops = getattr(settings, "TRUSTED_PROXIES", 0)
    if hops:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if len(forwarded) >= hops:
            address = forwarded[-hops]
    if not address:
        return None
    if ":" in address:
        try:
            return clean_ipv6_address(address)
        except ValidationError:
            return None
    return address


def _normalise(data: dict[str, Any] | None) -> dict[str, Any]:
    # Round-trip through JSON so what is hashed is exactly what the database gives back later.
    normalised: dict[str, Any] = json.loads(json.dumps(data or {}, ensure_ascii=False, default=str))
    return normalised


def _object_repr(obj: models.Model | None, given: str | None) -> str:
    if given is not None:
        return given[:200]
    return str(obj)[:200] if obj is not None else ""


def record_event(
    kind: str,
    *,
    actor: Any = None,
    obj: models.Model | None = None,
    org_path: str | None = None,
    data: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
    object_repr: str | None = None,
) -> AuditEvent:
    """Append one event to the chain. Runs in (or opens) a transaction; the chain head row is locked so that
    concurrent writers (several processes) append one after another.

    `org_path` defaults to the object's `scope_path` (empty when there is no object: such events are shown
    only to users scoped at the district and to superusers)."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    if org_path is None:
        org_path = getattr(obj, "scope_path", "") if obj is not None else ""
    event = AuditEvent(
        created_at=timezone.now(),
        actor=actor,
        actor_repr=(actor.get_username() if actor is not None else "")[:150],
        kind=kind,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=_object_repr(obj, object_repr),
        org_path=org_path or "",
        ip_address=client_ip(request),
        data=_normalise(data),
    )
    # No savepoint inside the caller's transaction: an event that cannot be written fails the whole action.
    # The event is built before the head is locked, so the lock is held only for the append and the caller's
    # commit.
    with transaction.atomic(savepoint=False):
        if connection.vendor == "postgresql":
            _append_postgresql(event)
            return event
        event.seq, event.prev_hash = _lock_head()
        event.hash = compute_hash(event)
        event.save(force_insert=True)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {_head_table()} SET seq = %s, hash = %s WHERE id = 1", [event.seq, event.hash]
            )
    return event


def _head_table() -> str:
    return connection.ops.quote_name(ChainHead._meta.db_table)


#: The columns of an event known before the append, in the order of `_append_sql`'s parameters.
_APPENDED = tuple(c for c in HASHED_COLUMNS if c not in ("seq", "prev_hash"))


@functools.cache
def _appended_fields() -> list[Any]:
    return [AuditEvent._meta.get_field(name) for name in _APPENDED]


@functools.cache
def _append_sql() -> str:
    """PostgreSQL: lock the head, insert the event with its hash (computed by the server from the frame the
    caller sends, see `hash_frame`) and move the head, in one statement (one round trip where the general
    path takes three, while the head is locked). The parameters are cast, so that they are typed whether
    the driver binds them itself or on the server."""
    qn = connection.ops.quote_name
    fields = _appended_fields()
    columns = ", ".join(qn(f.column) for f in fields)
    # Texts as text: a cast to varchar(n) would cut a long value silently (and break its hash); assigning
    # text to the column refuses it, as the ORM's insert does.
    types = ["text" if isinstance(f, models.CharField) else f.db_type(connection) for f in fields]
    placeholders = ", ".join(f"%s::{t}" for t in types)
    head, event = _head_table(), qn(AuditEvent._meta.db_table)
    return (
        f"WITH head AS (SELECT seq + 1 AS seq, hash AS prev FROM {head} WHERE id = 1 FOR UPDATE),"
        f" appended AS (INSERT INTO {event} (seq, {columns}, prev_hash, hash)"
        f" SELECT head.seq, {placeholders}, head.prev, encode(sha256(convert_to("
        "%s::text || head.prev || %s::text || head.seq::text || %s::text, 'UTF8')), 'hex') FROM head"
        " RETURNING id, seq, prev_hash, hash)"
        f" UPDATE {head} SET seq = appended.seq, hash = appended.hash FROM appended WHERE {head}.id = 1"
        " RETURNING appended.id, appended.seq, appended.prev_hash, appended.hash"
    )


def _append_postgresql(event: AuditEvent) -> None:
    values = [f.get_db_prep_save(getattr(event, f.attname), connection) for f in _appended_fields()]
    frame = hash_frame(_event_values(event))
    with connection.cursor() as cursor:
        cursor.execute(_append_sql(), [*values, *frame])
        row = cursor.fetchone()
    if row is None:  # the first event ever: the head row is made with it
        ChainHead.objects.get_or_create(id=1)
        _append_postgresql(event)
        return
    event.pk, event.seq, event.prev_hash, event.hash = row
    event._state.adding = False
    event._state.db = connection.alias


def _lock_head() -> tuple[int, str]:
    """The next sequence number and the previous hash, with the head row locked until commit (`SELECT … FOR
    UPDATE` on PostgreSQL; SQLite's write transaction already excludes other writers). The head is then
    updated once per event: a row updated twice per event (a thousand times a second under load) leaves
    twice the dead versions for PostgreSQL to prune."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT seq, hash FROM {_head_table()} WHERE id = 1{lock}")
        row = cursor.fetchone()
    if row is None:  # the first event ever: the head row is made with it
        ChainHead.objects.get_or_create(id=1)
        return _lock_head()
    return int(row[0]) + 1, str(row[1])


def has_root_scope(user: Any, action: str) -> bool:
    """Does `user` hold `action` at a root unit (the district), or everywhere (superuser)? Such users see what
    belongs to no unit: events without an org path, records without a scope path."""
    from jiedao.core.permissions import scope_paths

    paths = scope_paths(user, action)
    return paths is None or any(len(path) <= ROOT_PATH_LENGTH for path in paths)


# --- Verification ------------------------------------------------------------------------------------------


class Problem:
    """Why the chain is broken at a row (codes, stable for scripts; the page translates them)."""

    HASH_MISMATCH = "hash mismatch"
    PREV_HASH_MISMATCH = "prev_hash mismatch"
    MISSING_SEQ = "missing seq"
    HEAD_MISMATCH = "chain head mismatch"


@dataclass(frozen=True)
class ChainCheck:
    """The outcome of `verify_chain`: `ok` with `count` events, or the first broken row and why."""

    count: int
    ok: bool = True
    problem: str = ""
    seq: int | None = None
    event_id: int | None = None
    missing_seq: int | None = None

    @property
    def reason(self) -> str:
        if self.problem == Problem.MISSING_SEQ:
            return f"{self.problem} {self.missing_seq}"
        return self.problem

    def message(self) -> str:
        """One line for the console (the web page renders its own translated text)."""
        if self.ok:
            return f"OK: {self.count} events, chain intact"
        ident = f"seq={self.seq} id={self.event_id if self.event_id is not None else '-'}"
        return f"第一个损坏的记录: {ident}, 原因: {self.reason}"


VERIFY_CHUNK = 5000


def verify_chain(chunk_size: int = VERIFY_CHUNK) -> ChainCheck:
    """Walk the whole chain in `seq` order, streaming `values()` rows in chunks (constant memory for millions
    of events), and report the first row that breaks it:

    - a gap in `seq` (a deleted row): ``missing seq N`` at the row that follows the gap;
    - a row whose stored hash no longer matches its contents (an altered row): ``hash mismatch``;
    - a row whose `prev_hash` is not the previous row's hash (a row replaced or re-hashed):
      ``prev_hash mismatch``;
    - a chain head that does not match the last row (rows cut off at the end, or a row appended around
      `record_event`): ``chain head mismatch``.

    Events appended while the walk runs are picked up: the head is re-read at the end and the walk goes on
    until it has caught up with it.
    """
    count = 0
    expected_seq = 1
    prev_hash = GENESIS
    last_seq = 0
    while True:
        rows = (
            AuditEvent.objects.filter(seq__gt=last_seq)
            .order_by("seq")
            .values("id", "hash", *HASHED_COLUMNS)
            .iterator(chunk_size=chunk_size)
        )
        seen_any = False
        for row in rows:
            seen_any = True
            seq: int = row["seq"]
            if seq != expected_seq:
                return ChainCheck(
                    count, False, Problem.MISSING_SEQ, seq=seq, event_id=row["id"], missing_seq=expected_seq
                )
            if hash_values(row) != row["hash"]:
                return ChainCheck(count, False, Problem.HASH_MISMATCH, seq=seq, event_id=row["id"])
            if row["prev_hash"] != prev_hash:
                return ChainCheck(count, False, Problem.PREV_HASH_MISMATCH, seq=seq, event_id=row["id"])
            count += 1
            prev_hash = row["hash"]
            last_seq = seq
            expected_seq = seq + 1
        head = ChainHead.objects.filter(id=1).values("seq", "hash").first() or {"seq": 0, "hash": GENESIS}
        if head["seq"] == last_seq and head["hash"] == prev_hash:
            return ChainCheck(count)
        if head["seq"] > last_seq and seen_any:
            continue  # appended while we walked: go on from where we stopped
        if head["seq"] > last_seq:
            # The head promises rows that are not there: the newest rows were deleted.
            return ChainCheck(count, False, Problem.MISSING_SEQ, seq=head["seq"], missing_seq=last_seq + 1)
        return ChainCheck(count, False, Problem.HEAD_MISMATCH, seq=head["seq"])


def home_path(user_or_username: Any) -> str:
    """Where a person's sign-in events belong: the widest unit they are attached to (their leaders and
    auditors see them there); "" for an unknown username, which only district-wide readers see."""
    from jiedao.core.models import Membership

    memberships = Membership.objects.filter(is_active=True)
    if isinstance(user_or_username, str):
        memberships = memberships.filter(user__username=user_or_username)
    else:
        memberships = memberships.filter(user=user_or_username)
    paths = sorted(memberships.values_list("org_path", flat=True), key=len)
    return paths[0] if paths else ""
