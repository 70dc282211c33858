"""Who may see and do what with supervised matters.

Three kinds of people (declared actions with the one authorization module, `jiedao.core.permissions`):
- readers of everything in their subtree: leaders, district staff, auditors, administrators
  ("supervision.view");
- supervisors, who open, assign, review, complete, rate and remind: leaders and administrators
  ("supervision.supervise") and the staff of the sub-district's supervising office — the departments whose
  code is in `OFFICE_CODES` (督查室, 党政办), "supervision.office"; they also read everything of their
  sub-district;
- handlers: the staff of the lead or a helper unit (attached at that unit or above it: a community's staff for
  a matter led by the community) or department ("supervision.handle"); they see only the matters their unit
  or department leads or helps with.

`refusal(user, matter, step)` says in words why a step is not possible now (None when it is); `check` raises;
`allowed` gives the matter page's buttons.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.core.models import Department, Role
from jiedao.core.models.scope import under_path
from jiedao.core.permissions import (
    STAFF_READERS,
    _memberships,
    _minimal,
    is_unrestricted,
    register,
    scope_paths,
)
from jiedao.supervision import workflow
from jiedao.supervision.models import ExtensionRequest, MatterHelper, SupervisedMatter

R = Role

#: Department codes of a sub-district's supervising office (督查督办 is among their duties).
OFFICE_CODES = ("ducha", "dangzheng")

register(
    {
        "supervision.view": {R.LEADER, R.DISTRICT_STAFF, R.AUDITOR, R.ADMINISTRATOR},
        "supervision.supervise": {R.LEADER, R.ADMINISTRATOR},
        "supervision.office": {R.DEPARTMENT_STAFF},
        "supervision.handle": {R.DEPARTMENT_STAFF, R.COMMUNITY_STAFF, R.GRID_WORKER},
        "supervision.export": STAFF_READERS,
    }
)


def _office_departments() -> set[int]:
    return set(Department.objects.filter(code__in=OFFICE_CODES, is_active=True).values_list("pk", flat=True))


def office_paths(user: Any) -> list[str]:
    """The sub-districts where the user works in the supervising office (cached on the user object)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    cached = getattr(user, "_jiedao_supervision_office", None)
    if cached is None:
        mine = [
            (path, dept) for role, path, dept in _memberships(user) if role == R.DEPARTMENT_STAFF and dept
        ]
        offices = _office_departments() if mine else set()
        cached = _minimal(path for path, dept in mine if dept in offices)
        user._jiedao_supervision_office = cached
    return list(cached)


def supervisor_paths(user: Any) -> list[str] | None:
    """Subtree roots where the user supervises matters; None: everywhere (superuser)."""
    if is_unrestricted(user):
        return None
    return _minimal([*(scope_paths(user, "supervision.supervise") or []), *office_paths(user)])


def reader_paths(user: Any) -> list[str] | None:
    """Subtree roots where the user reads every matter; None: everywhere."""
    if is_unrestricted(user):
        return None
    return _minimal([*(scope_paths(user, "supervision.view") or []), *office_paths(user)])


def handler_units(user: Any) -> list[str]:
    """Paths of the units the user works for as a handler (memberships outside a department)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    roles = {R.COMMUNITY_STAFF, R.GRID_WORKER, R.DEPARTMENT_STAFF}
    return _minimal(path for role, path, dept in _memberships(user) if role in roles and dept is None)


def handler_departments(user: Any) -> set[int]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    return {dept for role, _path, dept in _memberships(user) if role == R.DEPARTMENT_STAFF and dept}


def visible_q(user: Any, using: str = "default") -> Q | None:
    """The matters the user sees, as one condition (None: all of them)."""
    readers = reader_paths(user)
    if readers is None:
        return None
    condition = Q(pk__in=[])
    for path in readers:
        condition |= under_path("org_path", path, using)
    condition |= participating_q(user, using)
    return condition


def participating_q(user: Any, using: str = "default", *, helpers: bool = True) -> Q:
    """Matters led (and, with `helpers`, helped) by the user's units or departments."""
    condition = Q(pk__in=[])
    depts = handler_departments(user)
    units = handler_units(user)
    if depts:
        condition |= Q(lead_department_id__in=depts)
    for path in units:
        condition |= Q(lead_department__isnull=True) & under_path("lead_path", path, using)
    if helpers and (depts or units):
        helped = Q(pk__in=[])
        if depts:
            helped |= Q(department_id__in=depts)
        for path in units:
            helped |= Q(department__isnull=True) & under_path("unit_path", path, using)
        condition |= Q(pk__in=MatterHelper.objects.filter(helped).values("matter_id"))
    return condition


