from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProjectsConfig(AppConfig):
    name = "jiedao.projects"
    label = "projects"
    verbose_name = _("重点项目")

    def ready(self) -> None:
        # Register the module's actions, audit event kinds and 我的待办 provider.
        from jiedao.core.navigation import NavItem, register, requires
        from jiedao.projects import events, rules, worklist_providers  # noqa: F401

        register(
            NavItem(
                "projects",
                _("重点项目"),
                "projects:project_list",
                "building-skyscraper",
                40,
                requires("project.view"),
                group="projects",
            )
        )
        register(
            NavItem(
                "meetings",
                _("例会"),
                "projects:meeting_list",
                "presentation",
                41,
                requires("meeting.view"),
                group="projects",
            )
        )
