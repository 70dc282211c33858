"""django-simple-history's HistoricalRecords, with the history manager's class built once and the history row
copied from the saved row by the database.

- Each `instance.history` (which simple-history reads on every save to write the history row) built a new
  manager class with `Manager.from_queryset`, inspecting every queryset method: about 0.15 ms per save.
- simple-history writes a history row by building a historical model instance from the saved instance's
  attributes and saving it through the ORM: for a case (55 columns) about 0.6 ms of CPU per save, the largest
  part of a portal submission's. After an insert or update the row is already in the database, so here one
  `INSERT INTO <history> (…) SELECT … FROM <table> WHERE pk = %s` (built once per model) copies it, adding
  the date, type, user and reason simple-history would have set. The copy is what the database holds after the
  save: the same values, also for deferred fields (which simple-history would have loaded one query each) and
  fields saved as expressions. Deletions, models with many-to-many history, custom history ids or users, extra
  history fields and any listener of simple-history's create signals take simple-history's own path.
- On PostgreSQL a new row of a `FastInsertModel` (see `core.models.fastinsert`) goes further: its INSERT and
  the history row's copy are one statement (`WITH saved AS (INSERT … RETURNING *) INSERT INTO <history> …
  SELECT … FROM saved`), one round trip and no look-up of the row just written; `copy_on_insert` gives the
  second half, and the post-save signal then finds the history row written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import connections, models, router
from django.utils import timezone
from simple_history import models as simple_history_models
from simple_history.manager import HistoryManager
from simple_history.signals import post_create_historical_record, pre_create_historical_record

_BUILT: dict[tuple[Any, ...], Any] = {}
#: The HistoricalRecords of each model with history (for `copy_on_insert`).
_RECORDS: dict[type[models.Model], HistoricalRecords] = {}
#: Set on an instance whose history row its own INSERT wrote (the history type): post_save skips it once.
COPIED = "_history_copied_by_insert"


class _Copy(NamedTuple):
    """How a model's rows are copied into its history: `head` is `INSERT INTO <history> (…) SELECT …` (the
    row's `columns`, then the date, type, user and reason as parameters), `by_pk` adds `FROM <table> WHERE
    pk = %s`; an INSERT's own copy adds `FROM saved` (copy_on_insert)."""

    head: str
    columns: frozenset[str]
    by_pk: str


class BuiltOnceHistoryManager(HistoryManager):
    @classmethod
    def from_queryset(cls, queryset_class: Any, class_name: str | None = None) -> Any:
        key = (cls, queryset_class, class_name)
        built = _BUILT.get(key)
        if built is None:
            built = _BUILT[key] = super().from_queryset(queryset_class, class_name)
        return built


class HistoricalRecords(simple_history_models.HistoricalRecords):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("history_manager", BuiltOnceHistoryManager)
        super().__init__(*args, **kwargs)
        self._copies: dict[type[models.Model], _Copy | None] = {}

    def finalize(self, sender: Any, **kwargs: Any) -> None:
        super().finalize(sender, **kwargs)
        if self.cls is sender or (self.inherit and issubclass(sender, self.cls)):
            _RECORDS[sender] = self

    def create_historical_record(self, instance: Any, history_type: str, using: str | None = None) -> None:
        if instance.__dict__.pop(COPIED, None) == history_type:
            return  # the row's own INSERT wrote it (copy_on_insert)
        history_model = getattr(instance, self.manager_name).model
        copy = self._copy_statement(type(instance), history_model) if history_type in ("+", "~") else None
        if copy is None or instance.pk is None or self._has_listeners(history_model):
            super().create_historical_record(instance, history_type, using)
            return
        connection = connections[self._alias(instance, history_model, using)]
        params = [
            *self._history_params(instance, history_type, history_model, using, connection),
            type(instance)._meta.pk.get_db_prep_value(instance.pk, connection),
        ]
        with connection.cursor() as cursor:
            cursor.execute(copy.by_pk, params)
            copied = cursor.rowcount
        if copied != 1:  # not in this database after all (another alias, a raw save): the ORM's way
            super().create_historical_record(instance, history_type, using)

    def _alias(self, instance: Any, history_model: type[models.Model], using: str | None) -> str:
        if using and self.use_base_model_db:
            return using
        return str(router.db_for_write(history_model, instance=instance))

    def _history_params(
        self, instance: Any, history_type: str, history_model: Any, using: str | None, connection: Any
    ) -> list[Any]:
        """The values simple-history would set: date, type, user and reason (the copy's placeholders)."""
        history_date = getattr(instance, "_history_date", timezone.now())
        user = self.get_history_user(instance)
        return [
            history_model._meta.get_field("history_date").get_db_prep_save(history_date, connection),
            history_type,
            getattr(user, "pk", None),
            self.get_change_reason_for_object(instance, history_type, using),
        ]

    def insert_copy(
        self, instance: Any, using: str, returning: Sequence[str]
    ) -> tuple[str, list[Any]] | None:
        """See `copy_on_insert`."""
        history_model = getattr(type(instance), self.manager_name).model
        copy = self._copy_statement(type(instance), history_model)
        if (
            copy is None
            or not getattr(settings, "SIMPLE_HISTORY_ENABLED", True)
            or hasattr(instance, "skip_history_when_saving")
            or self._has_listeners(history_model)
            or self._alias(instance, history_model, using) != using
        ):
            return None
        if any(column not in copy.columns for column in returning):
            return None
        connection = connections[using]
        sql = f"{copy.head} FROM saved"
        if returning:
            sql += " RETURNING " + ", ".join(connection.ops.quote_name(c) for c in returning)
        return sql, self._history_params(instance, "+", history_model, using, connection)

    @staticmethod
    def _has_listeners(history_model: type[models.Model]) -> bool:
        return pre_create_historical_record.has_listeners(
            history_model
        ) or post_create_historical_record.has_listeners(history_model)

    def _copy_statement(self, model: type[models.Model], history_model: type[models.Model]) -> _Copy | None:
        if model not in self._copies:
            self._copies[model] = self._build_copy_statement(model, history_model)
        return self._copies[model]

    def _build_copy_statement(
        self, model: type[models.Model], history_model: type[models.Model]
    ) -> _Copy | None:
        """The INSERT … SELECT that copies one row of `model` into its history, or None where simple-history's
        own path is needed."""
        if self.m2m_fields or self.user_id_field is not None or model._meta.pk is None:
            return None
        if getattr(history_model, "history_relation", None) is not None:
            return None
        history_pk = history_model._meta.pk
        if (
            history_pk is None
            or history_pk.name != "history_id"
            or not isinstance(history_pk, models.AutoField)
        ):
            return None
        own = {"history_id", "history_date", "history_type", "history_user", "history_change_reason"}
        copied: list[str] = []
        for field in self.fields_included(model):
            if not field.concrete:
                continue
            try:
                history_field: Any = history_model._meta.get_field(field.name)
            except FieldDoesNotExist:  # a field simple-history renamed: its own path
                return None
            if not history_field.concrete or history_field.column != field.column:
                return None
            copied.append(str(field.column))
        covered = set(copied) | {_column(history_model, n) for n in own}
        if any(f.column not in covered for f in history_model._meta.concrete_fields):
            return None  # history fields of its own (bases, extra fields): simple-history fills them
        qn = connections[router.db_for_write(history_model)].ops.quote_name
        order = ["history_date", "history_type", "history_user", "history_change_reason"]
        extra = [_column(history_model, n) for n in order]
        columns = ", ".join(qn(c) for c in [*copied, *extra])
        selected = ", ".join([*(qn(c) for c in copied), "%s", "%s", "%s", "%s"])
        head = f"INSERT INTO {qn(history_model._meta.db_table)} ({columns}) SELECT {selected}"
        by_pk = f"{head} FROM {qn(model._meta.db_table)} WHERE {qn(str(model._meta.pk.column))} = %s"
        return _Copy(head, frozenset(copied), by_pk)


def _column(model: type[models.Model], name: str) -> str:
    field: Any = model._meta.get_field(name)
    return str(field.column)


def copy_on_insert(instance: Any, using: str, returning: Sequence[str]) -> tuple[str, list[Any]] | None:
    """For an INSERT of a new `instance` that its caller runs as `WITH saved AS (INSERT … RETURNING *)`: the
    statement that follows, copying the row into the model's history (returning `returning`, columns the
    history shares with the row), and its parameters; None where the history is written the usual way (no
    history, history off or skipped for this instance, listeners, another database, a history of its own
    shape). The caller sets `instance.<COPIED> = "+"` once the statement ran."""
    records = _RECORDS.get(type(instance))
    return records.insert_copy(instance, using, returning) if records is not None else None
