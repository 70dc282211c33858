"""/patrol/…: hazard points, the map, emergency events, patrol plans, records and coverage."""

from django.urls import path

from jiedao.patrol import views

app_name = "patrol"

urlpatterns = [
    path("points/", views.point_list, name="point_list"),
    path("points/export.xlsx", views.point_export, name="point_export"),
    path("points/new/", views.point_create, name="point_create"),
    path("points/import/", views.point_import, name="point_import"),
    path("points/import/template.xlsx", views.point_import_template, name="point_import_template"),
    path("points/<int:pk>/", views.point_detail, name="point_detail"),
    path("points/<int:pk>/edit/", views.point_edit, name="point_edit"),
    path("photos/<str:kind>/<int:pk>/", views.photo, name="photo"),
    path("map/", views.map_page, name="map"),
    path("map/data.json", views.map_data, name="map_data"),
    path("events/", views.event_list, name="event_list"),
    path("events/new/", views.event_create, name="event_create"),
    path("events/<int:pk>/", views.event_detail, name="event_detail"),
    path("events/<int:pk>/board/", views.event_board, name="event_board"),
    path("events/<int:pk>/mine/", views.event_mine, name="event_mine"),
    path("events/<int:pk>/checks/<int:check>/", views.event_check, name="event_check"),
    path("events/<int:pk>/records/", views.event_record, name="event_record"),
    path("events/<int:pk>/close/", views.event_close, name="event_close"),
    path("events/<int:pk>/summary/", views.event_summary, name="event_summary"),
    path("events/<int:pk>/summary.xlsx", views.event_summary_export, name="event_summary_export"),
    path("plans/", views.plan_list, name="plan_list"),
    path("plans/new/", views.plan_create, name="plan_create"),
    path("plans/<int:pk>/", views.plan_detail, name="plan_detail"),
    path("plans/<int:pk>/edit/", views.plan_edit, name="plan_edit"),
    path("plans/<int:pk>/patrol/", views.plan_patrol, name="plan_patrol"),
    path("records/", views.record_list, name="record_list"),
    path("records/<int:pk>/", views.record_detail, name="record_detail"),
    path("coverage/", views.coverage, name="coverage"),
]
