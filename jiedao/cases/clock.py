"""Deadlines of cases: how long a case may take (per category and priority, or the statutory chain of the
信访工作条例 for petitions), its traffic light (红黄绿灯), and the timed actions the shared deadline engine
runs
(催办 before the deadline, escalation to the leader in charge when it is missed, the petition steps).

Every deadline carries the rule that produced it (`Case.deadline_rule`), shown wherever the deadline is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.cases.models import (
    OPEN_STATUSES,
    Case,
    Category,
    Clock,
    DeadlinePolicy,
    Light,
    Priority,
    Status,
    TimeUnit,
)
from jiedao.core.deadlines import register_due
from jiedao.core.models.deadlines import DueState
from jiedao.core.workdays import format_deadline, statutory_deadline_days, working_days_deadline

# 信访工作条例 (2022) periods, in days unless said otherwise.
PETITION_ACCEPT_DAYS = 15  # 第二十五条/第三十条: tell the petitioner within 15 days whether it is accepted
PETITION_FINISH_DAYS = 60  # 第三十二条: finish within 60 days of acceptance
PETITION_EXTENSION_MAX_DAYS = 30  # 第三十二条: extend once, by at most 30 days, with approval
PETITION_OBJECTION_WORKDAYS = 5  # object to a wrong transfer within 5 working days
REVIEW_REQUEST_DAYS = 30  # 第三十五条: ask for 复查 (or 复核) within 30 days of the reply
REVIEW_ANSWER_DAYS = 30  # answered within 30 days
EXTENSION_MAX_DAYS = 30  # any case: one extension asks for at most this many days

#: The share of the period after which a case turns yellow (a quarter of the time left).
YELLOW_AFTER = 0.75

#: Defaults when no DeadlinePolicy matches: (amount, unit, response hours, remind before hours).
DEFAULT_POLICIES: dict[str, tuple[int, str, int, int]] = {
    Priority.CRITICAL: (24, TimeUnit.HOURS, 2, 4),
    Priority.URGENT: (3, TimeUnit.DAYS, 12, 12),
    Priority.NORMAL: (10, TimeUnit.WORKDAYS, 24, 24),
}


@dataclass(frozen=True)
class Deadline:
    due_at: datetime
    warn_at: datetime
    rule: str

    def apply(self, case: Case) -> None:
        """Make this the case's current deadline (its due time, its yellow-light time and the rule)."""
        case.due_at, case.warn_at, case.deadline_rule = self.due_at, self.warn_at, self.rule


@dataclass(frozen=True)
class PolicyValues:
    amount: int
    unit: str
    response_hours: int
    remind_before_hours: int
    source: str


def policy_for(category: Category, priority: str) -> PolicyValues:
    """The most specific policy: this category or its nearest ancestor, priority-specific before any-priority,
    then the default row (no category), then the built-in defaults."""
    lineage = category.lineage()
    ids = [c.pk for c in lineage]
    rows = list(
        DeadlinePolicy.objects.filter(models.Q(category_id__in=ids) | models.Q(category__isnull=True)).filter(
            priority__in=[priority, ""]
        )
    )

    def rank(p: DeadlinePolicy) -> tuple[int, int]:
        depth = ids.index(p.category_id) if p.category_id in ids else len(ids)
        return (depth, 0 if p.priority else 1)

    if rows:
        best = min(rows, key=rank)
        name = best.category.name if best.category else _("默认")
        return PolicyValues(best.amount, best.unit, best.response_hours, best.remind_before_hours, name)
    amount, unit, response, remind = DEFAULT_POLICIES.get(priority, DEFAULT_POLICIES[Priority.NORMAL])
    return PolicyValues(amount, unit, response, remind, _("系统默认"))


def warn_time(start: datetime, due: datetime) -> datetime:
    """When a period from `start` to `due` turns yellow."""
    return start + (due - start) * YELLOW_AFTER


def period(start: datetime, amount: int, unit: str) -> tuple[datetime, str]:
    """The end of a period of `amount` `unit`s from `start`, and the rule in words."""
    if unit == TimeUnit.HOURS:
        due = start + timedelta(hours=amount)
        local = timezone.localtime(due)
        return due, _("自受理起 %(n)s 小时，至 %(at)s") % {"n": amount, "at": f"{local:%Y-%m-%d %H:%M}"}
    if unit == TimeUnit.WORKDAYS:
        result = working_days_deadline(start, amount)
        return result.due_at, result.rule
    result = statutory_deadline_days(start, amount)
    return result.due_at, result.rule


