"""Care subjects' "not visited for N days" warning, through the shared deadline engine: a care subject is due
at its last visit (or the day it was listed) plus its period. When that passes, the engine claims the row and
this handler tells the responsible grid worker (or the grid's and community's staff when none is named),
marks the warning on the row and writes an audit event. A visit puts the row back to pending at the new date
(`services.record_visit`)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.audit.services import record_event
from jiedao.core.deadlines import register_due
from jiedao.core.models import Role
from jiedao.core.services import people
from jiedao.notifications.services import notify
from jiedao.people.models import CareSubject


def next_due(last: date, every_days: int) -> datetime:
    """The morning after the period ends (08:00 local time): the warning arrives at the start of a workday."""
    day = last + timedelta(days=every_days + 1)
    return timezone.make_aware(datetime.combine(day, time(8, 0)))


def days_since_visit(care: CareSubject, today: date) -> int:
    return (today - (care.last_visit_at or care.since)).days


def fire_care(care: CareSubject) -> None:
    """The engine's handler (inside its transaction)."""
    if care.until is not None:
        return
    today = timezone.localdate()
    days = days_since_visit(care, today)
    recipients = [care.worker] if care.worker is not None and care.worker.is_active else []
    if not recipients:  # no one named: the grid's workers, else the community's staff
        recipients = people(unit=care.org_unit_id, roles=[Role.GRID_WORKER]) or people(
            at_or_above=care.org_path, roles=[Role.COMMUNITY_STAFF]
        )
    resident = care.resident
    notify(
        recipients,
        title=_("关爱对象 %(name)s 已 %(days)s 天未走访") % {"name": resident.name, "days": days},
        body=_("走访周期 %(every)s 天，最近走访：%(last)s。")
        % {
            "every": care.visit_every_days,
            "last": care.last_visit_at.isoformat() if care.last_visit_at else _("无"),
        },
        url=reverse("people:care_detail", args=[care.pk]),
        kind="people.care_overdue",
    )
    CareSubject.objects.filter(pk=care.pk).update(warned_at=timezone.now(), version=F("version") + 1)
    record_event(
        "people.care_overdue",
        obj=care,
        data={"resident": resident.pk, "days": days, "notified": [u.pk for u in recipients]},
    )


register_due(CareSubject, fire_care)
