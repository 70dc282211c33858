from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SearchConfig(AppConfig):
    name = "jiedao.search"
    label = "search"
    verbose_name = _("搜索")

    def ready(self) -> None:
        # The people and cases kinds, then the receivers that keep cases (and deletions) in step.
        from jiedao.search import providers, signals  # noqa: F401

        signals.connect()
