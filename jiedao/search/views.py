"""The search pages: /search/?q=… (results grouped by kind, with counts; ?kind=… for more of one kind) and
/search/suggest/?q=… (the header box's live suggestions, an htmx partial).

Both need a signed-in user who may see at least one searchable kind (others get 403). The query is never
logged: it may be an identity number."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from jiedao.search.query import (
    COUNT_CAP,
    MAX_QUERY_LENGTH,
    reach,
    search,
    search_groups,
)
from jiedao.search.registry import provider

PER_KIND = 10
PER_KIND_ALONE = 100
SUGGESTIONS = 8


def _query(request: HttpRequest) -> str:
    return " ".join(request.GET.get("q", "").split())[:MAX_QUERY_LENGTH]


@login_required
@require_GET
@never_cache
def results(request: HttpRequest) -> HttpResponse:
    allowed = reach(request.user)
    if not allowed:
        raise PermissionDenied("search")
    q = _query(request)
    kind = request.GET.get("kind", "")
    alone = kind in allowed
    groups = search_groups(
        request.user, q, per_kind=PER_KIND_ALONE if alone else PER_KIND, kinds=[kind] if alone else None
    )
    chosen = provider(kind) if alone else None
    return render(
        request,
        "search/results.html",
        {
            "q": q,
            "groups": groups,
            "kind": kind if alone else "",
            "kind_label": chosen.label if chosen else "",
            "kinds": [(k, parts[0].provider.label) for k, parts in allowed.items()],
            "total": sum(g.count for g in groups),
            "count_cap": COUNT_CAP,
            "max_length": MAX_QUERY_LENGTH,
        },
    )


@login_required
@require_GET
@never_cache
def suggest(request: HttpRequest) -> HttpResponse:
    if not reach(request.user):
        raise PermissionDenied("search")
    q = _query(request)
    hits = search(request.user, q, limit=SUGGESTIONS) if q else []
    return render(request, "search/_suggest.html", {"q": q, "hits": hits})


urlpatterns = [
    path("", results, name="results"),
    path("suggest/", suggest, name="suggest"),
]
