"""The one place that decides "may this user do this to this object".

Roles grant actions; a membership grants its role's actions on the subtree of its org unit.
`can(user, action, obj)` answers for one object, `scope_paths(user, action)` gives the subtree roots that
`visible_to` filters by, so pages,
API, exports, search and counts all ask the same question. Later modules add their actions with `register()`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied

from jiedao.core.models.users import Role

R = Role
STAFF_READERS = frozenset(
    {
        R.DISTRICT_STAFF,
        R.LEADER,
        R.DEPARTMENT_STAFF,
        R.COMMUNITY_STAFF,
        R.GRID_WORKER,
        R.AUDITOR,
        R.ADMINISTRATOR,
    }
)
EVERYONE = STAFF_READERS | {R.VOLUNTEER}

_ACTIONS: dict[str, frozenset[str]] = {}


def register(actions: dict[str, Iterable[str]]) -> None:
    """Declare actions and the roles that hold them (each module calls this once, at import)."""
    for action, roles in actions.items():
        if action in _ACTIONS:
            raise ValueError(f"action {action!r} is declared twice")
        _ACTIONS[action] = frozenset(str(r) for r in roles)


register(
    {
        # Org tree
        "org.view": EVERYONE,
        "org.create": {R.ADMINISTRATOR},
        "org.change": {R.ADMINISTRATOR, R.LEADER},
        "org.move": {R.ADMINISTRATOR},
        "department.view": EVERYONE,
        "department.change": {R.ADMINISTRATOR},
        "contact.change": {R.ADMINISTRATOR, R.LEADER},
        # People who work here
        "user.view": STAFF_READERS,
        "membership.view": STAFF_READERS,
        "membership.change": {R.ADMINISTRATOR},
        # Audit trail and record history
        "audit.view": {R.LEADER, R.AUDITOR, R.ADMINISTRATOR},
        "history.view": {R.LEADER, R.AUDITOR, R.ADMINISTRATOR},
        # Work calendar and reminders
        "calendar.view": EVERYONE,
        "calendar.change": {R.ADMINISTRATOR},
        "reminder.view": STAFF_READERS,
        "reminder.create": STAFF_READERS - {R.AUDITOR},
    }
)


def known_actions() -> frozenset[str]:
    return frozenset(_ACTIONS)


def roles_for(action: str) -> frozenset[str]:
    try:
        return _ACTIONS[action]
    except KeyError:
        raise ValueError(
            f"unknown action {action!r}; declare it with jiedao.core.permissions.register"
        ) from None


def _memberships(user: Any) -> list[tuple[str, str, int | None]]:
    """(role, unit path, department id) of the user's active memberships, cached on the user object."""
    cached = getattr(user, "_jiedao_memberships", None)
    if cached is None:
        from jiedao.core.models.users import Membership

        cached = list(
            Membership.objects.filter(user=user, is_active=True, org_unit__is_active=True).values_list(
                "role", "org_path", "department_id"
            )
        )
        user._jiedao_memberships = cached
    return cached


def forget(user: Any) -> None:
    """Drop the cached memberships (after they change)."""
    if hasattr(user, "_jiedao_memberships"):
        del user._jiedao_memberships


def _minimal(paths: Iterable[str]) -> list[str]:
    """Drop paths that lie inside another path of the set: one prefix condition per disjoint subtree."""
    result: list[str] = []
    for path in sorted(set(paths)):
        if not result or not path.startswith(result[-1]):
            result.append(path)
    return result


def is_unrestricted(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.is_superuser)


def scope_paths(user: Any, action: str = "view", model: type | None = None) -> list[str] | None:
    """Subtree roots on which `user` holds `action`; None means unrestricted, [] means nothing.

    `action` may be a short verb ("view") combined with the model's scope label, or a full "module.verb" name.
    """
    full_action = _qualify(action, model)
    roles = roles_for(full_action)
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    if user.is_superuser:
        return None
    return _minimal(path for role, path, _dept in _memberships(user) if role in roles)


def _qualify(action: str, model: type | None) -> str:
    if "." in action:
        return action
    label = getattr(model, "scope_label", None) if model is not None else None
    if label is None and model is not None:
        label = model.__name__.lower()
    if label is None:
        raise ValueError(f"action {action!r} needs a model or a full name")
    return f"{label}.{action}"


def object_path(obj: Any) -> str:
    path = getattr(obj, "scope_path", None)
    if not isinstance(path, str):
        raise TypeError(f"{type(obj).__name__} has no scope_path; it cannot be checked by scope")
    return path


def can(user: Any, action: str, obj: Any = None) -> bool:
    """May `user` do `action` (a full "module.verb" name) to `obj` (or anywhere at all, when obj is None)?"""
    roles = roles_for(action)
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    granted = [path for role, path, _dept in _memberships(user) if role in roles]
    if obj is None:
        return bool(granted)
    target = object_path(obj)
    return any(target.startswith(path) for path in granted)


def require(user: Any, action: str, obj: Any = None) -> None:
    """Raise PermissionDenied unless `can(user, action, obj)`; the audit middleware logs the refusal."""
    if not can(user, action, obj):
        raise PermissionDenied(action)


def roles_of(user: Any) -> set[str]:
    if not getattr(user, "is_authenticated", False):
        return set()
    return {role for role, _path, _dept in _memberships(user)}


def departments_of(user: Any) -> set[int]:
    if not getattr(user, "is_authenticated", False):
        return set()
    return {dept for _role, _path, dept in _memberships(user) if dept is not None}
