"""Every URL is either public by declaration, or refuses anonymous users and out-of-scope personas.

A new URL pattern without an entry here fails `test_every_route_is_covered`: declare how it is protected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.cases.guards import GUARDS as CASE_GUARDS
from tests.cases.guards import PUBLIC as CASE_PUBLIC
from tests.guard import Guard
from tests.patrol.guards import GUARDS as PATROL_GUARDS
from tests.people.guards import GUARDS as PEOPLE_GUARDS
from tests.projects.guards import GUARDS as PROJECT_GUARDS
from tests.relocation.guards import GUARDS as RELOCATION_GUARDS
from tests.search.guards import GUARDS as SEARCH_GUARDS
from tests.supervision.guards import GUARDS as SUPERVISION_GUARDS
from tests.world import World

pytestmark = pytest.mark.django_db


PUBLIC = {
    "login": "the login page itself",
    "set_language": "switching language works before login",
    "logout": "logging out needs no permission",
}

# The admin site guards itself (staff only); checked once by test_admin_requires_staff.
SELF_GUARDED_NAMESPACES = {"admin"}

GUARDS: dict[str, Guard] = {
    "home": Guard(outsider="grid_b", hidden=lambda w: w.community_a.name),
    "password_change": Guard(outsider=None),
    "password_change_done": Guard(outsider=None),
    "core:org_tree": Guard(outsider="grid_b", hidden=lambda w: w.grid_a.name),
    "core:org_unit": Guard(kwargs=lambda w: {"code": w.grid_a.code}, outsider="grid_b"),
    "core:org_unit_edit": Guard(kwargs=lambda w: {"code": w.community_a.code}, outsider="comm_a"),
    "core:org_unit_add": Guard(kwargs=lambda w: {"code": w.community_a.code}, outsider="leader"),
    "core:org_unit_move": Guard(kwargs=lambda w: {"code": w.grid_a.code}, outsider="leader"),
    "core:calendar": Guard(outsider=None),
    "core:calendar_override_add": Guard(outsider="leader"),
    "core:calendar_override_edit": Guard(kwargs=lambda w: {"pk": _override(w).pk}, outsider="leader"),
    "core:calendar_override_delete": Guard(kwargs=lambda w: {"pk": _override(w).pk}, outsider="leader"),
    "core:calendar_warning_resolve": Guard(
        kwargs=lambda w: {"pk": _warning(w).pk}, outsider="leader", method="post"
    ),
    "audit:event_list": Guard(outsider="grid_a"),
    "audit:event_detail": Guard(kwargs=lambda w: {"seq": 1}, outsider="grid_a"),
    "audit:verify": Guard(outsider="grid_a"),
    "audit:record_history": Guard(
        kwargs=lambda w: {"app_label": "core", "model_name": "orgunit", "pk": w.community_a.pk},
        outsider="other_leader",
    ),
    "notifications:inbox": Guard(outsider=None),
    "notifications:badge": Guard(outsider=None),
    "notifications:mark_all_read": Guard(outsider=None, method="post"),
    "notifications:open": Guard(kwargs=lambda w: {"pk": _notification_of(w, "grid_a")}, outsider="grid_b"),
    "notifications:mark_read": Guard(
        kwargs=lambda w: {"pk": _notification_of(w, "grid_a")}, outsider="grid_b", method="post"
    ),
    "api-root": Guard(outsider=None, api=True),
    "api-schema": Guard(outsider=None, api=True),
    "api-docs": Guard(outsider=None, api=True, accept="text/html"),
    "org-unit-list": Guard(outsider="grid_b", hidden=lambda w: w.grid_a.code, api=True),
    "org-unit-detail": Guard(kwargs=lambda w: {"code": w.grid_a.code}, outsider="grid_b", api=True),
    "department-list": Guard(outsider="other_leader", hidden=lambda w: "信访办", api=True),
    "department-detail": Guard(kwargs=lambda w: {"pk": w.dept_xinfang.pk}, outsider="other_leader", api=True),
    "user-list": Guard(outsider="other_leader", hidden=lambda w: "grid_a", api=True),
    "user-detail": Guard(kwargs=lambda w: {"pk": w["grid_a"].pk}, outsider="grid_b", api=True),
}

GUARDS.update(CASE_GUARDS)
GUARDS.update(SEARCH_GUARDS)
GUARDS.update(PEOPLE_GUARDS)
GUARDS.update(PROJECT_GUARDS)
GUARDS.update(SUPERVISION_GUARDS)
GUARDS.update(RELOCATION_GUARDS)
GUARDS.update(PATROL_GUARDS)
PUBLIC.update(CASE_PUBLIC)


def _override(world: World) -> Any:
    import datetime

    from jiedao.core.models import WorkdayOverride

    return WorkdayOverride.objects.get_or_create(
        date=datetime.date(2099, 1, 2), defaults={"is_workday": True}
    )[0]


def _warning(world: World) -> Any:
    from jiedao.core.models import CalendarWarning

    return CalendarWarning.objects.get_or_create(year=2099)[0]


def _notification_of(world: World, username: str) -> int:
    from jiedao.notifications.models import Notification

    note = Notification.objects.create(recipient=world[username], title="测试通知", url="/")
    return note.pk


def _walk(patterns: list[Any], namespace: str = "") -> Iterator[tuple[str, str]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or ""
            if ns in SELF_GUARDED_NAMESPACES:
                continue
            yield from _walk(entry.url_patterns, f"{namespace}{ns}:" if ns else namespace)
        elif isinstance(entry, URLPattern):
            yield (f"{namespace}{entry.name}" if entry.name else "", str(entry.pattern))


def all_routes() -> list[tuple[str, str]]:
    return list(_walk(get_resolver().url_patterns))


def test_every_route_is_covered() -> None:
    unnamed = [pattern for name, pattern in all_routes() if not name]
    assert not unnamed, f"name these URL patterns so they can be guarded: {unnamed}"
    names = {name for name, _ in all_routes()}
    missing = sorted(names - set(GUARDS) - set(PUBLIC))
    assert not missing, f"declare a Guard (or PUBLIC reason) in tests/test_routes.py for: {missing}"
    stale = sorted((set(GUARDS) | set(PUBLIC)) - names)
    assert not stale, f"these declarations name no route any more: {stale}"


def _request(client: Client, guard: Guard, url: str) -> Any:
    if guard.method == "post":
        return client.post(url)
    accept = guard.accept or ("application/json" if guard.api else "text/html")
    return client.get(url, HTTP_ACCEPT=accept)


@pytest.mark.parametrize("name", sorted(GUARDS))
def test_anonymous_is_refused(world: World, name: str) -> None:
    guard = GUARDS[name]
    url = reverse(name, kwargs=guard.kwargs(world))
    response = _request(Client(), guard, url)
    if guard.api:
        assert response.status_code in (401, 403), (name, response.status_code)
    else:
        assert response.status_code == 302, (name, response.status_code)
        assert response["Location"].startswith(reverse("login")), (name, response["Location"])


@pytest.mark.parametrize("name", sorted(n for n, g in GUARDS.items() if g.outsider))
def test_out_of_scope_persona_is_refused(
    world: World, client_for: Callable[[str], Client], name: str
) -> None:
    guard = GUARDS[name]
    assert guard.outsider is not None
    url = reverse(name, kwargs=guard.kwargs(world))
    response = _request(client_for(guard.outsider), guard, url)
    if guard.hidden is not None:
        assert response.status_code == 200, (name, response.status_code)
        assert guard.hidden(world) not in response.content.decode(), f"{name} shows out-of-scope data"
    else:
        assert response.status_code in (403, 404), (name, response.status_code)


def test_admin_requires_staff(world: World, client_for: Callable[[str], Client]) -> None:
    assert Client().get("/admin/").status_code == 302
    response = client_for("leader").get("/admin/core/orgunit/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert client_for("admin").get("/admin/core/orgunit/").status_code == 200


def test_public_routes_answer_anonymous(world: World) -> None:
    assert Client().get(reverse("login")).status_code == 200
