from django.urls import path

from jiedao.audit import views

app_name = "audit"

urlpatterns = [
    path("", views.event_list, name="event_list"),
    path("<int:seq>/", views.event_detail, name="event_detail"),
    path("verify/", views.chain_verify, name="verify"),
    path("history/<str:app_label>/<str:model_name>/<str:pk>/", views.record_history, name="record_history"),
]
