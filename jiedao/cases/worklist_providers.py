"""The cases module's entries in 我的待办: cases waiting for this user to act (accept, dispatch, sign, handle,
verify, close, decide a request), most urgent first."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_lazy

from jiedao.cases.clock import light_of
from jiedao.cases.models import Case, Light, Request, Status
from jiedao.cases.rules import led_by_q
from jiedao.core import worklist
from jiedao.core.permissions import can

LIMIT = 30
LEVEL: dict[str, str] = {Light.RED: "danger", Light.YELLOW: "warning"}


def my_cases_q(user: Any) -> Q:
    """Cases waiting on this user: handled by them, or led by their department or a unit they belong to."""
    return Q(handler=user) | led_by_q(user)


def case_items(user: Any) -> list[worklist.WorkItem]:
    if not can(user, "case.view"):
        return []
    visible = Case.objects.visible_to(user)
    waiting = Q(status__in=[Status.DISPATCHED, Status.HANDLING]) & my_cases_q(user)
    if can(user, "case.accept"):
        waiting |= Q(
            status__in=[
                Status.REGISTERED,
                Status.ACCEPTED,
                Status.REPORTED,
                Status.VERIFIED,
                Status.CONTESTED,
            ]
        )
    if can(user, "case.approve_extension"):
        pending = Request.objects.filter(decision=Request.Decision.PENDING).values("case_id")
        waiting |= Q(pk__in=pending)
    cases = visible.filter(waiting).select_related("category").order_by("due_at")[:LIMIT]
    items = []
    for case in cases:
        light = light_of(case)
        items.append(
            worklist.WorkItem(
                module=gettext_lazy("工单"),
                title=f"{case.number} {case.title}",
                url=f"/cases/{case.number}/",
                due_at=case.due_at,
                note=case.get_status_display(),
                level=LEVEL.get(light, "info"),
            )
        )
    return items


worklist.register("cases.waiting", case_items)
