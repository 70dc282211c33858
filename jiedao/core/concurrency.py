"""Optimistic concurrency, one rule for every module.

Each editable record carries a `version`; a form or API call sends the version the person saw. If the record
has moved on since, the change is refused with `ConflictError` (naming what to do), unless it is the same step
the same person took a moment ago (a double click, a retried request): that is reported as done, not as a
conflict. `lock_versioned` applies the rule under a row lock; modules whose records have no step log test
`recent_cutoff()` against their own columns.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

#: How long the same step by the same person counts as a repeat of the first submit.
DOUBLE_SUBMIT_SECONDS = 30

M = TypeVar("M", bound=models.Model)


class ConflictError(ValidationError):
    """Someone else saved the record since this user opened it."""


def recent_cutoff(now: datetime | None = None) -> datetime:
    """Steps taken after this moment may be repeats of the one being submitted."""
    return (now or timezone.now()) - timedelta(seconds=DOUBLE_SUBMIT_SECONDS)


def is_repeat(last_step: Any, action: str, actor: Any, seen: int, current: int) -> bool:
    """Is the record one version past the one this person saw because this person just took this step?"""
    return (
        last_step is not None
        and last_step.action == action
        and last_step.actor_id == getattr(actor, "pk", None)
        and last_step.created_at >= recent_cutoff()
        and current == seen + 1
    )


def lock_versioned(
    queryset: models.QuerySet[M],
    pk: Any,
    version: int | None,
    actor: Any,
    action: str,
    *,
    last_step: Callable[[M], Any],
    conflict: Callable[[M], str],
) -> tuple[M, bool]:
    """Lock the row (only its own table's: PostgreSQL refuses FOR UPDATE on the nullable side of an outer
    join) and compare versions. Returns (current, already_done); a real conflict raises `ConflictError` with
    the message `conflict(current)` gives. `version=None` skips the comparison (callers that hold no form)."""
    current = queryset.select_for_update(of=("self",)).get(pk=pk)
    if version is None or current.version == version:  # type: ignore[attr-defined]
        return current, False
    if is_repeat(last_step(current), action, actor, version, current.version):  # type: ignore[attr-defined]
        return current, True
    raise ConflictError(conflict(current))
