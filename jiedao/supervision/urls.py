"""Pages of supervised matters, under /supervision/."""

from django.urls import path

from jiedao.supervision import views

app_name = "supervision"

urlpatterns = [
    path("", views.matter_list, name="matter_list"),
    path("export.xlsx", views.matter_export, name="matter_export"),
    path("new/", views.matter_create, name="matter_create"),
    path("from-decision/<int:pk>/", views.matter_from_decision, name="matter_from_decision"),
    path("bulletin/", views.bulletin, name="bulletin"),
    path("bulletin/export.xlsx", views.bulletin_export, name="bulletin_export"),
    path("bulletin/publish/", views.bulletin_publish, name="bulletin_publish"),
    path("bulletin/<int:pk>/", views.bulletin_detail, name="bulletin_detail"),
    path("<str:number>/", views.matter_detail, name="matter_detail"),
    path("<str:number>/edit/", views.matter_edit, name="matter_edit"),
    path("<str:number>/act/<str:name>/", views.matter_action, name="matter_action"),
    path("<str:number>/files/<int:pk>/", views.attachment, name="attachment"),
]
