from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeopleConfig(AppConfig):
    name = "jiedao.people"
    label = "people"
    verbose_name = _("人口和房屋")

    def ready(self) -> None:
        # Register the module's actions, audit event kinds and the care subjects' due handler.
        from jiedao.core.navigation import NavItem, register, requires
        from jiedao.people import care, events, rules  # noqa: F401

        # Navigation entries: the lists take their kind in the URL (see urls.py).
        register(
            NavItem(
                "residents",
                _("居民"),
                "people:resident_list",
                "users",
                30,
                requires("resident.view"),
                group="people",
            )
        )
        register(
            NavItem(
                "places",
                _("房屋"),
                "people:compound_list",
                "building-community",
                31,
                requires("place.view"),
                group="people",
            )
        )
        register(
            NavItem(
                "organisations",
                _("单位组织"),
                "people:organisation_list",
                "building-skyscraper",
                32,
                requires("organisation.view"),
                group="people",
            )
        )
        register(
            NavItem(
                "care",
                _("关爱走访"),
                "people:care_list",
                "heart-handshake",
                33,
                requires("care.view"),
                group="people",
            )
        )
