"""The residents' portal (/portal/): no account needed."""

from django.urls import path

from jiedao.cases import public_views

app_name = "portal"
urlpatterns = [
    path("", public_views.home, name="home"),
    path("submit/", public_views.submit, name="submit"),
    path("submit/fields/", public_views.category_fields, name="category_fields"),
    path("submit/places/", public_views.places, name="places"),
    path("submitted/<str:number>/", public_views.submitted, name="submitted"),
    path("track/", public_views.track, name="track"),
    path("track/<str:number>/", public_views.case_status, name="case"),
    path("track/<str:number>/rate/", public_views.rate, name="rate"),
]
