"""The projects module's entries in 我的待办: open problems of key projects owned by this user, soonest due
first (overdue ones in red)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy

from jiedao.core import worklist
from jiedao.core.permissions import can
from jiedao.projects.models import KeyProject, Problem, ProblemStatus

LIMIT = 20


def problem_items(user: Any) -> list[worklist.WorkItem]:
    if not can(user, "project.view"):
        return []
    today = timezone.localdate()
    problems = (
        Problem.objects.filter(
            owner=user,
            status=ProblemStatus.OPEN,
            project__in=KeyProject.objects.visible_to(user).values("pk"),
        )
        .select_related("project")
        .order_by("due_date")[:LIMIT]
    )
    items = []
    for problem in problems:
        due = timezone.make_aware(datetime.combine(problem.due_date, time(23, 59)))
        items.append(
            worklist.WorkItem(
                module=gettext_lazy("重点项目"),
                title=f"{problem.project.name}：{problem.description[:40]}",
                url=reverse("projects:project_detail", args=[problem.project_id]) + "#problems",
                due_at=due,
                note=gettext_lazy("项目问题"),
                level="danger"
                if problem.due_date < today
                else "warning"
                if problem.due_date == today
                else "info",
            )
        )
    return items


worklist.register("projects.problems", problem_items)
