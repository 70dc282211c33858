from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "jiedao.cases"
    label = "cases"
    verbose_name = _("工单")

    def ready(self) -> None:
        # Register the module's actions, audit event kinds, due handler and 我的待办 provider.
        from jiedao.cases import clock, events, rollup, rules, worklist_providers  # noqa: F401
        from jiedao.core.navigation import NavItem, register, requires

        # Navigation entries (one line per page, added by the page's owner):
        register(
            NavItem(
                "cases",
                _("工单"),
                "cases:case_list",
                "clipboard-list",
                20,
                requires("case.view"),
                group="cases",
            )
        )
        register(
            NavItem(
                "backlog", _("积案清零"), "cases:backlog", "flag", 22, requires("case.backlog"), group="cases"
            )
        )
        register(
            NavItem(
                "measures",
                _("三率统计"),
                "cases:measures",
                "chart-bar",
                24,
                requires("case.measures"),
                group="cases",
            )
        )
        register(
            NavItem(
                "case_report", _("上报"), "cases:report", "camera", 21, requires("case.create"), group="cases"
            )
        )
        register(
            NavItem(
                "case_catalog",
                _("派单目录"),
                "cases:dispatch_table",
                "route",
                26,
                requires("dispatch.view"),
                group="cases",
            )
        )
