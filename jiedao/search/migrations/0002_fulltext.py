"""The full-text index of the search entries, per database (Django's model state does not know it, so
`makemigrations --check` stays clean on both).

SQLite: an FTS5 table over the entries' `terms` and `scope` (external content: the entries table), kept in
step by triggers in the writer's transaction. unicode61 splits on spaces and punctuation, as the segmenter
already did; detail=none (no phrase queries are asked: every query word is one token), columnsize=0 (no
bm25), and prefix indexes for 1–3 characters so that a prefix query (the last word typed, "陇海花", "zs") reads
one list instead of merging every word it starts.

PostgreSQL: a stored generated column `search_vector` with a GIN index. Its lexemes are exactly the
segmenter's tokens (`array_to_tsvector` of the space-separated `terms` and `scope`: what to_tsvector('simple')
gives for them, without depending on the parser's idea of a word in the database's locale), plus each term's
prefixes of 1–3 characters marked with "~" (`search_prefixes`): GIN answers a prefix query (`'号':*`) by
collecting every matching lexeme's rows into a bitmap (≈130 ms for a word in a million rows), an indexed
prefix lexeme (`'号~'`) is one posting list that the scope words can skip through.
"""

from typing import Any

from django.db import migrations

SQLITE_FORWARD = [
    """
    CREATE VIRTUAL TABLE search_searchentry_fts USING fts5(
        terms, scope,
        content='search_searchentry', content_rowid='id',
        tokenize='unicode61 remove_diacritics 0', detail='none', columnsize=0, prefix='1 2 3'
    )
    """,
    """
    CREATE TRIGGER search_searchentry_fts_insert AFTER INSERT ON search_searchentry BEGIN
        INSERT INTO search_searchentry_fts(rowid, terms, scope) VALUES (new.id, new.terms, new.scope);
    END
    """,
    """
    CREATE TRIGGER search_searchentry_fts_delete AFTER DELETE ON search_searchentry BEGIN
        INSERT INTO search_searchentry_fts(search_searchentry_fts, rowid, terms, scope)
        VALUES ('delete', old.id, old.terms, old.scope);
    END
    """,
    """
    CREATE TRIGGER search_searchentry_fts_update AFTER UPDATE ON search_searchentry
    WHEN old.id IS NOT new.id OR old.terms IS NOT new.terms OR old.scope IS NOT new.scope BEGIN
        INSERT INTO search_searchentry_fts(search_searchentry_fts, rowid, terms, scope)
        VALUES ('delete', old.id, old.terms, old.scope);
        INSERT INTO search_searchentry_fts(rowid, terms, scope) VALUES (new.id, new.terms, new.scope);
    END
    """,
    # Entries written before this migration (none on a new database) enter the index.
    "INSERT INTO search_searchentry_fts(search_searchentry_fts) VALUES ('rebuild')",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS search_searchentry_fts_update",
    "DROP TRIGGER IF EXISTS search_searchentry_fts_delete",
    "DROP TRIGGER IF EXISTS search_searchentry_fts_insert",
    "DROP TABLE IF EXISTS search_searchentry_fts",
]

POSTGRES_FORWARD = [
    """
    CREATE FUNCTION search_prefixes(terms text) RETURNS text[]
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
    DECLARE
        t text;
        result text[] := '{}';
    BEGIN
        FOREACH t IN ARRAY string_to_array(terms, ' ') LOOP
            FOR n IN 1 .. least(3, length(t)) LOOP
                result := result || (left(t, n) || '~');
            END LOOP;
        END LOOP;
        RETURN result;
    END
    $$
    """,
    """
    ALTER TABLE search_searchentry ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        array_to_tsvector(
            array_remove(string_to_array(terms || ' ' || scope, ' '), '') || search_prefixes(terms)
        )
    ) STORED
    """,
    "CREATE INDEX search_entry_vector_idx ON search_searchentry USING gin (search_vector)",
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS search_entry_vector_idx",
    "ALTER TABLE search_searchentry DROP COLUMN IF EXISTS search_vector",
    "DROP FUNCTION IF EXISTS search_prefixes(text)",
]


def _run(schema_editor: Any, statements: dict[str, list[str]]) -> None:
    vendor = schema_editor.connection.vendor
    if vendor not in statements:
        raise RuntimeError(f"the search index supports SQLite and PostgreSQL, not {vendor}")
    for sql in statements[vendor]:
        schema_editor.execute(sql)


def forward(apps: Any, schema_editor: Any) -> None:
    _run(schema_editor, {"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD})


def backward(apps: Any, schema_editor: Any) -> None:
    _run(schema_editor, {"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD})


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
