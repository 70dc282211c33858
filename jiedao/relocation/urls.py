from django.urls import path

from jiedao.relocation import views

app_name = "relocation"

urlpatterns = [
    path("", views.project_list, name="project_list"),
    path("projects/new/", views.project_create, name="project_create"),
    path("projects/<int:pk>/", views.project_detail, name="project_detail"),
    path("projects/<int:pk>/edit/", views.project_edit, name="project_edit"),
    path("projects/<int:pk>/board/", views.project_board, name="board"),
    path("projects/<int:pk>/teams/new/", views.team_create, name="team_create"),
    path("projects/<int:pk>/checklist/new/", views.kind_create, name="kind_create"),
    path("projects/<int:pk>/households/", views.household_list, name="household_list"),
    path("projects/<int:pk>/households/export/", views.household_export, name="household_export"),
    path("projects/<int:pk>/households/new/", views.household_create, name="household_create"),
    path("projects/<int:pk>/import/", views.import_households, name="import"),
    path("projects/<int:pk>/import/template/", views.import_template, name="import_template"),
    path("teams/<int:pk>/edit/", views.team_edit, name="team_edit"),
    path("checklist/<int:pk>/edit/", views.kind_edit, name="kind_edit"),
    path("households/<int:pk>/", views.household_detail, name="household_detail"),
    path("households/<int:pk>/edit/", views.household_edit, name="household_edit"),
    path("households/<int:pk>/advance/", views.household_advance, name="household_advance"),
    path("households/<int:pk>/back/", views.household_back, name="household_back"),
    path("households/<int:pk>/visits/", views.household_visit, name="household_visit"),
    path("households/<int:pk>/reminders/", views.household_reminder, name="household_reminder"),
    path("households/<int:pk>/documents/", views.household_upload, name="household_upload"),
    path("households/<int:pk>/phone/", views.household_phone, name="household_phone"),
    path("reminders/<int:pk>/close/", views.reminder_close, name="reminder_close"),
    path("documents/<int:pk>/", views.document_download, name="document_download"),
    path("documents/<int:pk>/delete/", views.document_delete, name="document_delete"),
]
