"""The people import's background work (django-tasks, run by `manage.py db_worker`): the dry run ("检查") and
the commit ("确认导入") of a `PeopleImport`, with their progress written where the page polls it.

Each step is claimed with a conditional UPDATE on the import's status before it is enqueued (`start_check`,
`start_commit`): a second click, a second tab or a second worker finds the status moved on and does nothing.
The task itself runs only while the status is still the claimed one.

Progress: the dry run writes `done`/`total` on the import row (no transaction is open). The commit runs in one
transaction that ends with the import's status, counts and audit event; its progress goes through a second
connection on PostgreSQL. On SQLite the import's transaction holds the database's write lock, so no other
connection could write the progress: the page then shows the commit as running without a figure.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from jiedao.core.sheets import SheetFileError
from jiedao.people import importer
from jiedao.people.models import ImportStatus, PeopleImport

logger = logging.getLogger(__name__)

#: Rows of errors kept on the import for its page (the error workbook has every one).
ERRORS_KEPT = importer.ERROR_LIMIT
#: How often progress is written, at most.
PROGRESS_SECONDS = 0.5


def errors_file_name(imp: PeopleImport) -> str:
    """Where a dry run's error workbook is kept (private media, beside the uploaded file)."""
    return f"people/imports/{imp.token}/errors.xlsx"


# ---------------------------------------------------------------------------------------------------------
# Claiming a step


def start_check(imp: PeopleImport, mapping: dict[int, str]) -> bool:
    """Move the import to 检查中 with this column mapping (from 待确认列, 已检查 or 失败) and enqueue the dry
    run. False when another request has moved it on already (nothing is done twice)."""
    claimed = PeopleImport.objects.filter(
        pk=imp.pk, status__in=[ImportStatus.UPLOADED, ImportStatus.CHECKED, ImportStatus.FAILED]
    ).update(
        status=ImportStatus.CHECKING,
        mapping={str(col): name for col, name in mapping.items()},
        done=0,
        counts={},
        errors=[],
        error_count=0,
        message="",
        finished_at=None,
    )
    if claimed:
        default_storage.delete(errors_file_name(imp))
        transaction.on_commit(lambda: check_import.enqueue(imp.pk))
    return bool(claimed)


def start_commit(imp: PeopleImport) -> bool:
    """Move a checked import without errors to 导入中 and enqueue the commit. False when it is not (or no
    longer) waiting for that: a second 确认导入 does nothing."""
    claimed = PeopleImport.objects.filter(pk=imp.pk, status=ImportStatus.CHECKED, error_count=0).update(
        status=ImportStatus.COMMITTING, done=0, message=""
    )
    if claimed:
        transaction.on_commit(lambda: commit_import.enqueue(imp.pk))
    return bool(claimed)


# ---------------------------------------------------------------------------------------------------------
# The tasks


@task()
def check_import(import_id: int) -> dict[str, Any]:
    """The dry run: every row checked, counts and errors stored, the error workbook kept; nothing written."""
    imp = PeopleImport.objects.select_related("org_unit", "created_by").filter(pk=import_id).first()
    if imp is None or imp.status != ImportStatus.CHECKING:
        return {"skipped": True}
    book = importer.ErrorBook()
    try:
        with _local_file(imp) as path:
            result = importer.run(
                path,
                unit=imp.org_unit,
                actor=imp.created_by,
                kind=imp.kind,
                mapping=_mapping(imp),
                progress=Progress(imp.pk),
                on_bad_row=book.add,
                filename=imp.filename,
                error_limit=ERRORS_KEPT,
            )
        if result.error_count:
            default_storage.delete(errors_file_name(imp))
            default_storage.save(errors_file_name(imp), ContentFile(book.finish(result.headers)))
        else:
            book.finish(result.headers)
    except BaseException as exc:
        book.file.close()
        _failed(imp, ImportStatus.CHECKING, exc)
        raise
    PeopleImport.objects.filter(pk=imp.pk, status=ImportStatus.CHECKING).update(
        status=ImportStatus.CHECKED, **_outcome(result)
    )
    return result.counts()


