from django.urls import path

from jiedao.projects import views

app_name = "projects"

urlpatterns = [
    path("", views.project_list, name="project_list"),
    path("mine/", views.my_projects, name="my_projects"),
    path("export/", views.project_export, name="project_export"),
    path("new/", views.project_create, name="project_create"),
    path("<int:pk>/", views.project_detail, name="project_detail"),
    path("<int:pk>/edit/", views.project_edit, name="project_edit"),
    path("<int:pk>/investment/", views.investment_edit, name="investment_edit"),
    path("<int:pk>/milestones/new/", views.milestone_edit, name="milestone_create"),
    path("<int:pk>/milestones/<int:milestone_pk>/", views.milestone_edit, name="milestone_edit"),
    path("<int:pk>/problems/new/", views.problem_create, name="problem_create"),
    path("<int:pk>/problems/<int:problem_pk>/", views.problem_edit, name="problem_edit"),
    path("<int:pk>/notes/new/", views.note_create, name="note_create"),
    path("<int:pk>/attachments/new/", views.attachment_create, name="attachment_create"),
    path("<int:pk>/attachments/<int:attachment_pk>/", views.attachment_download, name="attachment_download"),
    path(
        "<int:pk>/attachments/<int:attachment_pk>/remove/", views.attachment_remove, name="attachment_remove"
    ),
    path("meetings/", views.meeting_list, name="meeting_list"),
    path("meetings/new/", views.meeting_create, name="meeting_create"),
    path("meetings/<int:pk>/", views.meeting_detail, name="meeting_detail"),
    path("meetings/<int:pk>/edit/", views.meeting_edit, name="meeting_edit"),
    path("meetings/<int:pk>/decisions/new/", views.decision_edit, name="decision_create"),
    path("meetings/<int:pk>/decisions/<int:decision_pk>/", views.decision_edit, name="decision_edit"),
    path(
        "meetings/<int:pk>/decisions/<int:decision_pk>/delete/", views.decision_delete, name="decision_delete"
    ),
]
