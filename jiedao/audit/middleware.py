"""Refused requests go into the audit chain as "auth.permission_denied"."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from jiedao.audit.services import home_path, record_event

_RECORDED = "_jiedao_denial_recorded"


def _record_denial(request: HttpRequest, action: str) -> None:
    user = getattr(request, "user", None)
    record_event(
        "auth.permission_denied",
        actor=user,
        org_path=home_path(user) if user is not None and user.is_authenticated else "",
        data={"path": request.path[:500], "method": request.method or "", "action": action[:200]},
        request=request,
    )
    setattr(request, _RECORDED, True)


class AuditRequestMiddleware:
    """Record every refusal once.

    A view raising PermissionDenied is recorded in `process_exception` (the exception message is the action
    that `jiedao.core.permissions.require` refused); Django then renders the 403 page as usual. A 403 response
    that got here without an exception (REST framework handles PermissionDenied itself) is recorded in
    `__call__` when the user is authenticated: anonymous API callers are told to sign in, not refused.

    The event is written by `record_event` in its own `transaction.atomic()` after the view has returned, so
    the view's rolled-back work does not take it along (with ATOMIC_REQUESTS off, as in our settings).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 403 and not getattr(request, _RECORDED, False):
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                _record_denial(request, _drf_detail(response))
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if isinstance(exception, PermissionDenied) and not getattr(request, _RECORDED, False):
            _record_denial(request, str(exception))
        return None


def _drf_detail(response: HttpResponse) -> str:
    """The refusal's reason from a REST framework response (its `data["detail"]`), else ''."""
    data = getattr(response, "data", None)
    if isinstance(data, dict):
        detail = data.get("detail")
        if detail is not None:
            return str(detail)
    return ""
