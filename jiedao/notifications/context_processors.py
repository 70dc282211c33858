from __future__ import annotations

from django.http import HttpRequest

from jiedao.notifications.services import unread_count


def inbox(request: HttpRequest) -> dict[str, int]:
    """The header's unread count: one indexed query for a signed-in user, none for an anonymous one."""
    return {"unread_notifications": unread_count(getattr(request, "user", None))}
