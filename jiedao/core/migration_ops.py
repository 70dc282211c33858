"""Operations for hand-written migrations."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def drop_column_indexes(app_label: str, targets: dict[str, list[str]]) -> migrations.RunPython:
    """Drop the plain single-column indexes of these model fields (on PostgreSQL the `_like` one too), found
    by introspection. For a field whose `db_index` became False: Django's own AlterField would rebuild the
    whole table on SQLite (a copy of every row) to drop one index."""

    def columns(apps: Any) -> list[tuple[Any, Any]]:
        result = []
        for model_name, names in targets.items():
            model = apps.get_model(app_label, model_name)
            result += [(model, model._meta.get_field(name)) for name in names]
        return result

    def forwards(apps: Any, schema_editor: Any) -> None:
        for model, field in columns(apps):
            names = schema_editor._constraint_names(
                model, [field.column], index=True, unique=False, primary_key=False
            )
            for name in sorted(names):
                schema_editor.execute(schema_editor._delete_index_sql(model, name))

    def backwards(apps: Any, schema_editor: Any) -> None:
        for model, field in columns(apps):
            schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))

    return migrations.RunPython(forwards, backwards)
