from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from jiedao.core import views as core_views
from jiedao.core.forms import StyledPasswordChangeForm

urlpatterns = [
    path("", core_views.home, name="home"),
    path("", include("jiedao.core.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password_change/",
        auth_views.PasswordChangeView.as_view(form_class=StyledPasswordChangeForm),
        name="password_change",
    ),
    path(
        "accounts/password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("i18n/", include("django.conf.urls.i18n")),
    path("audit/", include("jiedao.audit.urls")),
    path("inbox/", include("jiedao.notifications.urls")),
    path("cases/", include("jiedao.cases.urls")),
    path("portal/", include("jiedao.cases.public_urls")),
    path("people/", include("jiedao.people.urls")),
    path("search/", include("jiedao.search.urls")),
    path("projects/", include("jiedao.projects.urls")),
    path("supervision/", include("jiedao.supervision.urls")),
    path("relocation/", include("jiedao.relocation.urls")),
    path("patrol/", include("jiedao.patrol.urls")),
    path("open311/v2/", include("jiedao.cases.open311.urls")),
    path("api/v1/", include("jiedao.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]

handler404 = "jiedao.core.views.page_not_found"
handler403 = "jiedao.core.views.permission_denied"
