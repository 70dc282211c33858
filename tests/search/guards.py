"""Route guards of the search app, for tests/test_routes.py (`GUARDS.update(SEARCH_GUARDS)`): the pages and
the API refuse anonymous users and users who may search nothing (a volunteer holds no view action of any
kind); what a searching user finds is scoped (tests/search/test_scope.py)."""

from __future__ import annotations

from tests.guard import Guard

GUARDS: dict[str, Guard] = {
    "search:results": Guard(outsider="volunteer"),
    "search:suggest": Guard(outsider="volunteer"),
    "search": Guard(outsider="volunteer", api=True),
}
PUBLIC: dict[str, str] = {}