def may_supervise(user: Any, matter: SupervisedMatter) -> bool:
    paths = supervisor_paths(user)
    return paths is None or any(matter.org_path.startswith(p) for p in paths)


def may_supervise_somewhere(user: Any) -> bool:
    paths = supervisor_paths(user)
    return paths is None or bool(paths)


def may_read_all(user: Any) -> bool:
    paths = reader_paths(user)
    return paths is None or bool(paths)


def is_lead(user: Any, matter: SupervisedMatter) -> bool:
    """Is the user among the lead unit's (or department's) staff."""
    if is_unrestricted(user):
        return True
    if matter.lead_department_id is not None:
        return matter.lead_department_id in handler_departments(user)
    if not matter.lead_path:
        return False
    return any(matter.lead_path.startswith(p) for p in handler_units(user))


def is_helper(user: Any, matter: SupervisedMatter) -> bool:
    depts = handler_departments(user)
    units = handler_units(user)
    if not depts and not units:
        return False
    for helper in matter.helpers.all():
        if helper.department_id is not None:
            if helper.department_id in depts:
                return True
        elif helper.unit_path and any(helper.unit_path.startswith(p) for p in units):
            return True
    return False


def _who_refusal(user: Any, matter: SupervisedMatter, step: workflow.Step) -> str | None:
    if step.who == "supervisor" and not may_supervise(user, matter):
        return _("只有督查部门或街道领导才能%(action)s。") % {"action": step.label}
    if step.who == "lead" and not is_lead(user, matter):
        return _("只有牵头单位的人员才能%(action)s。") % {"action": step.label}
    if step.who == "participant" and not (is_lead(user, matter) or is_helper(user, matter)):
        return _("只有牵头或协办单位的人员才能%(action)s。") % {"action": step.label}
    return None


def pending_extension(matter: SupervisedMatter) -> ExtensionRequest | None:
    return matter.extensions.filter(decision=ExtensionRequest.Decision.PENDING).first()


def _condition_refusal(matter: SupervisedMatter, name: str, now: Any = None) -> str | None:
    """Why the step is not possible for anybody now (besides the state)."""
    if name == "request_extension":
        if (now or timezone.now()) >= matter.deadline:
            return _("已超过办理时限，不能再申请延期。")
        if pending_extension(matter) is not None:
            return _("已有一份延期申请在等待审批。")
    if name == "decide_extension" and pending_extension(matter) is None:
        return _("没有待审批的延期申请。")
    return None


def refusal(user: Any, matter: SupervisedMatter, name: str, now: Any = None) -> str | None:
    """Why `user` may not take step `name` on `matter` now, or None when they may."""
    step = workflow.get(name)
    if matter.status not in step.sources:
        return _("督办事项当前状态为“%(status)s”，不能执行“%(action)s”。") % {
            "status": matter.get_status_display(),
            "action": step.label,
        }
    return _who_refusal(user, matter, step) or _condition_refusal(matter, name, now)


def check(user: Any, matter: SupervisedMatter, name: str) -> None:
    """Raise unless the user may take step `name` now: PermissionDenied for who they are, ValidationError for
    the state of the matter."""
    step = workflow.get(name)
    if matter.status not in step.sources:
        raise ValidationError(refusal(user, matter, name) or name)
    who = _who_refusal(user, matter, step)
    if who is not None:
        raise PermissionDenied(who)
    condition = _condition_refusal(matter, name)
    if condition is not None:
        raise ValidationError(condition)


def allowed(user: Any, matter: SupervisedMatter) -> list[workflow.Step]:
    """The steps this user may take on this matter now (the buttons on the matter page)."""
    return [s for s in workflow.from_state(matter.status) if refusal(user, matter, s.name) is None]


def may_edit(user: Any, matter: SupervisedMatter) -> bool:
    return matter.status in {"opened", "assigned", "in_progress"} and may_supervise(user, matter)
