from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeopleConfig(AppConfig):
    name = "jiedao.people"
    label = "people"
    verbose_name = _("人口和房屋")

    def ready(self) -> None:
        # Register the module's actions, audit event kinds and the care subjects' due handler.
        from jiedao.people import care, events, rules  # noqa: F401