def handling_deadline(case: Case, start: datetime) -> Deadline:
    """The deadline for handling a case accepted (or reopened) at `start`."""
    return handling_deadline_for(
        None if case.is_petition else policy_for(case.category, case.priority), start
    )


def handling_deadline_for(policy: PolicyValues | None, start: datetime) -> Deadline:
    """The handling deadline under `policy`, or the statutory 60 days of a petition (policy None)."""
    if policy is None:
        due, rule = period(start, PETITION_FINISH_DAYS, TimeUnit.DAYS)
        rule = _("信访事项自受理之日起 60 日内办结（信访工作条例第三十二条）：%(rule)s") % {"rule": rule}
        return Deadline(due, warn_time(start, due), rule[:300])
    due, rule = period(start, policy.amount, policy.unit)
    rule = _("%(source)s时限 %(n)s%(unit)s：%(rule)s") % {
        "source": policy.source,
        "n": policy.amount,
        "unit": TimeUnit(policy.unit).label,
        "rule": rule,
    }
    return Deadline(due, warn_time(start, due), rule[:300])


def petition_accept_deadline(received_at: datetime) -> Deadline:
    due, rule = period(received_at, PETITION_ACCEPT_DAYS, TimeUnit.DAYS)
    rule = _("收到信访事项之日起 15 日内告知是否受理（信访工作条例第三十条）：%(rule)s") % {"rule": rule}
    return Deadline(due, warn_time(received_at, due), rule[:300])


def review_answer_deadline(requested_at: datetime, level: int) -> Deadline:
    due, rule = period(requested_at, REVIEW_ANSWER_DAYS, TimeUnit.DAYS)
    what = _("复查") if level == 0 else _("复核")
    rule = _("%(what)s自收到请求之日起 30 日内答复（信访工作条例第三十五条、第三十六条）：%(rule)s") % {
        "what": what,
        "rule": rule,
    }
    return Deadline(due, warn_time(requested_at, due), rule[:300])


def extended(case: Case, days: int) -> Deadline:
    """The current deadline moved by `days` 日 (an approved extension). A deadline that ends at 24:00 of a
    day is extended as a period in days counted from that day (民法典 §201–§203: a last day that is a rest
    day moves to the next working day); one at a time of day (a period in hours) moves by whole days."""
    assert case.due_at is not None
    return extend_deadline(case.due_at, case.deadline_rule, case.accepted_at or case.received_at, days)


def extend_deadline(due_at: datetime, old_rule: str, start: datetime, days: int) -> Deadline:
    """`due_at` (whose period ran from `start` under `old_rule`) extended by `days` 日, as `extended` says."""
    local = timezone.localtime(due_at)
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        result = statutory_deadline_days((local - timedelta(days=1)).date(), days)
        due, how = result.due_at, result.rule
    else:
        due = due_at + timedelta(days=days)
        how = f"{timezone.localtime(due):%Y-%m-%d %H:%M}"
    rule = _("经批准延期 %(days)s 日：%(how)s；原时限：%(old)s") % {"days": days, "how": how, "old": old_rule}
    return Deadline(due, warn_time(start, due), rule[:300])


def remind_text(number: str, due_at: datetime) -> str:
    """The 催办 the engine sends before a deadline (also written by the demo's simulated timelines)."""
    return _("催办：工单 %(n)s 将于 %(at)s 到期") % {"n": number, "at": format_deadline(due_at, "m-d H:i")}


def overdue_text(number: str) -> str:
    return _("超期：工单 %(n)s 已超过办理时限，请督办") % {"n": number}


def light_of(case: Case, now: datetime | None = None) -> str:
    """红黄绿灯: red past the deadline, yellow in its last quarter, green before; closed cases show whether
    they
    closed in time."""
    if case.due_at is None:
        return Light.NONE
    if case.status not in OPEN_STATUSES:
        if case.closed_at is None:
            return Light.NONE
        return Light.RED if case.closed_at > case.due_at else Light.GREEN
    now = now or timezone.now()
    if now > case.due_at:
        return Light.RED
    if case.warn_at is not None and now >= case.warn_at:
        return Light.YELLOW
    return Light.GREEN


