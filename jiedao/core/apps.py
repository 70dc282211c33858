from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "jiedao.core"
    label = "core"
    verbose_name = _("基础")

    def ready(self) -> None:
        from jiedao.core import signals  # noqa: F401
        from jiedao.core.navigation import NavItem, register, requires

        register(NavItem("home", _("我的待办"), "home", "checklist", 0, lambda user: user.is_authenticated))
        register(NavItem("org", _("组织架构"), "core:org_tree", "sitemap", 10, requires("org.view")))
        register(
            NavItem(
                "calendar",
                _("工作日历"),
                "core:calendar",
                "calendar",
                800,
                requires("calendar.view"),
                group="system",
            )
        )

        from jiedao.core import worklist_providers  # noqa: F401
