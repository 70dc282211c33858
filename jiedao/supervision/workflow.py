"""The workflow of a supervised matter, declared as data in one place: which step moves a matter from which
states to which, and who may take it. Services check every step against this table (`rules.check`); the
matter page shows the allowed next steps as buttons from it; the API has one operation per step.

立项 (create: 已立项) → 交办 (assign the lead unit: 待承办) → 承办 (the lead unit accepts: 办理中) → 反馈
(progress
reports, any number, by the lead or a helper unit) → 报请审核 (the lead unit's final report: 待审核) → 审核 by
the supervising office (审核通过: 待办结, or 退回 with a reason: back to 办理中) → 办结 (已办结) → 评价
(已评价).
Beside the main line: 退回交办 (the lead unit says it is not theirs: back to 已立项), 延期申请 before the
deadline and its 审批, 催办 (a manual reminder; the automatic ones come from the deadline engine), 撤销.

Who: "supervisor" — a leader of the sub-district or its supervising office (督查室/党政办); "lead" — the staff
of the lead unit or department; "participant" — the lead or a helper unit's staff.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from jiedao.supervision.models import Status

S = Status


@dataclass(frozen=True)
class Step:
    name: str
    label: str | Promise
    sources: frozenset[str]
    target: str | None  # None: the state does not change
    who: str  # "supervisor" | "lead" | "participant"
    style: str = "primary"  # Bootstrap button colour on the matter page


def _s(
    name: str,
    label: str | Promise,
    sources: Collection[str],
    target: str | None,
    who: str,
    style: str = "primary",
) -> Step:
    return Step(name, label, frozenset(sources), target, who, style)


UNDER_WAY = {S.ASSIGNED, S.IN_PROGRESS}

STEPS: dict[str, Step] = {
    s.name: s
    for s in [
        _s("assign", _("交办"), {S.OPENED}, S.ASSIGNED, "supervisor"),
        _s("decline", _("退回交办"), {S.ASSIGNED}, S.OPENED, "lead", "outline-warning"),
        _s("undertake", _("承办"), {S.ASSIGNED}, S.IN_PROGRESS, "lead"),
        _s("report", _("反馈进展"), {S.IN_PROGRESS}, None, "participant"),
        _s("submit", _("报请审核"), {S.IN_PROGRESS}, S.REVIEWING, "lead", "success"),
        _s("approve", _("审核通过"), {S.REVIEWING}, S.APPROVED, "supervisor", "success"),
        _s("send_back", _("退回"), {S.REVIEWING}, S.IN_PROGRESS, "supervisor", "outline-danger"),
        _s("complete", _("办结"), {S.APPROVED}, S.COMPLETED, "supervisor", "success"),
        _s("rate", _("评价"), {S.COMPLETED}, S.RATED, "supervisor"),
        _s("request_extension", _("申请延期"), UNDER_WAY, None, "lead", "outline-secondary"),
        _s(
            "decide_extension",
            _("审批延期"),
            UNDER_WAY | {S.REVIEWING},
            None,
            "supervisor",
            "outline-primary",
        ),
        _s("remind", _("催办"), UNDER_WAY, None, "supervisor", "outline-warning"),
        _s(
            "cancel",
            _("撤销"),
            {S.OPENED, S.ASSIGNED, S.IN_PROGRESS},
            S.CANCELLED,
            "supervisor",
            "outline-danger",
        ),
    ]
}

# Timeline entries that are not steps of the table (written at creation, by edits or by the system).
OTHER_ACTIONS: dict[str, str | Promise] = {
    "open": _("立项"),
    "edit": _("修改"),
    "auto_remind": _("自动催办"),
    "overdue": _("超期提醒"),
}


def get(name: str) -> Step:
    try:
        return STEPS[name]
    except KeyError:
        raise ValueError(f"unknown supervision step {name!r}") from None


def action_label(name: str) -> str:
    if name in STEPS:
        return str(STEPS[name].label)
    return str(OTHER_ACTIONS.get(name, name))


def from_state(status: str) -> list[Step]:
    """Steps whose source states include `status` (before the who and the conditions are checked)."""
    return [s for s in STEPS.values() if status in s.sources]
