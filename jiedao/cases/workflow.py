"""The case workflow, declared as data in one place: which action moves a case from which states to which,
and which permission it needs. Services check a step against this table; the case page shows the allowed
next steps as buttons from it.

受理 → 派遣 (lead unit + co-handlers) → 签收/处置 → 反馈 → 核查 (someone other than the handler; may send
back)
→ 结案 with an honest outcome → 回访/评价 (不满意 reopens: 重办). Beside the main line: 退单 (contest), 延期
(extension), 合并 (merge), 升级 (escalate to the district), 吹哨 (call departments in, each reports in), and
for petitions 复查/复核.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from jiedao.cases.models import Status

S = Status


@dataclass(frozen=True)
class Transition:
    name: str
    label: str | Promise
    sources: frozenset[str]
    target: str | None  # None: the state does not change, or the service decides (e.g. by a decision)
    permission: str
    style: str = "primary"  # Bootstrap button colour on the case page
    # Who among those with the permission may act: "any", "handler" (the lead unit's people), "not_reporter"
    who: str = "any"
    petition_only: bool = False


def _t(
    name: str,
    label: str | Promise,
    sources: Collection[str],
    target: str | None,
    permission: str,
    style: str = "primary",
    who: str = "any",
    petition_only: bool = False,
) -> Transition:
    return Transition(name, label, frozenset(sources), target, permission, style, who, petition_only)


OPEN_WORK = {S.DISPATCHED, S.HANDLING}

TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in [
        _t("accept", _("受理"), {S.REGISTERED}, S.ACCEPTED, "case.accept"),
        _t("refuse", _("不予受理"), {S.REGISTERED}, S.NOT_ACCEPTED, "case.accept", "outline-danger"),
        _t("dispatch", _("派遣"), {S.ACCEPTED, S.ESCALATED}, S.DISPATCHED, "case.dispatch"),
        _t("sign", _("签收"), {S.DISPATCHED}, S.HANDLING, "case.handle", who="handler"),
        _t(
            "contest", _("退单"), {S.DISPATCHED}, S.CONTESTED, "case.handle", "outline-warning", who="handler"
        ),
        _t("decide_contest", _("审核退单"), {S.CONTESTED}, None, "case.dispatch"),
        _t("report", _("反馈"), {S.HANDLING}, S.REPORTED, "case.handle", who="handler"),
        _t("verify", _("核查通过"), {S.REPORTED}, S.VERIFIED, "case.verify", "success", who="not_reporter"),
        _t(
            "send_back",
            _("退回重办"),
            {S.REPORTED},
            S.HANDLING,
            "case.verify",
            "outline-danger",
            who="not_reporter",
        ),
        _t("close", _("结案"), {S.VERIFIED}, S.CLOSED, "case.close", "success"),
        _t("rate", _("回访评价"), {S.CLOSED}, None, "case.rate"),
        _t(
            "request_extension",
            _("申请延期"),
            OPEN_WORK,
            None,
            "case.handle",
            "outline-secondary",
            who="handler",
        ),
        _t("decide_extension", _("审批延期"), OPEN_WORK, None, "case.approve_extension", "outline-primary"),
        _t(
            "merge",
            _("合并"),
            {S.REGISTERED, S.ACCEPTED, S.DISPATCHED, S.HANDLING},
            S.MERGED,
            "case.dispatch",
            "outline-secondary",
        ),
        _t(
            "escalate",
            _("升级到区"),
            {S.ACCEPTED, S.DISPATCHED, S.CONTESTED, S.HANDLING},
            S.ESCALATED,
            "case.escalate",
            "outline-danger",
        ),
        _t("whistle", _("吹哨"), OPEN_WORK, None, "case.whistle", "outline-warning"),
        _t("report_in", _("报到"), OPEN_WORK | {S.REPORTED}, None, "case.handle", "outline-primary"),
        _t(
            "request_review",
            _("申请复查/复核"),
            {S.CLOSED, S.RATED},
            S.UNDER_REVIEW,
            "case.accept",
            "outline-secondary",
            petition_only=True,
        ),
        _t(
            "answer_review", _("复查/复核答复"), {S.UNDER_REVIEW}, S.CLOSED, "case.review", petition_only=True
        ),
        _t("comment", _("添加备注"), set(Status.values), None, "case.comment", "outline-secondary"),
    ]
}

# Timeline entries that are not transitions (written by the system or at intake).
OTHER_ACTIONS: dict[str, str | Promise] = {
    "create": _("登记"),
    "reopen": _("重办"),
    "remind": _("催办"),
    "overdue": _("超期升级"),
    "response_overdue": _("响应超时"),
    "petition_accept_overdue": _("受理告知逾期"),
    "review_overdue": _("复查复核答复逾期"),
    "merged_in": _("合并并入"),
    "link": _("关联"),
    "attach": _("上传附件"),
    "extension_approved": _("延期获批"),
    "extension_refused": _("延期未获批"),
    "contest_approved": _("退单获批"),
    "contest_refused": _("退单被驳回"),
}


def get(name: str) -> Transition:
    try:
        return TRANSITIONS[name]
    except KeyError:
        raise ValueError(f"unknown case action {name!r}") from None


def action_label(name: str) -> str:
    if name in TRANSITIONS:
        return str(TRANSITIONS[name].label)
    return str(OTHER_ACTIONS.get(name, name))


def from_state(status: str) -> list[Transition]:
    """Transitions whose source states include `status` (before permission and role checks)."""
    return [t for t in TRANSITIONS.values() if status in t.sources]
