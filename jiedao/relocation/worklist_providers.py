"""The expropriation module's entries in 我的待办: the user's open visit reminders (定时闹钟), overdue ones in
red, today's in yellow, the coming week's in blue. They stay until a visit is recorded or the reminder is
cancelled (the engine rings once, at the time; the list keeps what is still to do)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiedao.core import worklist
from jiedao.relocation.models import ReminderStatus, VisitReminder
from jiedao.relocation.services import household_url, reminder_due_at

LIMIT = 30
AHEAD_DAYS = 7


def visit_reminders(user: Any) -> list[worklist.WorkItem]:
    if not getattr(user, "is_authenticated", False):
        return []
    today = timezone.localdate()
    start_today = reminder_due_at(today).replace(hour=0, minute=0)
    end_today = reminder_due_at(today + timedelta(days=1)).replace(hour=0, minute=0)
    reminders = (
        VisitReminder.objects.filter(
            assignee=user,
            status=ReminderStatus.OPEN,
            due_at__lt=reminder_due_at(today + timedelta(days=AHEAD_DAYS + 1)),
        )
        .select_related("household__project")
        .order_by("due_at", "pk")[:LIMIT]
    )
    items = []
    for reminder in reminders:
        household = reminder.household
        level = (
            "danger"
            if reminder.due_at < start_today
            else "warning"
            if reminder.due_at < end_today
            else "info"
        )
        items.append(
            worklist.WorkItem(
                module=gettext_lazy("征收"),
                title=_("回访 %(household)s（%(project)s）")
                % {"household": household, "project": household.project},
                url=household_url(household),
                due_at=reminder.due_at,
                note=reminder.note,
                level=level,
            )
        )
    return items


worklist.register("relocation.reminders", visit_reminders)
