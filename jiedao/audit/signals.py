"""Sign-in events: logins, logouts, failed logins and django-axes lockouts go into the audit chain."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from jiedao.audit.services import home_path, record_event

USERNAME_MAX = 150


def _attempted_username(credentials: dict[str, Any] | None) -> str:
    """The username someone tried; never the password (Django masks it already; we keep only this)."""
    if not credentials:
        return ""
    field = get_user_model().USERNAME_FIELD
    value = credentials.get(field) or credentials.get("username") or ""
    return str(value)[:USERNAME_MAX]


@receiver(user_logged_in, dispatch_uid="jiedao_audit_login")
def on_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    record_event("auth.login", actor=user, obj=user, org_path=home_path(user), request=request)


@receiver(user_logged_out, dispatch_uid="jiedao_audit_logout")
def on_logout(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is None or not getattr(user, "is_authenticated", False):
        return  # logging out without a session changes nothing
    record_event("auth.logout", actor=user, obj=user, org_path=home_path(user), request=request)


@receiver(user_login_failed, dispatch_uid="jiedao_audit_login_failed")
def on_login_failed(
    sender: Any, credentials: dict[str, Any] | None = None, request: HttpRequest | None = None, **kwargs: Any
) -> None:
    username = _attempted_username(credentials)
    record_event(
        "auth.login_failed",
        org_path=home_path(username),
        data={"username": username},
        request=request,
        object_repr=username,
    )


@receiver(user_locked_out, dispatch_uid="jiedao_audit_locked_out")
def on_locked_out(
    sender: Any, request: HttpRequest | None = None, username: str | None = None, **kwargs: Any
) -> None:
    name = str(username or "")[:USERNAME_MAX]
    record_event(
        "auth.locked_out",
        org_path=home_path(name),
        data={"username": name},
        request=request,
        object_repr=name,
    )
