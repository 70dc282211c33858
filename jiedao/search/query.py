"""The search box's question: `search(user, q)` and, for the results page, `search_groups(user, q)`.

1. Exact look-up. A full identity number (18 characters after `normalise_id_number`) or a phone number (after
   `normalise_phone`) is looked up through the residents' blind index (`id_index`, `phone_index`), within
   `Resident.objects.visible_to(user)`. Such a query (or 15–17 digits: an identity number being typed) is
   not searched as words: the clear number is never part of a statement sent to the database, nor logged.
2. Words. The query is cut into words (`jiedao.search.segment.query_segments`); every word must match (AND),
   the last one as a prefix ("陇海花" finds 陇海花园, "zhangs" finds 张三). A word that is a place name also
   matches the words the plain dictionary cuts it into; Latin words typed apart ("zhang san") also match
   written together (zhangsan).
3. Scope, in the same query. For each kind the user's scope paths for its view action
   (`jiedao.core.permissions.scope_paths`: None is everything, [] is nothing; a confidential case needs
   `case.view_confidential` as well) become (a) scope words that the full-text index intersects with the
   query's words, so a grid worker's search reads the grid's entries and not the whole district's, and (b)
   the authoritative test on the indexed `org_path` column (a range on SQLite, LIKE 'p%' on PostgreSQL, as
   `jiedao.core.models.scope.under_path`) together with the kind.

Each kind is asked separately with a LIMIT (10,000 residents matching 陇海 do not hide the compound
陇海花园); nothing orders all matches: the few rows returned are ranked in Python (title equal to the query,
then starting with it, then containing it). A count is capped (`COUNT_CAP`); on PostgreSQL, where the GIN
index cannot stop early, many matches are read from the user's unit in path order instead, and counted by
the planner's estimate (shown as approximate).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from jiedao.core.permissions import scope_paths
from jiedao.core.privacy import normalise_phone, valid_phone
from jiedao.people.identity import normalise_id_number
from jiedao.search.registry import Provider, providers
from jiedao.search.segment import (
    PREFIX_LENGTH,
    ensure_places,
    is_place_word,
    normalise,
    plain_words,
    query_segments,
    scope_word,
)

MAX_QUERY_LENGTH = 100
MAX_WORDS = 12
COUNT_CAP = 1000
ID_NUMBER = re.compile(r"^\d{17}[\dX]$")


@dataclass(frozen=True)
class Hit:
    kind: str
    label: str
    title: str
    subtitle: str
    url: str
    object_id: int
    exact: str = ""  # "id_number" / "phone" for a blind-index match
    icon: str = "search"


@dataclass
class Group:
    kind: str
    label: str
    icon: str
    hits: list[Hit]
    count: int  # counted up to COUNT_CAP, or estimated
    more: bool  # more match than the hits shown
    approximate: bool = False  # `count` is the database's estimate (many matches, PostgreSQL)

    @property
    def capped(self) -> bool:
        return not self.approximate and self.count >= COUNT_CAP


# ---------------------------------------------------------------------------------------------------------
# The query's words as an expression


@dataclass(frozen=True)
class Word:
    text: str
    prefix: bool = False


@dataclass(frozen=True)
class All:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Any_:
    items: tuple[Any, ...]


Expr = Word | All | Any_


def _all(items: Sequence[Expr]) -> Expr:
    return items[0] if len(items) == 1 else All(tuple(items))


def _any(items: Sequence[Expr]) -> Expr:
    unique = list(dict.fromkeys(items))
    return unique[0] if len(unique) == 1 else Any_(tuple(unique))


def _sequence(words: Sequence[str], prefix_last: bool) -> Expr:
    return _all([Word(w, prefix_last and i == len(words) - 1) for i, w in enumerate(words)])


def parse(q: str) -> Expr | None:
    """The words of a query as an expression (None: nothing to search for)."""
    words = query_segments(q[:MAX_QUERY_LENGTH])[:MAX_WORDS]
    if not words:
        return None
    parts: list[Expr] = []
    for i, word in enumerate(words):
        last = i == len(words) - 1
        options: list[Expr] = [Word(word, last)]
        if is_place_word(word):
            pieces = plain_words(word)
            if pieces and pieces != [word]:
                options.append(_sequence(pieces, last))
        parts.append(_any(options))
    expr = _all(parts)
    text = normalise(q).strip()
    if len(words) > 1 and re.fullmatch(r"[a-z]+(?:\s+[a-z]+)+", text):
        expr = _any([expr, Word("".join(words), True)])
    return expr


def to_fts5(expr: Expr) -> str:
    if isinstance(expr, Word):
        return f'"{expr.text}"' + ("*" if expr.prefix else "")
    joiner = " AND " if isinstance(expr, All) else " OR "
    return "(" + joiner.join(to_fts5(item) for item in expr.items) + ")"


def to_tsquery(expr: Expr) -> str:
    """A tsquery literal (cast with ::tsquery: lexemes as written, no parser). A short prefix is the indexed
    prefix lexeme ('号~', see migration 0002), a longer one a prefix match ('zhangw':*)."""
    if isinstance(expr, Word):
        if expr.prefix and len(expr.text) <= PREFIX_LENGTH:
            return f"'{expr.text}~'"
        return f"'{expr.text}'" + (":*" if expr.prefix else "")
    joiner = " & " if isinstance(expr, All) else " | "
    return "(" + joiner.join(to_tsquery(item) for item in expr.items) + ")"


# ---------------------------------------------------------------------------------------------------------
# What the user may see, per kind


@dataclass(frozen=True)
class Reach:
    """Entries of `provider` with this `restricted` flag under `paths` (None: everywhere)."""

    provider: Provider
    restricted: bool | None  # None: the kind has no restricted rows (flag 0 in the scope words)
    paths: tuple[str, ...] | None


def _intersect(a: list[str] | None, b: list[str] | None) -> list[str] | None:
    """The subtrees lying under some path of `a` and some path of `b` (None: everything)."""
    if a is None:
        return b
    if b is None:
        return a
    result = {x for x in a for y in b if x.startswith(y)} | {y for x in a for y in b if y.startswith(x)}
    return sorted(result)


def reach(user: Any, kinds: Iterable[str] | None = None) -> dict[str, list[Reach]]:
    """{kind: what of it the user may see}, for the kinds asked (all when None) the user may see at all."""
    wanted = set(kinds) if kinds is not None else None
    result: dict[str, list[Reach]] = {}
    for p in providers():
        if wanted is not None and p.kind not in wanted:
            continue
        paths = scope_paths(user, p.action)
        if paths == []:
            continue
        if not p.restricted_action:
            result[p.kind] = [Reach(p, None, None if paths is None else tuple(paths))]
            continue
        parts = [Reach(p, False, None if paths is None else tuple(paths))]
        both = _intersect(paths, scope_paths(user, p.restricted_action))
        if both != []:
            parts.append(Reach(p, True, None if both is None else tuple(both)))
        result[p.kind] = parts
    return result


def can_search(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and bool(reach(user))


# ---------------------------------------------------------------------------------------------------------
# SQL


def _scope_words(parts: Sequence[Reach]) -> list[str]:
    words: list[str] = []
    for part in parts:
        flag = bool(part.restricted)
        paths = part.paths if part.paths is not None else ("",)
        words += [scope_word(part.provider.code, flag, path) for path in paths]
    return words


def _path_test(column: str, path: str, params: list[Any]) -> str:
    if connection.vendor == "sqlite":
        params += [path, path[:-1] + chr(ord(path[-1]) + 1)]
        return f"({column} >= %s AND {column} < %s)"
    params.append(path + "%")
    return f"{column} LIKE %s"


def _filter(parts: Sequence[Reach], params: list[Any]) -> str:
    """The authoritative test: kind, restricted flag and path, OR-ed over what the user may see."""
    clauses = []
    for part in parts:
        tests = ["e.kind = %s"]
        params.append(part.provider.kind)
        if part.restricted is not None:
            tests.append("e.restricted = %s")
            params.append(part.restricted)
        if part.paths is not None:
            tests.append("(" + " OR ".join(_path_test("e.org_path", p, params) for p in part.paths) + ")")
        clauses.append("(" + " AND ".join(tests) + ")")
    return "(" + " OR ".join(clauses) + ")"


_COLUMNS = "e.id, e.kind, e.object_id, e.title, e.subtitle"
_ENTRY = "id, kind, object_id, title, subtitle, org_path, restricted"

#: PostgreSQL: from this many expected matches on (the planner's estimate), the first `PROBE_ROWS` entries
#: under the user's unit are read in path order and tested before the GIN index is asked.
DENSE_ROWS = 5_000
PROBE_ROWS = 5_000


@dataclass(frozen=True)
class Question:
    """One kind's part of a search: the words, what the user may see of the kind, and the engine's query."""

    parts: Sequence[Reach]
    match: str  # the FTS5 MATCH expression or the tsquery literal (words AND scope words)

    @classmethod
    def of(cls, expr: Expr, parts: Sequence[Reach]) -> Question:
        full = All((expr, _any([Word(w) for w in _scope_words(parts)])))
        return cls(parts, to_fts5(full) if connection.vendor == "sqlite" else to_tsquery(full))


def _indexed(q: Question, columns: str, limit: int) -> tuple[str, list[Any]]:
    """At most `limit` entries matching `q` that the user may see, found through the full-text index.

    SQLite: the FTS5 table drives (CROSS JOIN keeps it the outer loop); FTS5 reads its lists lazily and the
    scope words skip to the user's entries, so the LIMIT stops the work. Each match's entry is read by rowid
    and tested. PostgreSQL: the GIN index alone answers the inner query (words and scope words) up to the
    LIMIT, the outer query applies the same test (a subquery with a LIMIT is neither flattened nor given
    the outer conditions; `_index_plan` keeps the planner from reading the table in order instead)."""
    params: list[Any] = []
    if connection.vendor == "sqlite":
        params.append(q.match)
        test = _filter(q.parts, params)
        params.append(limit)
        sql = (
            f"SELECT {columns} FROM search_searchentry_fts CROSS JOIN search_searchentry e "
            "ON e.id = search_searchentry_fts.rowid "
            f"WHERE search_searchentry_fts MATCH %s AND {test} LIMIT %s"
        )
        return sql, params
    params += [q.match, limit]
    test = _filter(q.parts, params)
    sql = (
        f"SELECT {columns} FROM (SELECT {_ENTRY} FROM search_searchentry "
        f"WHERE search_vector @@ %s::tsquery LIMIT %s) e WHERE {test}"
    )
    return sql, params


def _probed(q: Question, columns: str, probe: int, limit: int) -> tuple[str, list[Any]] | None:
    """PostgreSQL, many matches expected: the first `probe` entries of the kind under the user's one unit, in
    path order (the (kind, org_path) index), tested one by one, at most `limit` of them. GIN cannot stop at
    a LIMIT: it builds the whole bitmap of matches first (≈150 ms for half a million), while here ten hits
    among many are found in the first rows read. None when the user's reach is not one subtree."""
    paths = {part.paths for part in q.parts}
    kind = q.parts[0].provider.kind
    if len(paths) != 1:
        return None
    (only,) = paths
    params: list[Any] = [kind]
    where = "kind = %s"
    if only is not None:
        if len(only) != 1:
            return None
        path = only[0]
        where += " AND org_path >= %s AND org_path < %s"
        params += [path, path[:-1] + chr(ord(path[-1]) + 1)]
    params += [probe, q.match]
    test = _filter(q.parts, params)
    params.append(limit)
    sql = (
        f"SELECT {columns} FROM (SELECT {_ENTRY}, search_vector FROM search_searchentry WHERE {where} "
        "ORDER BY kind, org_path LIMIT %s) e "
        f"WHERE e.search_vector @@ %s::tsquery AND {test} LIMIT %s"
    )
    return sql, params


