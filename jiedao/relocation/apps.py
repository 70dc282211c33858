from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RelocationConfig(AppConfig):
    name = "jiedao.relocation"
    label = "relocation"
    verbose_name = _("征收")

    def ready(self) -> None:
        # Register the module's actions, audit event kinds, reminder handler and 我的待办 provider.
        from jiedao.core.deadlines import register_due
        from jiedao.core.navigation import NavItem, register, requires
        from jiedao.relocation import events, rules, worklist_providers  # noqa: F401
        from jiedao.relocation.models import VisitReminder
        from jiedao.relocation.services import ring

        register_due(VisitReminder, ring)
        register(
            NavItem(
                "relocation",
                _("征收"),
                "relocation:project_list",
                "home-move",
                60,
                requires("relocation.view"),
                group="projects",
            )
        )
