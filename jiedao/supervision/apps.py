from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    name = "jiedao.supervision"
    label = "supervision"
    verbose_name = _("督查督办")

    def ready(self) -> None:
        # The module's actions, audit event kinds, due handler and 我的待办 provider.
        from jiedao.core.deadlines import register_due
        from jiedao.core.navigation import NavItem, register
        from jiedao.supervision import events, rules, services, worklist_providers  # noqa: F401
        from jiedao.supervision.models import MatterClock

        register_due(MatterClock, services.fire_clock)
        register(
            NavItem(
                "supervision",
                _("督查督办"),
                "supervision:matter_list",
                "flag-check",
                42,
                lambda user: (
                    rules.may_read_all(user)
                    or bool(rules.handler_units(user) or rules.handler_departments(user))
                ),
                group="projects",
            )
        )
