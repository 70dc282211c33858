"""/people/imports/…: the people import's pages, named import_* (included into the "people" namespace:
people:import_list, people:import_detail …)."""

from django.urls import path

from jiedao.people import views_import as views

urlpatterns = [
    path("imports/", views.import_list, name="import_list"),
    path("imports/new/", views.import_upload, name="import_upload"),
    path("imports/template/<slug:kind>.xlsx", views.import_template, name="import_template"),
    path("imports/<slug:token>/", views.import_detail, name="import_detail"),
    path("imports/<slug:token>/check/", views.import_check, name="import_check"),
    path("imports/<slug:token>/commit/", views.import_commit, name="import_commit"),
    path("imports/<slug:token>/progress/", views.import_progress, name="import_progress"),
    path("imports/<slug:token>/errors.xlsx", views.import_errors, name="import_errors"),
]
