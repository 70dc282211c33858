"""Row scope by org-tree path.

Every scoped row carries `org_path`, a copy of its org unit's materialized path, so "what may this user see"
is
one indexed prefix match: `org_path LIKE '<unit path>%'` for each unit the user is attached to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from django.db import connections, models
from django.db.models import Q

if TYPE_CHECKING:
    from jiedao.core.models.users import User


class ScopeQuerySetMixin:
    """Adds `visible_to(user, action)`; `scope_field` names the column holding the org path."""

    scope_field = "org_path"

    def visible_to(self, user: Any, action: str = "view") -> Self:
        from jiedao.core.permissions import scope_paths

        qs: Any = self
        paths = scope_paths(user, action, qs.model)
        if paths is None:  # unrestricted (superuser)
            return qs.all()
        if not paths:
            return qs.none()
        condition = Q()
        for path in paths:
            condition |= under_path(self.scope_field, path, qs.db)
        return qs.filter(condition)


def under_path(field: str, path: str, using: str = "default") -> Q:
    """Rows whose `field` lies in the subtree at `path` (the path itself included), as an index-friendly test.

    PostgreSQL answers `startswith` (LIKE 'p%') from the varchar_pattern_ops index Django adds to indexed
    CharFields. SQLite's LIKE is case-insensitive and cannot use the index, so there the same set is asked as
    a range in byte order: every string starting with p, and only those, lies in [p, p with its last
    character incremented). Paths are made of 0-9 and A-Z, so the incremented character never needs a carry.
    """
    if connections[using].vendor == "sqlite":
        upper = path[:-1] + chr(ord(path[-1]) + 1)
        return Q(**{f"{field}__gte": path, f"{field}__lt": upper})
    return Q(**{f"{field}__startswith": path})


class ScopedQuerySet(ScopeQuerySetMixin, models.QuerySet):
    pass


class ScopedModel(models.Model):
    """A row that belongs to one org unit; `org_path` is kept equal to that unit's path."""

    org_unit = models.ForeignKey(
        "core.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="组织单元"
    )
    org_path = models.CharField("组织路径", max_length=255, db_index=True, editable=False)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.org_path = self.org_unit.path
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "org_unit" in update_fields:
            kwargs["update_fields"] = {*update_fields, "org_path"}
        super().save(*args, **kwargs)

    @property
    def scope_path(self) -> str:
        return self.org_path


def scoped_models() -> list[type[models.Model]]:
    """Every concrete model whose rows carry a copied org path (kept in step when units move)."""
    from django.apps import apps

    return [m for m in apps.get_models() if issubclass(m, ScopedModel) and not m._meta.abstract]


def user_type_hint() -> type[User]:  # pragma: no cover - typing helper only
    from jiedao.core.models.users import User

    return User
