from rest_framework.routers import DefaultRouter

from jiedao.cases.api import CaseViewSet, CategoryViewSet, DispatchRuleViewSet
from jiedao.core.api import DepartmentViewSet, OrgUnitViewSet, UserViewSet

router = DefaultRouter()
router.register("org-units", OrgUnitViewSet, basename="org-unit")
router.register("departments", DepartmentViewSet, basename="department")
router.register("users", UserViewSet, basename="user")
router.register("cases", CaseViewSet, basename="case")
router.register("case-categories", CategoryViewSet, basename="case-category")
router.register("dispatch-rules", DispatchRuleViewSet, basename="dispatch-rule")

urlpatterns = router.urls
