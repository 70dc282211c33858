"""Who may do what to a case: the cases module's actions (registered with the one authorization module,
`jiedao.core.permissions`) and the per-case rules on top of them (the lead unit's people handle; the verifier
is
not the handler). `allowed(user, case)` is what the case page shows as buttons; `check(user, case, name)` is
what every service calls and raises PermissionDenied / ValidationError with a reason a person can read."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _

from jiedao.cases import workflow
from jiedao.cases.models import Assignment, Case
from jiedao.core.models import Role
from jiedao.core.models.scope import under_path
from jiedao.core.permissions import (
    STAFF_READERS,
    can,
    departments_of,
    is_unrestricted,
    register,
    roles_of,
    scope_paths,
)

R = Role
HANDLERS = {R.DEPARTMENT_STAFF, R.COMMUNITY_STAFF, R.GRID_WORKER, R.LEADER, R.DISTRICT_STAFF, R.ADMINISTRATOR}
DECIDERS = {R.LEADER, R.DEPARTMENT_STAFF, R.COMMUNITY_STAFF, R.DISTRICT_STAFF, R.ADMINISTRATOR}
OVERSEERS = {R.LEADER, R.DISTRICT_STAFF, R.ADMINISTRATOR}

register(
    {
        "case.view": STAFF_READERS,
        "case.view_confidential": {
            R.LEADER,
            R.DEPARTMENT_STAFF,
            R.DISTRICT_STAFF,
            R.AUDITOR,
            R.ADMINISTRATOR,
        },
        "case.create": STAFF_READERS - {R.AUDITOR},
        "case.accept": DECIDERS,
        "case.dispatch": DECIDERS,
        "case.handle": HANDLERS,
        "case.verify": DECIDERS,
        "case.close": DECIDERS,
        "case.rate": DECIDERS,
        "case.approve_extension": OVERSEERS,
        "case.escalate": {R.LEADER, R.ADMINISTRATOR},
        "case.whistle": {R.LEADER, R.DEPARTMENT_STAFF, R.DISTRICT_STAFF, R.ADMINISTRATOR},
        "case.review": OVERSEERS,
        "case.comment": STAFF_READERS - {R.AUDITOR},
        "case.reveal": DECIDERS,
        "case.export": STAFF_READERS,
        "case.import": {R.DEPARTMENT_STAFF, R.LEADER, R.DISTRICT_STAFF, R.ADMINISTRATOR},
        "case.measures": {
            R.LEADER,
            R.DEPARTMENT_STAFF,
            R.COMMUNITY_STAFF,
            R.DISTRICT_STAFF,
            R.AUDITOR,
            R.ADMINISTRATOR,
        },
        "case.backlog": {R.LEADER, R.DEPARTMENT_STAFF, R.DISTRICT_STAFF, R.AUDITOR, R.ADMINISTRATOR},
        "category.view": STAFF_READERS,
        "category.change": {R.ADMINISTRATOR},
        "dispatch.view": STAFF_READERS,
        "dispatch.change": {R.ADMINISTRATOR},
    }
)


def may_handle(user: Any, case: Case) -> bool:
    """Is the user among the lead unit's people: staff of the lead department, or attached at or above the
    lead unit with "case.handle" (a leader above a community may act for it)."""
    if is_unrestricted(user):
        return True
    if case.lead_department_id is not None:
        if case.lead_department_id in departments_of(user) and can(user, "case.handle", case.lead_department):
            return True
        return bool(roles_of(user) & {R.LEADER, R.DISTRICT_STAFF}) and can(user, "case.handle", case)
    if case.lead_unit_id is None:
        return False
    assert case.lead_unit is not None
    return can(user, "case.handle", case.lead_unit)


def led_by_q(user: Any, using: str = "default") -> Q:
    """Cases whose lead is the user's: their department's, or a unit at or below one where they may handle
    cases (the queryset form of `may_handle`'s lead rule, for work lists)."""
    lead = Q(pk__in=[])
    depts = departments_of(user)
    if depts:
        lead |= Q(lead_department_id__in=depts)
    for path in scope_paths(user, "case.handle") or []:
        lead |= Q(lead_department__isnull=True) & under_path("lead_unit__path", path, using)
    return lead


def pending_whistle(user: Any, case: Case) -> Assignment | None:
    """The whistle assignment this user may report in for (their department or unit was called)."""
    depts = departments_of(user)
    for a in case.assignments.all():
        if a.role != Assignment.Role.WHISTLE or a.state != Assignment.State.PENDING:
            continue
        if a.department_id is not None and a.department_id in depts:
            return a
        if a.unit is not None and can(user, "case.handle", a.unit):
            return a
    return None


def _who_refusal(user: Any, case: Case, step: workflow.Transition) -> str | None:
    """Why this user's role, scope or part in the case rules the step out (None: the person may)."""
    if not can(user, step.permission, case) and not (step.who == "handler" and may_handle(user, case)):
        return _("您的角色或管辖范围不能对此工单执行“%(action)s”。") % {"action": step.label}
    if step.who == "handler" and not may_handle(user, case):
        return _("只有主办单位的人员才能%(action)s。") % {"action": step.label}
    if (
        step.who == "not_reporter"
        and case.handler_id is not None
        and case.handler_id == getattr(user, "pk", None)
    ):
        return _("核查须由经办人以外的人员进行。")
    return None


def refusal(user: Any, case: Case, name: str) -> str | None:
    """Why `user` may not take step `name` on `case` now, or None when they may."""
    step = workflow.get(name)
    if case.status not in step.sources:
        return _("工单当前状态为“%(status)s”，不能执行“%(action)s”。") % {
            "status": case.get_status_display(),
            "action": step.label,
        }
    if step.petition_only and not case.is_petition:
        return _("只有信访件才能%(action)s。") % {"action": step.label}
    who = _who_refusal(user, case, step)
    if who is not None:
        return who
    if name == "report_in" and pending_whistle(user, case) is None:
        return _("您所在的单位没有被吹哨召集，或已经报到。")
    if name == "decide_extension" and not case.requests.filter(kind="extension", decision="pending").exists():
        return _("没有待审批的延期申请。")
    if name == "request_extension" and case.requests.filter(kind="extension", decision="pending").exists():
        return _("已有一份延期申请在等待审批。")
    if name == "request_review":
        from jiedao.cases.clock import review_window_refusal

        return review_window_refusal(case)
    return None


def check(user: Any, case: Case, name: str) -> None:
    """Raise unless the user may take step `name` now: PermissionDenied for role/scope, ValidationError for
    the state of the case."""
    reason = refusal(user, case, name)
    if reason is None:
        return
    step = workflow.get(name)
    if case.status not in step.sources or (step.petition_only and not case.is_petition):
        raise ValidationError(reason)
    if _who_refusal(user, case, step) is not None:
        raise PermissionDenied(reason)
    raise ValidationError(reason)  # the person may, but not now (no pending request, window passed …)


def allowed(user: Any, case: Case) -> list[workflow.Transition]:
    """The steps this user may take on this case now (the buttons on the case page)."""
    return [t for t in workflow.from_state(case.status) if refusal(user, case, t.name) is None]
