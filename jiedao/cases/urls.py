"""Staff pages of the cases module, under /cases/. Each views module owns its own list of patterns."""

from jiedao.cases import views, views_catalog, views_intake, views_measures

app_name = "cases"

urlpatterns = [
    *views_intake.urlpatterns,
    *views_measures.urlpatterns,
    *views_catalog.urlpatterns,
    *views.urlpatterns,
]
