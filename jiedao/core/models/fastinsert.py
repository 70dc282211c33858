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

On PostgreSQL, a model with history has its history row written by the same statement (`core.history`'s
`copy_on_insert`): `WITH saved AS (INSERT … RETURNING *) INSERT INTO <history> … SELECT … FROM saved`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections, models

from jiedao.core.history import COPIED, copy_on_insert


class _Plan:
    __slots__ = ("insert", "returning", "returning_params", "sql", "with_cte")

    def __init__(
        self,
        insert: str,
        returning_sql: str,
        returning_params: Any,
        returning: tuple[str, ...],
        with_cte: bool,
    ) -> None:
        self.insert = insert  # without RETURNING
        self.sql = f"{insert} {returning_sql}" if returning_sql else insert
        self.returning_params = returning_params
        self.returning = returning  # the returned columns
        self.with_cte = with_cte  # the database takes `WITH saved AS (INSERT …) INSERT …` (the history copy)


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
    insert = (
        f"{ops.insert_statement(on_conflict=None)} {qn(table)} ({', '.join(qn(f.column) for f in fields)})"
        f" VALUES ({', '.join(['%s'] * len(fields))})"
    )
    returning_sql, returning_params = "", ()
    if returning_fields:
        if not connection.features.can_return_columns_from_insert:
            return None
        for field in returning_fields:
            column = field.get_col(table)
            if ops.get_db_converters(column) or column.get_db_converters(connection):
                return None  # a value the compiler would convert: its path
        returning_sql, returning_params = ops.return_insert_columns(returning_fields)  # type: ignore[attr-defined]
    returning = tuple(str(f.column) for f in returning_fields or ())
    return _Plan(insert, returning_sql or "", returning_params, returning, connection.vendor == "postgresql")


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
        sql = plan.sql
        copy = copy_on_insert(self, using, plan.returning) if plan.with_cte else None
        if copy is not None:  # the history row in the same statement (see core.history)
            sql = f"WITH saved AS ({plan.insert} RETURNING *) {copy[0]}"
            params += copy[1]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            if copy is not None:
                self.__dict__[COPIED] = "+"
            if not returning_fields:
                return []
            return [connection.ops.fetch_returned_insert_columns(cursor, plan.returning_params)]  # type: ignore[attr-defined]
