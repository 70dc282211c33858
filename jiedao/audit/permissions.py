"""Actions the audit app adds to the core permission table ("audit.view" and "history.view" are core's)."""

from __future__ import annotations

from jiedao.core.models.users import Role
from jiedao.core.permissions import register

register(
    {
        # Re-walking the whole chain is heavy and about the system, not about a unit's work.
        "audit.verify": {Role.AUDITOR, Role.ADMINISTRATOR},
    }
)
