"""The supervision module's entries in 我的待办: matters waiting for this user's unit (to accept, report,
finish) and, for supervisors, matters waiting for them (to assign, review, complete, rate, decide an
extension),
most urgent first."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy

from jiedao.core import worklist
from jiedao.core.models.scope import under_path
from jiedao.supervision import rules
from jiedao.supervision.lights import light_of
from jiedao.supervision.models import ExtensionRequest, Light, Status, SupervisedMatter

LIMIT = 30
LEVEL: dict[str, str] = {Light.RED: "danger", Light.YELLOW: "warning", Light.BLUE: "info"}


def waiting_q(user: Any, using: str = "default") -> Q | None:
    """Matters waiting for the user to act, or None when there can be none."""
    waiting = Q(pk__in=[])
    any_part = False
    if rules.handler_units(user) or rules.handler_departments(user):
        any_part = True
        waiting |= Q(status__in=[Status.ASSIGNED, Status.IN_PROGRESS]) & rules.participating_q(
            user, using, helpers=False
        )
    paths = rules.supervisor_paths(user)
    if paths is None or paths:
        any_part = True
        mine = Q(status__in=[Status.OPENED, Status.REVIEWING, Status.APPROVED, Status.COMPLETED]) | Q(
            pk__in=ExtensionRequest.objects.filter(decision=ExtensionRequest.Decision.PENDING).values(
                "matter_id"
            )
        )
        if paths is not None:
            where = Q(pk__in=[])
            for path in paths:
                where |= under_path("org_path", path, using)
            mine &= where
        waiting |= mine
    return waiting if any_part else None


def matter_items(user: Any) -> list[worklist.WorkItem]:
    condition = waiting_q(user)
    if condition is None:
        return []
    matters = (
        SupervisedMatter.objects.visible_to(user)
        .filter(condition)
        .only("number", "title", "status", "deadline", "blue_at", "pace_at", "org_path")
        .order_by("deadline")[:LIMIT]
    )
    items = []
    for matter in matters:
        light = light_of(matter)
        items.append(
            worklist.WorkItem(
                module=gettext_lazy("督办"),
                title=f"{matter.number} {matter.title}",
                url=reverse("supervision:matter_detail", args=[matter.number]),
                due_at=matter.deadline if matter.is_open else None,
                note=matter.get_status_display(),
                level=LEVEL.get(light, "info"),
            )
        )
    return items


worklist.register("supervision.waiting", matter_items)
