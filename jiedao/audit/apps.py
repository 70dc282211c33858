from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "jiedao.audit"
    label = "audit"
    verbose_name = _("审计")

    def ready(self) -> None:
        from jiedao.audit import kinds, permissions, signals  # noqa: F401
        from jiedao.core.navigation import NavItem, register, requires

        label = _("审计日志")
        register(
            NavItem(
                "audit",
                label,
                "audit:event_list",
                "shield-check",
                900,
                requires("audit.view"),
                group="system",
            )
        )
