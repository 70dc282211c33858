"""Django's PostgreSQL backend, with psycopg's query cache open to statements of up to 200 parameters.

Django binds parameters on the client (psycopg's `ClientCursor`): every statement's text is split at its
`%s` markers before the values are merged in. psycopg keeps the split of a statement in a small LRU cache, but
only for statements of at most 50 parameters (`psycopg._queries.MAX_CACHED_STATEMENT_PARAMS`); the INSERT of
a case (45 columns) and of its history row (55) were split again on every write, about 0.3 ms of CPU per
portal submission. The limit is psycopg's own module constant, read at each call; 200 still keeps the long
`IN (…)` lists of bulk work out of the cache.
"""

from __future__ import annotations

from django.db.backends.postgresql import base
from psycopg import _queries as psycopg_queries

CACHED_STATEMENT_PARAMS = 200

if getattr(psycopg_queries, "MAX_CACHED_STATEMENT_PARAMS", CACHED_STATEMENT_PARAMS) < CACHED_STATEMENT_PARAMS:
    psycopg_queries.MAX_CACHED_STATEMENT_PARAMS = CACHED_STATEMENT_PARAMS


class DatabaseWrapper(base.DatabaseWrapper):
    pass
