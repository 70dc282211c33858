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
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import connections, models, router
from django.utils import timezone
from simple_history import models as simple_history_models
from simple_history.manager import HistoryManager
from simple_history.signals import post_create_historical_record, pre_create_historical_record

_BUILT: dict[tuple[Any, ...], Any] = {}


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
        self._copy_sql: dict[type[models.Model], str | None] = {}

    def create_historical_record(self, instance: Any, history_type: str, using: str | None = None) -> None:
        history_model = getattr(instance, self.manager_name).model
        sql = self._copy_statement(type(instance), history_model) if history_type in ("+", "~") else None
        if sql is None or instance.pk is None or self._has_listeners(history_model):
            super().create_historical_record(instance, history_type, using)
            return
        if using and self.use_base_model_db:
            alias = using
        else:
            alias = router.db_for_write(history_model, instance=instance)
        connection = connections[alias]
        history_date = getattr(instance, "_history_date", timezone.now())
        user = self.get_history_user(instance)
        reason = self.get_change_reason_for_object(instance, history_type, using)
        params = [
            history_model._meta.get_field("history_date").get_db_prep_save(history_date, connection),
            history_type,
            getattr(user, "pk", None),
            reason,
            type(instance)._meta.pk.get_db_prep_value(instance.pk, connection),
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            copied = cursor.rowcount
        if copied != 1:  # not in this database after all (another alias, a raw save): the ORM's way
            super().create_historical_record(instance, history_type, using)

    @staticmethod
    def _has_listeners(history_model: type[models.Model]) -> bool:
        return pre_create_historical_record.has_listeners(
            history_model
        ) or post_create_historical_record.has_listeners(history_model)

    def _copy_statement(self, model: type[models.Model], history_model: type[models.Model]) -> str | None:
        if model not in self._copy_sql:
            self._copy_sql[model] = self._build_copy_statement(model, history_model)
        return self._copy_sql[model]

    def _build_copy_statement(
        self, model: type[models.Model], history_model: type[models.Model]
    ) -> str | None:
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
        return (
            f"INSERT INTO {qn(history_model._meta.db_table)} ({columns}) SELECT {selected}"
            f" FROM {qn(model._meta.db_table)} WHERE {qn(str(model._meta.pk.column))} = %s"
        )


def _column(model: type[models.Model], name: str) -> str:
    field: Any = model._meta.get_field(name)
    return str(field.column)
