"""/people/…: each ledger's list, export, new, detail and edit pages under its own prefix, named
<key>_list, <key>_export, <key>_create, <key>_detail and <key>_edit (people:resident_detail …)."""

from django.urls import URLPattern, path

from jiedao.people import ledgers, views
from jiedao.people.urls_import import urlpatterns as import_patterns

app_name = "people"

PREFIXES = {
    "resident": "residents/",
    "household": "residents/households/",
    "compound": "places/",
    "building": "places/buildings/",
    "dwelling": "places/dwellings/",
    "organisation": "organisations/",
    "care": "care/",
}


def _ledger_patterns(key: str, prefix: str) -> list[URLPattern]:
    kw = {"key": key}
    patterns = [
        path(prefix, views.record_list, kw, name=f"{key}_list"),
        path(f"{prefix}export.xlsx", views.record_export, kw, name=f"{key}_export"),
        path(f"{prefix}<int:pk>/", views.record_detail, kw, name=f"{key}_detail"),
    ]
    if ledgers.get(key).form is not None:  # care subjects are added and changed from their own pages
        patterns += [
            path(f"{prefix}new/", views.record_create, kw, name=f"{key}_create"),
            path(f"{prefix}<int:pk>/edit/", views.record_edit, kw, name=f"{key}_edit"),
        ]
    return patterns


urlpatterns = [
    path("residents/<int:pk>/reveal/<str:field>/", views.resident_reveal, name="resident_reveal"),
    path("residents/<int:pk>/tags/", views.resident_tag, name="resident_tag"),
    path("residents/<int:pk>/tags/<int:item>/end/", views.resident_tag_end, name="resident_tag_end"),
    path("residents/<int:pk>/move-out/", views.resident_move_out, name="resident_move_out"),
    path("residents/<int:pk>/care/", views.care_add, name="care_add"),
    path("care/<int:pk>/change/", views.care_edit, name="care_change"),
    path("care/<int:pk>/visits/", views.care_visit, name="care_visit"),
    path("visits/<int:pk>/photo/", views.visit_photo, name="visit_photo"),
    *import_patterns,
]
for _key, _prefix in PREFIXES.items():
    urlpatterns += _ledger_patterns(_key, _prefix)
