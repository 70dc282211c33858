"""Key rotation for the encrypted personal columns: after `JIEDAO_FIELD_KEY` is replaced (the old key moved to
`JIEDAO_FIELD_OLD_KEYS`), `python manage.py rotate_field_key` re-encrypts every value still under an old key
and recomputes its blind index under the new one, a batch of rows per transaction (so it can be stopped and
run again: rows already done are skipped). Until it has run, exact look-ups by ID number or phone miss the
rows not yet done; lists and reveals work throughout, since tokens name their key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction

from jiedao.audit.services import record_event
from jiedao.core.privacy import blind_index, decrypt, encrypt, needs_new_key
from jiedao.people.models import ID_CONTEXT, PHONE_CONTEXT, Resident

BATCH = 2000


@dataclass(frozen=True)
class EncryptedColumn:
    model: type[Resident]
    token: str
    index: str
    context: str


COLUMNS = [
    EncryptedColumn(Resident, "id_token", "id_index", ID_CONTEXT),
    EncryptedColumn(Resident, "phone_token", "phone_index", PHONE_CONTEXT),
]


def rotate(batch: int = BATCH, progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """{"<model>.<column>": rows re-encrypted}; one audit event when anything changed."""
    counts: dict[str, int] = {}
    for column in COLUMNS:
        done = 0
        last_pk = 0
        while True:
            rows = list(
                column.model.objects.filter(pk__gt=last_pk)
                .exclude(**{column.token: ""})
                .order_by("pk")
                .values_list("pk", column.token)[:batch]
            )
            if not rows:
                break
            last_pk = rows[-1][0]
            stale = [(pk, token) for pk, token in rows if needs_new_key(token)]
            if stale:
                _rewrite(column, stale)
                done += len(stale)
                if progress is not None:
                    progress(f"{column.model._meta.label}.{column.token}", done)
        counts[f"{column.model._meta.label}.{column.token}"] = done
    if any(counts.values()):
        record_event("people.rekey", data={"reencrypted": counts})
    return counts


def _rewrite(column: EncryptedColumn, stale: list[tuple[int, str]]) -> None:
    table = connection.ops.quote_name(column.model._meta.db_table)
    token_col = connection.ops.quote_name(column.token)
    index_col = connection.ops.quote_name(column.index)
    updates = []
    for pk, token in stale:
        value = decrypt(token, column.context)
        updates.append((encrypt(value, column.context), blind_index(value, column.context), pk))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {token_col} = %s, {index_col} = %s WHERE id = %s", updates)
