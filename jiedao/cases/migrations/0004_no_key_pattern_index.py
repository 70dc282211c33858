from typing import Any

from django.db import migrations


def _like_index(schema_editor: Any, model: Any) -> str:
    return str(schema_editor._create_index_name(model._meta.db_table, ["idempotency_key"], suffix="_like"))


def forwards(apps: Any, schema_editor: Any) -> None:
    """PostgreSQL keeps a second, `varchar_pattern_ops` index beside every unique text column, for LIKE. The
    idempotency key (a SHA-256 in hex) is only ever matched whole or by range, which the unique index answers;
    its pattern index was one more random-page insert on every registration (and the planner preferred it
    for the portal's key look-up, doing the same work twice over the day)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    model = apps.get_model("cases", "Case")
    schema_editor.execute(
        f"DROP INDEX IF EXISTS {schema_editor.quote_name(_like_index(schema_editor, model))}"
    )


def backwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    model = apps.get_model("cases", "Case")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {schema_editor.quote_name(_like_index(schema_editor, model))}"
        f" ON {schema_editor.quote_name(model._meta.db_table)} (idempotency_key varchar_pattern_ops)"
    )


class Migration(migrations.Migration):
    dependencies = [("cases", "0003_fewer_indexes")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
