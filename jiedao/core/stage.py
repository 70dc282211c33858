"""PostgreSQL bulk writes through a staging table: rows go in by COPY (a tenth of the client's work of a
multi-row INSERT), then one set-based statement moves them where they belong (an upsert, an UPDATE … FROM)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


def copy_into_stage(
    cursor: Any, stage: str, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Fill the temporary table `stage`, shaped like these `columns` of `table`, with `rows` by COPY. The
    stage is made the first time in a transaction, emptied on each later call and dropped at commit, so
    callers run inside a transaction (Django's cursor wrapper: `cursor.cursor` is psycopg's)."""
    names = ", ".join(columns)
    cursor.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ON COMMIT DROP AS "
        f"SELECT {names} FROM {table} WITH NO DATA"
    )
    cursor.execute(f"TRUNCATE {stage}")
    with cursor.cursor.copy(f"COPY {stage} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
