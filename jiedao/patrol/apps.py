from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PatrolConfig(AppConfig):
    name = "jiedao.patrol"
    label = "patrol"
    verbose_name = _("巡查和应急")

    def ready(self) -> None:
        # Register the module's actions, audit event kinds and the patrol plans' due handler.
        from jiedao.core.deadlines import register_due
        from jiedao.core.navigation import NavItem, register, requires
        from jiedao.patrol import events, rules  # noqa: F401
        from jiedao.patrol.models import PatrolPlan
        from jiedao.patrol.services import fire_plan

        register_due(PatrolPlan, fire_plan)
        register(
            NavItem(
                "hazard_points",
                _("隐患点位"),
                "patrol:point_list",
                "alert-triangle",
                35,
                requires("hazard.view"),
                group="safety",
            )
        )
        register(
            NavItem(
                "patrol_map",
                _("巡查地图"),
                "patrol:map",
                "map-2",
                36,
                requires("hazard.view"),
                group="safety",
            )
        )
        register(
            NavItem(
                "emergencies",
                _("应急事件"),
                "patrol:event_list",
                "urgent",
                37,
                requires("emergency.view"),
                group="safety",
            )
        )
