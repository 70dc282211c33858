"""The registry of audit event kinds and their Chinese labels.

Each module declares the kinds it records, once, at import:
``register_kinds({"case.assign": _("派遣")})``. The event list offers the registered kinds as a filter and
shows their labels; an unregistered kind still records and shows as its code, so an old event never breaks
the page.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

_KINDS: dict[str, str | Promise] = {}


def register_kinds(kinds: Mapping[str, str | Promise]) -> None:
    """Declare event kinds ("module.verb") with their labels; a kind may be declared only once."""
    for kind, label in kinds.items():
        if not kind or kind != kind.strip() or len(kind) > 64:
            raise ValueError(f"invalid audit event kind {kind!r}")
        if kind in _KINDS:
            raise ValueError(f"audit event kind {kind!r} is declared twice")
        _KINDS[kind] = label


def label_for(kind: str) -> str:
    """The (translated) label of a kind, or the kind itself when nobody registered it."""
    label = _KINDS.get(kind)
    return str(label) if label is not None else kind


def is_registered(kind: str) -> bool:
    return kind in _KINDS


def kind_choices() -> list[tuple[str, str]]:
    """(kind, label) pairs for a select, ordered by kind so that a module's kinds stay together."""
    return [(kind, f"{label_for(kind)} ({kind})") for kind in sorted(_KINDS)]


register_kinds(
    {
        # Sign-in and refusals
        "auth.login": _("登录"),
        "auth.logout": _("退出登录"),
        "auth.login_failed": _("登录失败"),
        "auth.locked_out": _("账号锁定"),
        "auth.permission_denied": _("越权访问被拒绝"),
        # Personal data and exports
        "privacy.reveal": _("查看个人信息"),
        "export": _("导出"),
        # Org tree and people who work here
        "org.create": _("新建组织单元"),
        "org.change": _("修改组织单元"),
        "org.move": _("移动组织单元"),
        "department.change": _("修改科室"),
        "membership.change": _("修改任职"),
        # Calendar, deadlines and messages
        "calendar.change": _("修改工作日历"),
        "deadline.fired": _("时限到期"),
        "reminder.sent": _("发送提醒"),
        "notification.sent": _("发送通知"),
    }
)
