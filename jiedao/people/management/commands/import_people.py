"""python manage.py import_people FILE --community CODE [--kind residents|organisations] [--commit]

The import of the web pages, for administrators on the command line (as the system: no user). Without
--commit it only checks (nothing is written). It prints the counts and the first errors by row, and exits
with 1 when any row has an error; then nothing is written, with --commit too."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from jiedao.core.models import OrgUnit
from jiedao.core.sheets import SheetFileError
from jiedao.people import importer
from jiedao.people.models import ImportKind

ERRORS_SHOWN = 20


class Command(BaseCommand):
    help = (
        "导入居民（含户和房屋）或单位组织台账：默认只检查不写入，加 --commit 才写入；有错误的行时退出码为 1。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the sheet: .xlsx, .xls or .csv")
        parser.add_argument(
            "--community",
            required=True,
            metavar="CODE",
            help="code of the community, village or grid the rows belong to",
        )
        parser.add_argument("--kind", choices=ImportKind.values, default=ImportKind.RESIDENTS)
        parser.add_argument("--commit", action="store_true", help="write (all rows in one transaction)")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("找不到文件 %(path)s。") % {"path": path})
        unit = OrgUnit.objects.filter(code=options["community"], is_active=True).first()
        if unit is None or unit.kind not in importer.UNIT_KINDS:
            raise CommandError(_("没有编号为 %(code)s 的社区、村或网格。") % {"code": options["community"]})
        commit = bool(options["commit"])
        progress = self._progress if options["verbosity"] >= 2 else None
        try:
            result = importer.run(
                path, unit=unit, actor=None, kind=options["kind"], commit=commit, progress=progress
            )
        except SheetFileError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            _(
                "%(file)s → %(unit)s：%(total)d 行，新增 %(created)d，更新 %(updated)d，"
                "未变 %(unchanged)d，错误 %(errors)d。"
            )
            % {
                "file": path.name,
                "unit": unit.name,
                "total": result.total,
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "errors": result.error_count,
            }
        )
        for error in result.errors[:ERRORS_SHOWN]:
            self.stdout.write(str(error))
        if len(result.errors) > ERRORS_SHOWN or result.error_count > ERRORS_SHOWN:
            self.stdout.write(_("……（只列出前 %(n)d 条错误）") % {"n": ERRORS_SHOWN})
        if result.error_count:
            raise CommandError(
                _("有 %(n)d 行错误，未写入任何数据。") % {"n": result.error_count}, returncode=1
            )
        if commit:
            self.stdout.write(self.style.SUCCESS(_("已导入。")))
        else:
            self.stdout.write(_("这是检查，未写入任何数据；加 --commit 导入。"))

    def _progress(self, done: int, total: int) -> None:
        sys.stderr.write(f"\r{done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
