"""The search index: one `SearchEntry` per searchable record (a resident, a place, an organisation, a case).

`terms` holds the record's words as the segmenter cut them (space-separated, lower case, pinyin of names
included); `scope` holds the record's scope words (`jiedao.search.segment.scope_words`), so that "only what
this user may see" is answered inside the full-text index as well as by the `org_path` test. The full-text
index itself is not a Django field (migration 0002 creates it per database):

- SQLite: the FTS5 table `search_searchentry_fts` (external content: this table), kept in step by triggers
  in the same transaction as every insert, update and delete of an entry;
- PostgreSQL: the stored generated column `search_vector` (the tokens of `terms` and `scope` as lexemes,
  plus the terms' 1–3 character prefixes) with a GIN index.

Django's model state knows neither: a later migration that makes SQLite rebuild this table (AlterField and
the like copy it into a new table) must create the three triggers again (see migration 0002).

The link to the record is computed from `kind` and `object_id` (`jiedao.search.registry`), never stored.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SearchEntry(models.Model):
    kind = models.CharField(_("类型"), max_length=20)
    object_id = models.BigIntegerField(_("对象编号"))
    org_path = models.CharField(_("组织路径"), max_length=255)
    restricted = models.BooleanField(
        _("需额外权限"), default=False, help_text=_("如保密工单：还需要该类型的额外查看权限。")
    )
    title = models.CharField(_("标题"), max_length=200)
    subtitle = models.CharField(_("说明"), max_length=300, blank=True)
    terms = models.TextField(_("检索词"), blank=True)
    scope = models.TextField(_("范围词"), blank=True)

    class Meta:
        verbose_name = _("搜索条目")
        verbose_name_plural = _("搜索条目")
        constraints = [models.UniqueConstraint(fields=["kind", "object_id"], name="search_entry_object")]
        # The scope column, per kind: a kind's entries under one unit in path order (PostgreSQL reads the
        # first few thousand of them when a query matches too many entries for its GIN index to be quick, see
        # `jiedao.search.query._probed`; a moved unit's entries are found by it). No index of `org_path`
        # alone: every index is paid on each of a million inserts, and every scope test names the kind.
        indexes = [models.Index(fields=["kind", "org_path"], name="search_entry_kind_path")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.object_id} {self.title}"
