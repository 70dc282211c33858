from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "jiedao.cases"
    label = "cases"
    verbose_name = _("工单")

    def ready(self) -> None:
        from jiedao.cases import clock, events, worklist_providers  # noqa: F401  (register handlers, kinds)
        from jiedao.core.navigation import NavItem, register, requires

        register(NavItem("cases", _("工单"), "cases:case_list", "clipboard-list", 20, requires("case.view")))
        register(NavItem("backlog", _("积案清零"), "cases:backlog", "flag", 22, requires("case.backlog")))
        register(
            NavItem("measures", _("三率统计"), "cases:measures", "chart-bar", 24, requires("case.measures"))
        )
