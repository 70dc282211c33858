"""通报: the overdue matters per lead unit for a period.

A matter counts in the period when its (current) deadline falls in it. Per lead unit or department:
- 到期事项: matters due in the period;
- 按期办结: completed (办结) by the deadline;
- 逾期办结: completed after the deadline;
- 逾期未办结: still open and past the deadline (as of now);
- 逾期合计 = 逾期办结 + 逾期未办结; 按期办结率 = 按期办结 / (到期事项 − not yet due).
Each figure links to the matter list filtered the same way (`lead`, `due_after`, `due_before`, `late`).
Publishing freezes the table and the overdue matters behind it (`Bulletin.rows`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.audit.services import record_event
from jiedao.core.models import Department, OrgUnit, User
from jiedao.core.models.scope import under_path
from jiedao.supervision import rules
from jiedao.supervision.filters import day_start, late_q, lead_key
from jiedao.supervision.models import Bulletin, SupervisedMatter

#: The longest period one 通报 may cover.
MAX_DAYS = 366


@dataclass
class Row:
    key: str
    name: str
    due: int = 0
    on_time: int = 0
    done_late: int = 0
    open_late: int = 0
    matters: list[dict[str, Any]] = field(default_factory=list)

    @property
    def overdue(self) -> int:
        return self.done_late + self.open_late

    @property
    def on_time_rate(self) -> float | None:
        judged = self.on_time + self.overdue
        return round(self.on_time * 100 / judged, 1) if judged else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "overdue": self.overdue, "on_time_rate": self.on_time_rate}


def default_period(today: date | None = None) -> tuple[date, date]:
    """The last full month."""
    today = today or timezone.localdate()
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def check_period(start: date, end: date) -> None:
    if end < start:
        raise ValidationError(_("截止日期不能早于起始日期。"))
    if (end - start).days >= MAX_DAYS:
        raise ValidationError(_("一期通报最长 %(n)s 天。") % {"n": MAX_DAYS})


def in_period(queryset: QuerySet[SupervisedMatter], start: date, end: date) -> QuerySet[SupervisedMatter]:
    return queryset.filter(deadline__gte=day_start(start), deadline__lt=day_start(end) + timedelta(days=1))


def rows(
    queryset: QuerySet[SupervisedMatter],
    start: date,
    end: date,
    now: datetime | None = None,
    *,
    details: bool = False,
) -> list[Row]:
    """The table: one row per lead, most overdue first. `details`: with the overdue matters of each row."""
    now = now or timezone.now()
    check_period(start, end)
    matters = in_period(queryset, start, end).exclude(status="cancelled")
    grouped = (
        matters.order_by()
        .values("lead_unit_id", "lead_department_id")
        .annotate(
            due=Count("pk"),
            on_time=Count("pk", filter=late_q("on_time", now)),
            done_late=Count("pk", filter=late_q("done", now)),
            open_late=Count("pk", filter=late_q("open", now)),
        )
    )
    found = list(grouped)
    units = {
        u.pk: u.short_name or u.name
        for u in OrgUnit.objects.filter(pk__in={g["lead_unit_id"] for g in found if g["lead_unit_id"]})
    }
    depts = {
        d.pk: d.short_name or d.name
        for d in Department.objects.filter(
            pk__in={g["lead_department_id"] for g in found if g["lead_department_id"]}
        )
    }
    table: list[Row] = []
    for g in found:
        key = lead_key(g["lead_unit_id"], g["lead_department_id"])
        if not key:
            continue
        name = depts.get(g["lead_department_id"]) if g["lead_department_id"] else units.get(g["lead_unit_id"])
        table.append(Row(key, name or "", g["due"], g["on_time"], g["done_late"], g["open_late"]))
    if details and table:
        by_key = {r.key: r for r in table}
        late = matters.filter(late_q("any", now)).order_by("deadline", "number")
        for m in late.values(
            "number", "title", "status", "deadline", "completed_at", "lead_unit_id", "lead_department_id"
        ):
            row = by_key.get(lead_key(m["lead_unit_id"], m["lead_department_id"]))
            if row is not None:
                row.matters.append(
                    {
                        "number": m["number"],
                        "title": m["title"],
                        "deadline": timezone.localtime(m["deadline"]).strftime("%Y-%m-%d %H:%M"),
                        "completed_at": (
                            timezone.localtime(m["completed_at"]).strftime("%Y-%m-%d %H:%M")
                            if m["completed_at"]
                            else ""
                        ),
                    }
                )
    table.sort(key=lambda r: (-r.overdue, -r.open_late, r.name))
    return table


def totals(table: list[Row]) -> Row:
    total = Row("", _("合计"))
    for r in table:
        total.due += r.due
        total.on_time += r.on_time
        total.done_late += r.done_late
        total.open_late += r.open_late
    return total


def publish(
    actor: User, unit: OrgUnit, start: date, end: date, *, title: str = "", note: str = ""
) -> Bulletin:
    """Freeze the 通报 of `unit` (a sub-district the actor supervises) for the period. Publishing the same
    period twice within a minute (a double click) returns the first one."""
    from jiedao.supervision.services import _PathProbe

    if not rules.may_supervise(actor, _PathProbe(unit.path)):  # type: ignore[arg-type]
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied(_("只有督查部门或街道领导才能发布通报。"))
    check_period(start, end)
    title = (title or "").strip() or _("%(unit)s督办事项通报（%(start)s 至 %(end)s）") % {
        "unit": unit.short_name or unit.name,
        "start": f"{start:%Y-%m-%d}",
        "end": f"{end:%Y-%m-%d}",
    }
    now = timezone.now()
    with transaction.atomic():
        recent = Bulletin.objects.filter(
            org_unit=unit,
            period_start=start,
            period_end=end,
            published_by=actor,
            published_at__gte=now - timedelta(minutes=1),
        ).first()
        if recent is not None:
            return recent
        scope = SupervisedMatter.objects.filter(under_path("org_path", unit.path))
        table = rows(scope, start, end, now, details=True)
        bulletin = Bulletin.objects.create(
            org_unit=unit,
            title=title[:120],
            period_start=start,
            period_end=end,
            rows=[r.as_dict() for r in table],
            note=(note or "").strip(),
            published_at=now,
            published_by=actor,
        )
        record_event(
            "supervision.bulletin_publish",
            actor=actor,
            obj=bulletin,
            data={"start": start.isoformat(), "end": end.isoformat(), "rows": len(table)},
        )
    return bulletin
