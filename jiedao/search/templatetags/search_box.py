"""`{% load search_box %}{% search_box %}`: the header's search box, for users who may search something."""

from __future__ import annotations

from typing import Any

from django import template

from jiedao.search.query import MAX_QUERY_LENGTH, can_search

register = template.Library()


@register.inclusion_tag("search/_box.html", takes_context=True)
def search_box(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    show = user is not None and can_search(user)
    q = ""
    if (
        show
        and request is not None
        and request.resolver_match
        and request.resolver_match.namespace == "search"
    ):
        q = request.GET.get("q", "")[:MAX_QUERY_LENGTH]
    return {"show": show, "q": q, "max_length": MAX_QUERY_LENGTH}
