"""`python manage.py schedule_tick`: queue the first run of the periodic deadline task.

    python manage.py schedule_tick && python manage.py db_worker

Does nothing when a run is already waiting, so it is safe to call at every deploy (see `jiedao.core.tasks`).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jiedao.core.tasks import schedule_next_tick, tick_task


class Command(BaseCommand):
    help = "Enqueue the periodic deadline task (tick_task) unless a run is already waiting."

    def handle(self, *args: Any, **options: Any) -> None:
        if not tick_task.get_backend().supports_defer:
            raise CommandError("The task backend cannot defer tasks: use django_tasks_db.DatabaseBackend.")
        if schedule_next_tick():
            self.stdout.write("tick_task enqueued; run `python manage.py db_worker` to process it.")
        else:
            self.stdout.write("tick_task is already waiting in the queue; nothing to do.")
