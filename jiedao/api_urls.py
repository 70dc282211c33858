from django.urls import path
from rest_framework.routers import DefaultRouter

from jiedao.cases.api import CaseViewSet, CategoryViewSet, DispatchRuleViewSet
from jiedao.core.api import DepartmentViewSet, OrgUnitViewSet, UserViewSet
from jiedao.patrol.api import register as register_patrol
from jiedao.people.api import (
    BuildingViewSet,
    CompoundViewSet,
    DwellingViewSet,
    HouseholdViewSet,
    OrganisationViewSet,
    ResidentViewSet,
)
from jiedao.projects.api import register as register_projects
from jiedao.relocation.api import register as register_relocation
from jiedao.search.api import SearchAPIView
from jiedao.supervision.api import register as register_supervision

router = DefaultRouter()
router.register("org-units", OrgUnitViewSet, basename="org-unit")
router.register("departments", DepartmentViewSet, basename="department")
router.register("users", UserViewSet, basename="user")
router.register("cases", CaseViewSet, basename="case")
router.register("case-categories", CategoryViewSet, basename="case-category")
router.register("dispatch-rules", DispatchRuleViewSet, basename="dispatch-rule")
router.register("residents", ResidentViewSet, basename="resident")
router.register("households", HouseholdViewSet, basename="household")
router.register("compounds", CompoundViewSet, basename="compound")
router.register("buildings", BuildingViewSet, basename="building")
router.register("dwellings", DwellingViewSet, basename="dwelling")
router.register("organisations", OrganisationViewSet, basename="organisation")
register_projects(router)
register_supervision(router)
register_relocation(router)
register_patrol(router)

urlpatterns = [path("search/", SearchAPIView.as_view(), name="search"), *router.urls]
