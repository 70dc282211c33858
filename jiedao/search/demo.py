"""The search app's demo step: the rows the other steps wrote in bulk (bulk_create sends no signals) get
their entries. Runs after the people and cases steps (INSTALLED_APPS order); only rows without an entry are
indexed, so a second run adds nothing."""

from __future__ import annotations

from io import TextIOBase

from django.utils.translation import gettext as _

from jiedao.core.demo import register_demo_step
from jiedao.search import index


def demo_search(scale: int, stdout: TextIOBase) -> None:
    written = index.rebuild(only_missing=True)
    stdout.write(_("搜索索引：新增 %(n)s 条。") % {"n": f"{sum(written.values()):,}"} + "\n")


register_demo_step("search.index", demo_search)
