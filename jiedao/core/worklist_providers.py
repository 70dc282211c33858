"""The core module's entries in 我的待办: the user's pending reminders, and for calendar administrators the
years
whose public holidays are unknown (deadlines there are computed on weekends only)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiedao.core import worklist
from jiedao.core.deadlines import pending_reminders_for
from jiedao.core.models import CalendarWarning
from jiedao.core.permissions import can

WORKLIST_LIMIT = 50


def reminders(user: Any) -> list[worklist.WorkItem]:
    soon = timezone.now() + timedelta(hours=24)
    return [
        worklist.WorkItem(
            module=gettext_lazy("提醒"),
            title=r.title,
            url=r.url or reverse("home"),
            due_at=r.due_at,
            note=r.body[:120],
            level="warning" if r.due_at <= soon else "info",
        )
        for r in pending_reminders_for(user)[:WORKLIST_LIMIT]
    ]


def calendar_warnings(user: Any) -> list[worklist.WorkItem]:
    if not can(user, "calendar.change"):
        return []
    return [
        worklist.WorkItem(
            module=gettext_lazy("工作日历"),
            title=_("%(year)s 年的法定节假日尚未录入，期限暂按周末计算") % {"year": w.year},
            url=f"{reverse('core:calendar')}?year={w.year}&month=1",
            note=_("已被查询 %(times)s 次，请在工作日历中录入该年的放假和调休安排。") % {"times": w.times},
            level="danger",
        )
        for w in CalendarWarning.objects.filter(resolved=False).order_by("year")
    ]


worklist.register("core.reminders", reminders)
worklist.register("core.calendar_warnings", calendar_warnings)
