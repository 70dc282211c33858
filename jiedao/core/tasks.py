"""The deadline engine as a django-tasks job that keeps itself scheduled.

`tick_task` runs one pass of `run_due` and then enqueues its own next run for
`now + settings.TICK_INTERVAL_SECONDS`, so the database worker runs the engine periodically. Start it with::

    python manage.py schedule_tick && python manage.py db_worker

`schedule_tick` enqueues the first run unless one is already waiting, so it is safe to run at every deploy.
If the chain ever breaks (the worker was killed between the pass and the enqueue), running `schedule_tick`
again restarts it. `python manage.py tick --loop` is the alternative without django-tasks.

With a backend that cannot defer tasks (the immediate backend used in tests) the next run is not enqueued.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import TaskResultStatus, task

from jiedao.core.deadlines import run_due

logger = logging.getLogger(__name__)


def _tick_waiting() -> bool:
    """Is a run of `tick_task` already queued (READY) in django_tasks_db?"""
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(
        status=TaskResultStatus.READY, task_path=tick_task.module_path
    ).exists()


def schedule_next_tick(run_after: datetime | None = None) -> bool:
    """Enqueue a run of `tick_task` (at `run_after`, or as soon as a worker is free) unless one is waiting.

    Returns whether a run was enqueued. Only for a backend that supports deferred tasks (django_tasks_db).
    """
    backend = tick_task.get_backend()
    if not backend.supports_defer:
        logger.info("tick: task backend %s cannot defer; not scheduling the next run", backend.alias)
        return False
    with transaction.atomic():
        if _tick_waiting():
            return False
        if run_after is None:
            tick_task.enqueue()
        else:
            tick_task.using(run_after=run_after).enqueue()
    return True


@task()
def tick_task() -> dict[str, int]:
    """One pass of the deadline engine, then schedule the next one TICK_INTERVAL_SECONDS from now."""
    try:
        report = run_due()
        logger.info("tick: %s", report)
        return report.as_dict()
    finally:
        schedule_next_tick(timezone.now() + timedelta(seconds=settings.TICK_INTERVAL_SECONDS))
