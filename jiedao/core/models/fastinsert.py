"""`FastInsertModel`: a model whose `save()` of a new row runs one INSERT statement built once per model.

`Model.save()` of a new row hands the row to Django's query compiler, which builds the INSERT's text again on
every call: it quotes each column, asks each field for its placeholder and each value whether it is an
expression. For the rows written on every portal submission (the case, its first step, its audit event) that
is about 0.1–0.2 ms of CPU each, more than the database needs to insert them. Here the statement is built once
per (model, database, columns, returned columns) and each save only computes the values the compiler would
have: `field.pre_save(obj, add=True)` then `field.get_db_prep_save(value, connection)`.

Everything else about `save()` stays Django's: the pre/post-save signals (history rows, the search index),
`update_fields`, updates of existing rows, the primary key set from `RETURNING`. The compiler's own path is
taken whenever this shortcut would differ from it: a value that is an expression (`Now()`, a database
default), a field with its own placeholder (geometry), a returned column with a converter, a raw save, or a
database that cannot return columns from an INSERT.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections, models


class _Plan:
    __slots__ = ("returning_params", "sql")

    def __init__(self, sql: str, returning_params: Any) -> None:
        self.sql = sql
        self.returning_params = returning_params


_PLANS: dict[tuple[Any, ...], _Plan | None] = {}


def _plan(
    model: type[models.Model], using: str, fields: Sequence[Any], returning_fields: Sequence[Any]
) -> _Plan | None:
    key = (model, using, tuple(f.attname for f in fields), tuple(f.attname for f in returning_fields or ()))
    if key not in _PLANS:
        _PLANS[key] = _build_plan(model, using, fields, returning_fields)
    return _PLANS[key]


def _build_plan(
    model: type[models.Model], using: str, fields: Sequence[Any], returning_fields: Sequence[Any]
) -> _Plan | None:
    connection = connections[using]
    if not fields or any(getattr(f, "get_placeholder", None) is not None for f in fields):
        return None
    ops = connection.ops
    qn = ops.quote_name
    table = model._meta.db_table
    sql = (
        f"{ops.insert_statement(on_conflict=None)} {qn(table)} ({', '.join(qn(f.column) for f in fields)})"
        f" VALUES ({', '.join(['%s'] * len(fields))})"
    )
    returning_params: Any = ()
    if returning_fields:
        if not connection.features.can_return_columns_from_insert:
            return None
        for field in returning_fields:
            column = field.get_col(table)
            if ops.get_db_converters(column) or column.get_db_converters(connection):
                return None  # a value the compiler would convert: its path
        returning_sql, returning_params = ops.return_insert_columns(returning_fields)  # type: ignore[attr-defined]
        if returning_sql:
            sql = f"{sql} {returning_sql}"
    return _Plan(sql, returning_params)


class FastInsertModel(models.Model):
    class Meta:
        abstract = True

    def _do_insert(
        self,
        manager: Any,
        using: str,
        fields: Sequence[Any],
        returning_fields: Sequence[Any],
        raw: bool,
    ) -> Any:
        plan = None if raw else _plan(type(self), using, fields, returning_fields)
        if plan is None:
            return super()._do_insert(manager, using, fields, returning_fields, raw)  # type: ignore[misc]
        connection = connections[using]
        params: list[Any] = []
        for field in fields:
            value = field.pre_save(self, True)
            if hasattr(value, "resolve_expression"):  # Now(), a database default …: the compiler's path
                return super()._do_insert(manager, using, fields, returning_fields, raw)  # type: ignore[misc]
            params.append(field.get_db_prep_save(value, connection=connection))
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, params)
            if not returning_fields:
                return []
            return [connection.ops.fetch_returned_insert_columns(cursor, plan.returning_params)]  # type: ignore[attr-defined]
