"""Appending to the audit chain. Every module records its actions through `record_event`."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone

from jiedao.audit.models import AuditEvent, ChainHead

GENESIS = "0" * 64


def _canonical(event: AuditEvent) -> bytes:
    payload = {
        "seq": event.seq,
        "created_at": event.created_at.isoformat(),
        "actor": event.actor_id,
        "actor_repr": event.actor_repr,
        "kind": event.kind,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_repr": event.object_repr,
        "org_path": event.org_path,
        "ip": event.ip_address,
        "data": event.data,
        "prev": event.prev_hash,
    }
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def compute_hash(event: AuditEvent) -> str:
    return hashlib.sha256(_canonical(event)).hexdigest()


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def _normalise(data: dict[str, Any] | None) -> dict[str, Any]:
    # Round-trip through JSON so what is hashed is exactly what the database gives back later.
    return json.loads(json.dumps(data or {}, ensure_ascii=False, default=str))


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
    concurrent writers (several processes) append one after another."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    if org_path is None:
        org_path = getattr(obj, "scope_path", "") if obj is not None else ""
    with transaction.atomic():
        head, _ = ChainHead.objects.get_or_create(id=1)
        head = ChainHead.objects.select_for_update().get(id=1)
        event = AuditEvent(
            seq=head.seq + 1,
            created_at=timezone.now(),
            actor=actor,
            actor_repr=(actor.get_username() if actor is not None else "")[:150],
            kind=kind,
            object_type=obj._meta.label_lower if obj is not None else "",
            object_id=str(obj.pk) if obj is not None else "",
            object_repr=(object_repr if object_repr is not None else (str(obj) if obj is not None else ""))[:200],
            org_path=org_path or "",
            ip_address=client_ip(request),
            data=_normalise(data),
            prev_hash=head.hash,
        )
        event.hash = compute_hash(event)
        event.save()
        ChainHead.objects.filter(id=1).update(seq=event.seq, hash=event.hash)
    return event
