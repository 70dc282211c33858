from rest_framework.routers import DefaultRouter

from jiedao.core.api import DepartmentViewSet, OrgUnitViewSet, UserViewSet

router = DefaultRouter()
router.register("org-units", OrgUnitViewSet, basename="org-unit")
router.register("departments", DepartmentViewSet, basename="department")
router.register("users", UserViewSet, basename="user")

urlpatterns = router.urls
