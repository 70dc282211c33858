"""The search pages, included by the project under /search/."""

from jiedao.search import views

app_name = "search"

urlpatterns = views.urlpatterns