def _expected(q: Question) -> int:
    """PostgreSQL: how many matches the planner expects (from its statistics of the lexemes); 0 elsewhere."""
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN (FORMAT JSON) SELECT 1 FROM search_searchentry WHERE search_vector @@ %s::tsquery",
            [q.match],
        )
        row = cursor.fetchone()
    plan = row[0] if row else [{"Plan": {"Plan Rows": 0}}]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


@contextmanager
def _index_plan() -> Iterator[None]:
    """PostgreSQL: no sequential scan for the searches inside (the planner expects matches spread evenly
    and would read a million rows in order to find ten that sit at the table's end)."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
        yield
        with connection.cursor() as cursor:  # inside a caller's transaction: back to the default at once
            cursor.execute("SET LOCAL enable_seqscan = on")


def _fetch(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _probe(q: Question, limit: int, expected: int) -> list[tuple[Any, ...]] | None:
    """PostgreSQL with many matches expected: `limit` hits from the first entries under the user's unit, or
    None (not one subtree, or too few there: the matches lie elsewhere and the GIN index finds them)."""
    if connection.vendor != "postgresql" or expected < DENSE_ROWS:
        return None
    probed = _probed(q, _COLUMNS, PROBE_ROWS, limit)
    if probed is None:
        return None
    rows = _fetch(*probed)
    return rows if len(rows) >= limit else None


def _rows(q: Question, limit: int) -> list[tuple[Any, ...]]:
    rows = _probe(q, limit, _expected(q))
    return rows if rows is not None else _fetch(*_indexed(q, _COLUMNS, limit))


def _page(q: Question, limit: int, cap: int) -> tuple[list[tuple[Any, ...]], int, bool]:
    """(up to `limit` hits, how many match, whether that number is the planner's estimate). The matches are
    read once, up to `cap` (the count); on PostgreSQL, when the planner expects many and the first entries
    under the user's unit hold them, the count is its estimate instead (the GIN index would build the bitmap
    of every match to count a thousand)."""
    expected = _expected(q)
    rows = _probe(q, limit, expected)
    if rows is not None:
        return rows, max(expected, len(rows)), True
    rows = _fetch(*_indexed(q, _COLUMNS, cap))
    return rows[:limit], len(rows), False


# ---------------------------------------------------------------------------------------------------------
# Exact look-up through the blind index


def number_only(q: str) -> bool:
    """A full identity number or phone, or what can only be an identity number being typed (15 to 17 digits,
    perhaps with its X): looked up through the blind index only, never sent to the database as words (where a
    statement log could keep it)."""
    if exact_kind(q) is not None:
        return True
    number = normalise_id_number(q)
    return 15 <= len(number) <= 18 and bool(re.fullmatch(r"\d+X?", number))


def exact_kind(q: str) -> tuple[str, str] | None:
    """("id_number", number) or ("phone", phone) when the query is one, else None."""
    number = normalise_id_number(q)
    if ID_NUMBER.match(number):
        return "id_number", number
    phone = normalise_phone(q)
    if phone and valid_phone(phone):
        return "phone", phone
    return None


def _exact(user: Any, q: str, limit: int) -> list[Hit]:
    from jiedao.people.models import Resident
    from jiedao.people.personal import id_lookup, phone_lookup
    from jiedao.search.registry import provider

    found = exact_kind(q)
    p = provider("resident")
    if found is None or p is None:
        return []
    what, value = found
    residents = Resident.objects.visible_to(user, "view").order_by()
    if what == "id_number":
        residents = residents.filter(id_index=id_lookup(value)).exclude(id_index="")  # the partial index
    else:
        residents = residents.filter(phone_index=phone_lookup(value))
    rows = [dict(zip(p.fields, row, strict=True)) for row in residents.values_list(*p.fields)[:limit]]
    urls = p.urls(int(r["pk"]) for r in rows)
    hits = []
    for row in rows:
        doc = p.build(row)
        pk = int(row["pk"])
        hits.append(Hit(p.kind, str(p.label), doc.title, doc.subtitle, urls[pk], pk, what, p.icon))
    return hits


# ---------------------------------------------------------------------------------------------------------
# The public functions


def _clean(q: str) -> str:
    return " ".join((q or "").split())[:MAX_QUERY_LENGTH]


def _rank(q: str) -> Any:
    needle = normalise(q).strip()

    def key(hit: Hit) -> tuple[int, int]:
        title = normalise(hit.title)
        if title == needle:
            return (0, len(title))
        if title.startswith(needle):
            return (1, len(title))
        if needle and needle in title:
            return (2, len(title))
        return (3, len(title))

    return key


def _hits(p: Provider, rows: Sequence[tuple[Any, ...]]) -> list[Hit]:
    urls = p.urls(int(r[2]) for r in rows)
    return [Hit(p.kind, str(p.label), r[3], r[4], urls[int(r[2])], int(r[2]), "", p.icon) for r in rows]


def search(user: Any, q: str, limit: int = 20, kinds: Iterable[str] | None = None) -> list[Hit]:
    """What `user` may see that matches `q`: exact identity-number or phone matches first, then word matches
    ranked by title, at most `limit`."""
    q = _clean(q)
    allowed = reach(user, kinds)
    if not q or not allowed or limit < 1:
        return []
    ensure_places()
    exact = _exact(user, q, limit) if "resident" in allowed else []
    seen = {(h.kind, h.object_id) for h in exact}
    expr = None if number_only(q) else parse(q)
    found: list[Hit] = []
    if expr is not None:
        with _index_plan():
            for parts in allowed.values():
                rows = _rows(Question.of(expr, parts), limit)
                found += [h for h in _hits(parts[0].provider, rows) if (h.kind, h.object_id) not in seen]
    order = {p.kind: i for i, p in enumerate(providers())}
    rank = _rank(q)
    found.sort(key=lambda h: (*rank(h), order.get(h.kind, 99)))
    return (exact + found)[:limit]


def search_groups(user: Any, q: str, per_kind: int = 20, kinds: Iterable[str] | None = None) -> list[Group]:
    """The results page: per kind its exact matches and first `per_kind` word matches (ranked), and how many
    match (word matches counted up to `COUNT_CAP`)."""
    q = _clean(q)
    allowed = reach(user, kinds)
    if not q or not allowed:
        return []
    ensure_places()
    exact = _exact(user, q, per_kind) if "resident" in allowed else []
    expr = None if number_only(q) else parse(q)
    rank = _rank(q)
    groups: list[Group] = []
    with _index_plan():
        for kind, parts in allowed.items():
            group = _group(kind, parts, [h for h in exact if h.kind == kind], expr, per_kind, rank)
            if group is not None:
                groups.append(group)
    return groups


def _group(
    kind: str, parts: list[Reach], exact: list[Hit], expr: Expr | None, per_kind: int, rank: Any
) -> Group | None:
    p = parts[0].provider
    seen = {h.object_id for h in exact}
    words: list[Hit] = []
    count, more, approximate = 0, False, False
    if expr is not None:
        rows, count, approximate = _page(Question.of(expr, parts), per_kind + 1, COUNT_CAP)
        more = len(rows) > per_kind
        words = sorted((h for h in _hits(p, rows[:per_kind]) if h.object_id not in seen), key=rank)
    hits = exact + words
    if not hits:
        return None
    return Group(kind, str(p.label), p.icon, hits, count + len(exact), more, approximate)


__all__ = [
    "COUNT_CAP",
    "Group",
    "Hit",
    "can_search",
    "parse",
    "search",
    "search_groups",
]
