"""The audit pages: scope of the event list, filters, detail, chain verification and record history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from jiedao.audit.models import AuditEvent
from jiedao.audit.services import record_event
from jiedao.core.models import OrgUnit
from jiedao.core.services import update_unit
from tests.world import World

ClientFor = Callable[[str], Client]
Events = dict[str, AuditEvent]


@pytest.fixture
def events(world: World) -> dict[str, AuditEvent]:
    """One event in 陇海马路 (a community), one in 二里岗, one without a unit (a sign-in failure)."""
    return {
        "longhai": record_event("org.change", actor=world["leader"], obj=world.community_a, data={"x": 1}),
        "erligang": record_event("org.change", actor=world["other_leader"], obj=world.other_community),
        "global": record_event("auth.login_failed", data={"username": "陌生人"}, object_repr="陌生人"),
    }


def _listed(response: object) -> set[int]:
    return {event.seq for event in response.context["page"].object_list}  # type: ignore[attr-defined]


@pytest.mark.parametrize("persona", ["leader", "auditor"])
def test_subdistrict_readers_see_its_events_only(
    client_for: ClientFor, events: dict[str, AuditEvent], persona: str
) -> None:
    response = client_for(persona).get(reverse("audit:event_list"))
    assert response.status_code == 200
    listed = _listed(response)
    assert events["longhai"].seq in listed
    assert events["erligang"].seq not in listed
    assert events["global"].seq not in listed  # events without a unit: district scope only
    body = response.content.decode()
    assert "陇海东路第一社区" in body
    assert "中博社区" not in body


def test_other_subdistrict_leader_does_not_see_longhai_events(
    client_for: ClientFor, events: dict[str, AuditEvent]
) -> None:
    response = client_for("other_leader").get(reverse("audit:event_list"))
    assert response.status_code == 200
    listed = _listed(response)
    assert events["longhai"].seq not in listed
    assert events["erligang"].seq in listed
    assert events["global"].seq not in listed


def test_superuser_sees_everything_including_unitless_events(
    client_for: ClientFor, events: dict[str, AuditEvent]
) -> None:
    listed = _listed(client_for("admin").get(reverse("audit:event_list")))
    assert {e.seq for e in events.values()} <= listed


def test_root_scope_sees_unitless_events(world: World, events: dict[str, AuditEvent]) -> None:
    from jiedao.core.models import Membership, Role

    auditor = world["auditor"]
    Membership.objects.create(user=auditor, org_unit=world.district, role=Role.AUDITOR)
    visible = set(AuditEvent.objects.visible_to(auditor).values_list("seq", flat=True))
    assert {e.seq for e in events.values()} <= visible


@pytest.mark.parametrize("persona", ["grid_a", "comm_a", "district", "volunteer"])
def test_roles_without_audit_view_are_refused(client_for: ClientFor, persona: str) -> None:
    assert client_for(persona).get(reverse("audit:event_list")).status_code == 403


@pytest.mark.parametrize(
    "name,args", [("audit:event_list", []), ("audit:verify", []), ("audit:event_detail", [1])]
)
def test_anonymous_is_sent_to_login(db: None, name: str, args: list[int]) -> None:
    response = Client().get(reverse(name, args=args))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_filters(world: World, client_for: ClientFor, events: dict[str, AuditEvent]) -> None:
    export = record_event("export", actor=world["auditor"], obj=world.grid_a, object_repr="网格台账")
    client = client_for("admin")
    url = reverse("audit:event_list")

    assert _listed(client.get(url, {"kind": "export"})) == {export.seq}
    assert _listed(client.get(url, {"actor": "auditor"})) >= {export.seq}
    assert events["longhai"].seq not in _listed(client.get(url, {"actor": "auditor"}))
    assert _listed(client.get(url, {"actor": str(world["auditor"].pk), "kind": "export"})) == {export.seq}
    assert _listed(client.get(url, {"q": "台账"})) == {export.seq}
    assert _listed(client.get(url, {"q": "陌生"})) == {events["global"].seq}
    by_object = client.get(url, {"object_type": "core.orgunit", "object_id": str(world.grid_a.pk)})
    assert _listed(by_object) == {export.seq}

    today = timezone.localdate()
    assert export.seq in _listed(
        client.get(url, {"date_from": today.isoformat(), "date_to": today.isoformat()})
    )
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    assert _listed(client.get(url, {"date_from": tomorrow})) == set()
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    assert _listed(client.get(url, {"date_to": yesterday})) == set()


def test_unknown_kind_is_a_form_error_not_a_crash(
    client_for: ClientFor, events: dict[str, AuditEvent]
) -> None:
    response = client_for("auditor").get(reverse("audit:event_list"), {"kind": "no.such.kind"})
    assert response.status_code == 200
    assert response.context["filter"].errors


def test_htmx_request_gets_only_the_table(client_for: ClientFor, events: dict[str, AuditEvent]) -> None:
    response = client_for("leader").get(reverse("audit:event_list"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="audit-events"' in body
    assert "<html" not in body


def test_list_query_count_does_not_grow_with_events(world: World, client_for: ClientFor) -> None:
    client = client_for("auditor")
    url = reverse("audit:event_list")
    client.get(url)  # warm up the session

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    record_event("org.change", actor=world["leader"], obj=world.grid_a)
    few = count()
    for _i in range(30):
        record_event("org.change", actor=world["leader"], obj=world.grid_b)
    assert count() == few


def test_event_detail_shows_data_and_verification(
    client_for: ClientFor, events: dict[str, AuditEvent]
) -> None:
    url = reverse("audit:event_detail", args=[events["longhai"].seq])
    response = client_for("auditor").get(url)
    assert response.status_code == 200
    assert response.context["verifies"] is True
    assert ("x", "1") in response.context["data_rows"]
    assert 'data-testid="hash-ok"' in response.content.decode()

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET data = %s WHERE id = %s", ['{"x": 2}', events["longhai"].pk]
        )
    response = client_for("auditor").get(url)
    assert response.context["verifies"] is False
    assert 'data-testid="hash-bad"' in response.content.decode()


def test_event_detail_out_of_scope_is_404(client_for: ClientFor, events: dict[str, AuditEvent]) -> None:
    assert (
        client_for("other_leader")
        .get(reverse("audit:event_detail", args=[events["longhai"].seq]))
        .status_code
        == 404
    )
    assert (
        client_for("leader").get(reverse("audit:event_detail", args=[events["global"].seq])).status_code
        == 404
    )
    assert (
        client_for("grid_a").get(reverse("audit:event_detail", args=[events["longhai"].seq])).status_code
        == 403
    )


def test_verify_page_for_auditor_and_admin(client_for: ClientFor, events: dict[str, AuditEvent]) -> None:
    url = reverse("audit:verify")
    for persona in ("auditor", "admin"):
        client = client_for(persona)
        assert client.get(url).status_code == 200
        response = client.post(url)
        assert response.status_code == 200
        assert response.context["result"].ok
        assert 'data-testid="verify-ok"' in response.content.decode()


def test_verify_page_reports_the_broken_row(client_for: ClientFor, events: dict[str, AuditEvent]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET object_repr = 'x' WHERE id = %s", [events["erligang"].pk])
    response = client_for("auditor").post(reverse("audit:verify"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.context["result"].seq == events["erligang"].seq
    assert f"序号 {events['erligang'].seq}" in response.content.decode()


@pytest.mark.parametrize("persona", ["leader", "other_leader", "grid_a"])
def test_verify_page_refused_to_others(client_for: ClientFor, persona: str) -> None:
    assert client_for(persona).post(reverse("audit:verify")).status_code == 403


# --- Record history ----------------------------------------------------------------------------------------


def _history_url(unit: OrgUnit) -> str:
    return reverse("audit:record_history", args=["core", "orgunit", unit.pk])


@pytest.fixture
def changed_unit(world: World) -> OrgUnit:
    """陇一社区 edited twice by the leader through the service (two history versions, two audit events)."""
    unit = world.community_a
    unit = update_unit(world["leader"], unit, version=unit.version, short_name="陇一新名")
    unit = update_unit(world["leader"], unit, version=unit.version, population=7100)
    return unit


def test_history_shows_the_diff_of_consecutive_versions(
    world: World, client_for: ClientFor, changed_unit: OrgUnit
) -> None:
    response = client_for("leader").get(_history_url(changed_unit))
    assert response.status_code == 200
    versions = response.context["versions"]
    newest, previous = versions[0], versions[1]
    assert {(c.field, c.old, c.new) for c in newest.changes} >= {("人口", "7000", "7100")}
    assert ("简称", "陇一社区", "陇一新名") in {(c.field, c.old, c.new) for c in previous.changes}
    assert all(c.field != "简称" for c in newest.changes)
    events = [(e.kind, e.actor_repr) for e in response.context["events"]]
    assert events.count(("org.change", "leader")) == 2
    body = response.content.decode()
    assert "陇一新名" in body and "7100" in body


def test_history_scope(client_for: ClientFor, changed_unit: OrgUnit) -> None:
    url = _history_url(changed_unit)
    assert client_for("auditor").get(url).status_code == 200
    assert client_for("other_leader").get(url).status_code == 403
    assert client_for("grid_a").get(url).status_code == 403
    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("login"))


def test_history_404s(client_for: ClientFor, world: World) -> None:
    client = client_for("admin")
    assert client.get(reverse("audit:record_history", args=["core", "nosuchmodel", 1])).status_code == 404
    assert client.get(reverse("audit:record_history", args=["audit", "auditevent", 1])).status_code == 404
    assert client.get(reverse("audit:record_history", args=["core", "orgunit", 987654])).status_code == 404
    assert client.get(reverse("audit:record_history", args=["core", "orgunit", "abc"])).status_code == 404


def test_history_of_unscoped_record_needs_district_scope_and_hides_passwords(
    world: World, client_for: ClientFor
) -> None:
    user = world["grid_b"]
    user.title = "网格长"
    user.save()
    url = reverse("audit:record_history", args=["core", "user", user.pk])
    assert client_for("leader").get(url).status_code == 403  # users belong to no unit
    response = client_for("admin").get(url)
    assert response.status_code == 200
    fields = {c.field for version in response.context["versions"] for c in version.changes}
    assert "职务" in fields
    assert not any("password" in f.lower() or "密码" in f for f in fields)