def light_q(light: str, now: datetime | None = None) -> models.Q:
    """The open cases with this light, as a filter on stored columns (indexed by due_at)."""
    now = now or timezone.now()
    open_ = models.Q(status__in=OPEN_STATUSES)
    if light == Light.RED:
        return open_ & models.Q(due_at__lt=now)
    if light == Light.YELLOW:
        return open_ & models.Q(warn_at__lte=now, due_at__gte=now)
    if light == Light.GREEN:
        return (
            open_ & models.Q(due_at__gte=now) & (models.Q(warn_at__gt=now) | models.Q(warn_at__isnull=True))
        )
    return models.Q(due_at__isnull=True)


def contest_window_refusal(case: Case, now: datetime | None = None) -> str | None:
    """A petition's wrong transfer must be objected to within 5 working days of the dispatch."""
    if not case.is_petition or case.dispatched_at is None:
        return None
    limit = working_days_deadline(case.dispatched_at, PETITION_OBJECTION_WORKDAYS)
    if (now or timezone.now()) > limit.due_at:
        return _("信访事项转送有误须在 5 个工作日内提出异议，期限已过（%(rule)s）。") % {"rule": limit.rule}
    return None


def review_window_refusal(case: Case, now: datetime | None = None) -> str | None:
    """复查 within 30 days of the reply, 复核 within 30 days of the 复查 answer; nothing after 复核."""
    if case.review_level >= 2:
        return _("该信访事项已经复核，信访人以同一事实和理由提出的请求不再受理（信访工作条例第三十五条）。")
    if case.closed_at is None:
        return _("尚未答复，不能申请复查。")
    limit = statutory_deadline_days(case.closed_at, REVIEW_REQUEST_DAYS)
    if (now or timezone.now()) > limit.due_at:
        what = _("复查") if case.review_level == 0 else _("复核")
        return _("%(what)s须在收到答复意见之日起 30 日内提出，期限已过（%(rule)s）。") % {
            "what": what,
            "rule": limit.rule,
        }
    return None


# ---------------------------------------------------------------------------------------------------------
# Timed actions (Clock rows) and their handlers


def cancel_clocks(case: Case, kinds: list[str] | None = None) -> int:
    qs = Clock.objects.filter(case=case, due_state=DueState.PENDING)
    if kinds is not None:
        qs = qs.filter(kind__in=kinds)
    return qs.update(due_state=DueState.CANCELLED, claim_token=None)


def schedule_clocks(case: Case, now: datetime | None = None, *, new_case: bool = False) -> list[Clock]:
    """Replace the case's pending timed actions with those its current state and deadlines call for
    (`new_case`: the case was just made and has none to replace)."""
    now = now or timezone.now()
    if not new_case:
        cancel_clocks(case)
    clocks: list[Clock] = []
    if case.status not in OPEN_STATUSES:
        return clocks
    if case.status == Status.REGISTERED and case.is_petition:
        limit = petition_accept_deadline(case.received_at)
        clocks.append(
            Clock(case=case, kind=Clock.Kind.PETITION_ACCEPT, deadline=limit.due_at, due_at=limit.due_at)
        )
    if case.due_at is not None and case.status != Status.REGISTERED:
        kind = Clock.Kind.REVIEW_ANSWER if case.status == Status.UNDER_REVIEW else Clock.Kind.OVERDUE
        clocks.append(Clock(case=case, kind=kind, deadline=case.due_at, due_at=case.due_at))
        policy = policy_for(case.category, case.priority)
        remind_at = case.due_at - timedelta(hours=policy.remind_before_hours)
        if remind_at > now and case.status != Status.UNDER_REVIEW:
            clocks.append(Clock(case=case, kind=Clock.Kind.REMIND, deadline=case.due_at, due_at=remind_at))
    if case.status == Status.DISPATCHED and case.response_due_at is not None and case.responded_at is None:
        clocks.append(
            Clock(
                case=case,
                kind=Clock.Kind.RESPONSE,
                deadline=case.response_due_at,
                due_at=case.response_due_at,
            )
        )
    Clock.objects.bulk_create(clocks)
    return clocks


def fire_clock(clock: Clock) -> None:
    """The engine's handler: 催办 / escalation / statutory reminders, each recorded on the timeline and in the
    audit log, with notifications on commit. A clock whose case moved on does nothing."""
    from jiedao.cases.services import on_clock

    on_clock(clock)


register_due(Clock, fire_clock)
