from django.urls import path

from jiedao.core import views
from jiedao.core.views_calendar import urlpatterns_calendar

app_name = "core"

urlpatterns = [
    path("org/", views.org_tree, name="org_tree"),
    path("org/<str:code>/", views.org_unit, name="org_unit"),
    path("org/<str:code>/edit/", views.org_unit_edit, name="org_unit_edit"),
    path("org/<str:code>/add/", views.org_unit_add, name="org_unit_add"),
    path("org/<str:code>/move/", views.org_unit_move, name="org_unit_move"),
]

urlpatterns += urlpatterns_calendar