@task()
def commit_import(import_id: int) -> dict[str, Any]:
    """The commit: every row written in one transaction with the import's new status, or nothing at all."""
    imp = PeopleImport.objects.select_related("org_unit", "created_by").filter(pk=import_id).first()
    if imp is None or imp.status != ImportStatus.COMMITTING:
        return {"skipped": True}
    progress = Progress(imp.pk)
    try:
        with _local_file(imp) as path, transaction.atomic():
            result = importer.run(
                path,
                unit=imp.org_unit,
                actor=imp.created_by,
                kind=imp.kind,
                mapping=_mapping(imp),
                commit=True,
                progress=progress,
                filename=imp.filename,
                source=imp,
                error_limit=ERRORS_KEPT,
            )
            progress.close()
            if result.committed:
                PeopleImport.objects.filter(pk=imp.pk).update(
                    status=ImportStatus.DONE, finished_at=timezone.now(), **_outcome(result)
                )
            else:  # the data changed since the dry run: back to the checked state with the new errors
                PeopleImport.objects.filter(pk=imp.pk).update(
                    status=ImportStatus.CHECKED,
                    message=_(
                        "检查之后数据有了变化，确认导入时发现错误，未写入任何数据。请查看错误后重新检查。"
                    ),
                    **_outcome(result),
                )
    except BaseException as exc:
        progress.close()
        _failed(imp, ImportStatus.COMMITTING, exc)
        raise
    return result.counts()


def _mapping(imp: PeopleImport) -> dict[int, str] | None:
    return {int(col): str(name) for col, name in imp.mapping.items()} if imp.mapping else None


def _outcome(result: importer.ImportResult) -> dict[str, Any]:
    return {
        "counts": result.counts(),
        "errors": [e._asdict() for e in result.errors[:ERRORS_KEPT]],
        "error_count": result.error_count,
        "total": result.total,
        "done": result.total,
        "header_row": result.header_row,
        "headers": result.headers,
    }


def _failed(imp: PeopleImport, status: str, exc: BaseException) -> None:
    """The step stopped: 失败 with a sentence for the page (the details are in the worker's log)."""
    if isinstance(exc, SheetFileError):
        message = str(exc)
    elif isinstance(exc, PermissionDenied):
        message = _("您已没有在%(unit)s导入的权限。") % {"unit": imp.org_unit.name}
    else:
        logger.exception("people import %s failed", imp.token)
        message = _("处理时出错，未写入任何数据。请重试；如仍出错，请联系系统管理员。")
    PeopleImport.objects.filter(pk=imp.pk, status=status).update(
        status=ImportStatus.FAILED, message=message, finished_at=timezone.now()
    )


@contextmanager
def _local_file(imp: PeopleImport) -> Iterator[Path]:
    """The uploaded file as a local path (a storage without local paths gets a temporary copy)."""
    try:
        local: str | None = imp.file.path
    except NotImplementedError:
        local = None
    if local is not None:
        yield Path(local)
        return
    suffix = Path(imp.filename).suffix.lower()
    with tempfile.NamedTemporaryFile(suffix=suffix) as copy, imp.file.open("rb") as source:
        shutil.copyfileobj(source, copy)
        copy.flush()
        yield Path(copy.name)


# ---------------------------------------------------------------------------------------------------------
# Progress


class Progress:
    """`run`'s progress callback: writes done/total on the import row at most every PROGRESS_SECONDS."""

    def __init__(self, import_id: int) -> None:
        self.import_id = import_id
        self.last = 0.0
        self.side: Any = None

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_SECONDS and done < total:
            return
        self.last = now
        try:
            if not connection.in_atomic_block:
                PeopleImport.objects.filter(pk=self.import_id).update(done=done, total=total)
            elif connection.vendor == "postgresql":
                self._side_update(done, total)
        except Exception:  # progress is a courtesy: never let it stop the import
            logger.warning("people import %s: progress not written", self.import_id, exc_info=True)

    def _side_update(self, done: int, total: int) -> None:
        """Through a second connection (autocommit), visible while the import's transaction is open."""
        if self.side is None:
            self.side = connections.create_connection(DEFAULT_DB_ALIAS)
        table = self.side.ops.quote_name(PeopleImport._meta.db_table)
        with self.side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET done = %s, total = %s WHERE id = %s", [done, total, self.import_id]
            )

    def close(self) -> None:
        if self.side is not None:
            self.side.close()
            self.side = None
