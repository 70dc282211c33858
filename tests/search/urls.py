"""The project's URLs plus the search pages and API as the lead wires them (`search/`, `api/v1/search/`),
and stand-in people detail pages (only where the people app has not wired its own) so links can be checked."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import URLResolver, include, path

from jiedao.search.api import SearchAPIView
from jiedao.urls import urlpatterns as project_urlpatterns


def _namespaces(patterns: list[Any]) -> set[str]:
    return {p.namespace for p in patterns if isinstance(p, URLResolver) and p.namespace}


def _stub(request: HttpRequest, pk: int) -> HttpResponse:
    return HttpResponse(f"stub {pk}")


_people_stub = (
    [
        path("residents/<int:pk>/", _stub, name="resident_detail"),
        path("compounds/<int:pk>/", _stub, name="compound_detail"),
        path("buildings/<int:pk>/", _stub, name="building_detail"),
        path("dwellings/<int:pk>/", _stub, name="dwelling_detail"),
        path("organisations/<int:pk>/", _stub, name="organisation_detail"),
    ],
    "people",
)

urlpatterns: list[Any] = []
_present = _namespaces(project_urlpatterns)
if "search" not in _present:
    urlpatterns.append(path("search/", include("jiedao.search.urls")))
# Ahead of the project's own api/v1/ (where the lead wires the same view): resolves the same either way.
urlpatterns.append(path("api/v1/search/", SearchAPIView.as_view(), name="search"))
if "people" not in _present:
    urlpatterns.append(path("people-stub/", include(_people_stub)))
urlpatterns += project_urlpatterns
