"""Sign-ins, sign-outs, failed sign-ins, lockouts and refusals are written to the audit chain."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth import authenticate
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jiedao.audit.middleware import AuditRequestMiddleware
from jiedao.audit.models import AuditEvent
from tests.world import PASSWORD, World


def _events(kind: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(kind=kind).order_by("seq"))


def test_login_through_the_form_is_recorded(world: World) -> None:
    client = Client(REMOTE_ADDR="10.1.2.3")
    response = client.post(reverse("login"), {"username": "leader", "password": PASSWORD})
    assert response.status_code == 302
    [event] = _events("auth.login")
    assert event.actor == world["leader"]
    assert event.actor_repr == "leader"
    assert event.ip_address == "10.1.2.3"
    assert (
        event.org_path == world.subdistrict.path
    )  # the leader and auditor of 陇海马路 see their staff's logins


def test_logout_is_recorded(world: World) -> None:
    client = Client()
    client.force_login(world["comm_a"])
    client.post(reverse("logout"))
    [event] = _events("auth.logout")
    assert event.actor == world["comm_a"]


def test_failed_login_records_the_username_but_never_the_password(world: World) -> None:
    client = Client()
    response = client.post(reverse("login"), {"username": "leader", "password": "wrong-secret-123"})
    assert response.status_code == 200  # the form again, with an error
    [event] = _events("auth.login_failed")
    assert event.data == {"username": "leader"}
    assert event.actor is None
    assert "wrong-secret-123" not in str(event.data) + event.object_repr
    assert _events("auth.login") == []


def test_authenticate_with_a_wrong_password_fires_the_failure_event(world: World) -> None:
    request = RequestFactory().post("/accounts/login/")
    assert authenticate(request, username="grid_a", password="not-the-password") is None
    [event] = _events("auth.login_failed")
    assert event.data["username"] == "grid_a"


def test_lockout_is_recorded(world: World) -> None:
    from django.conf import settings

    limit = settings.AXES_FAILURE_LIMIT
    client = Client()
    for _attempt in range(limit + 1):
        client.post(reverse("login"), {"username": "volunteer", "password": "wrong-password-x"})
    locked = _events("auth.locked_out")
    assert locked, "axes should have locked the account out"
    assert locked[0].data == {"username": "volunteer"}


def test_permission_denied_is_recorded_and_answered_with_403(
    world: World, client_for: Callable[[str], Client]
) -> None:
    response = client_for("grid_a").get(reverse("audit:event_list"))
    assert response.status_code == 403
    [event] = _events("auth.permission_denied")
    assert event.actor == world["grid_a"]
    assert event.data == {"path": "/audit/", "method": "GET", "action": "audit.view"}


def test_denial_survives_the_views_rolled_back_work(world: World) -> None:
    """The refusal is recorded after the view's own transaction was rolled back."""
    from django.db import transaction

    def view(request: HttpRequest) -> HttpResponse:
        with transaction.atomic():
            world.grid_a.name = "changed then rolled back"
            world.grid_a.save()
            raise PermissionDenied("org.change")

    request = RequestFactory().post("/somewhere/")
    request.user = world["grid_b"]
    middleware = AuditRequestMiddleware(view)
    with pytest.raises(PermissionDenied):
        view(request)
    middleware.process_exception(request, PermissionDenied("org.change"))
    world.grid_a.refresh_from_db()
    assert world.grid_a.name != "changed then rolled back"
    [event] = _events("auth.permission_denied")
    assert event.data["action"] == "org.change"
    assert event.actor == world["grid_b"]


class _Never(BasePermission):
    message = "not for you"

    def has_permission(self, request: Request, view: APIView) -> bool:
        return False


class _GuardedAPI(APIView):
    permission_classes = [_Never]

    def get(self, request: Request) -> Response:
        return Response({})


def test_api_refusal_of_a_signed_in_user_is_recorded_once(world: World) -> None:
    request = RequestFactory().get("/api/v1/thing/")
    request.user = world["comm_b"]
    request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]
    middleware = AuditRequestMiddleware(_GuardedAPI.as_view())
    response = middleware(request)
    assert response.status_code == 403
    [event] = _events("auth.permission_denied")
    assert event.actor == world["comm_b"]
    assert event.data == {"path": "/api/v1/thing/", "method": "GET", "action": "not for you"}


def test_view_denial_is_not_recorded_twice(world: World, client_for: Callable[[str], Client]) -> None:
    client = client_for("volunteer")
    client.get(reverse("audit:event_list"))
    client.get(reverse("audit:verify"))
    assert len(_events("auth.permission_denied")) == 2


def test_anonymous_api_refusal_is_not_recorded(world: World) -> None:
    from django.contrib.auth.models import AnonymousUser

    request = RequestFactory().get("/api/v1/thing/")
    request.user = AnonymousUser()
    response = AuditRequestMiddleware(_GuardedAPI.as_view())(request)
    assert response.status_code == 401  # told to sign in (token auth's WWW-Authenticate), not refused
    assert _events("auth.permission_denied") == []


def test_failed_login_of_unknown_name_is_district_only(world: World) -> None:
    Client().post(reverse("login"), {"username": "nobody-here", "password": "x"})
    Client().post(reverse("login"), {"username": "grid_b", "password": "x"})
    unknown, known = _events("auth.login_failed")
    assert unknown.org_path == "" and known.org_path == world.grid_b.path
    assert AuditEvent.objects.visible_to(world["comm_b"]).filter(pk=known.pk).exists() is False
    assert AuditEvent.objects.visible_to(world["leader"]).filter(pk=known.pk).exists()
    assert not AuditEvent.objects.visible_to(world["leader"]).filter(pk=unknown.pk).exists()
    assert AuditEvent.objects.visible_to(world["admin"]).filter(pk=unknown.pk).exists()
