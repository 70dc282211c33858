"""The work lists: scope, the boxes, the filters, paging and a query count that does not grow with rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from jiedao.cases.models import Case

pytestmark = pytest.mark.django_db

LIST = "/cases/"


def numbers(response) -> set[str]:
    return {c.number for c in response.context["page"].object_list}


def test_grid_a_case_is_seen_in_scope_only(make_case, client_for):
    case = make_case("dispatched")
    assert case.number in numbers(client_for("leader").get(LIST))
    assert case.number in numbers(client_for("grid_a").get(LIST))
    for outsider in ("grid_b", "other_leader"):
        response = client_for(outsider).get(LIST)
        assert response.status_code == 200
        assert case.number not in response.content.decode()


def test_volunteer_has_no_case_list(world, client_for):
    assert client_for("volunteer").get(LIST).status_code == 403


def test_boxes(make_case, client_for, world):
    waiting = make_case("dispatched")  # waiting for grid_a to sign
    registered = make_case("registered")
    grid_a = client_for("grid_a")
    assert numbers(grid_a.get(LIST, {"box": "mine"})) == {waiting.number}
    assert numbers(grid_a.get(LIST, {"box": "unit"})) == {waiting.number}
    # comm_a's community is above grid_a, so the dispatched case is in its unit queue too, the new one not.
    assert waiting.number in numbers(client_for("comm_a").get(LIST, {"box": "unit"}))
    assert registered.number not in numbers(client_for("comm_a").get(LIST, {"box": "unit"}))
    assert numbers(client_for("grid_b").get(LIST, {"box": "unit"})) == set()
    # 包案: the leader in charge sees the petition in their box; the tab is offered to leaders only.
    petition = make_case("registered", petition_type="claim")
    Case.objects.filter(pk=petition.pk).update(leader_in_charge=world["leader"])
    response = client_for("leader").get(LIST, {"box": "charge"})
    assert numbers(response) == {petition.number}
    assert any(tab["key"] == "charge" for tab in response.context["tabs"])
    assert not any(tab["key"] == "charge" for tab in grid_a.get(LIST).context["tabs"])


def test_filters_by_status_category_and_light(make_case, client_for, catalog):
    handling = make_case("handling")
    registered = make_case("registered")
    leader = client_for("leader")
    assert numbers(leader.get(LIST, {"status": "handling"})) == {handling.number}
    assert numbers(leader.get(LIST, {"status": ["handling", "registered"]})) == {
        handling.number,
        registered.number,
    }
    assert numbers(leader.get(LIST, {"category": "city"})) >= {handling.number}
    other_code = next(code for code, c in catalog.items() if c.parent_id is None and code != "city")
    assert handling.number not in numbers(leader.get(LIST, {"category": other_code}))
    # Light: the handling case is green now; push its deadline into the past and it is red.
    assert handling.number in numbers(leader.get(LIST, {"light": "green"}))
    from datetime import timedelta

    from django.utils import timezone

    Case.objects.filter(pk=handling.pk).update(due_at=timezone.now() - timedelta(hours=1))
    assert numbers(leader.get(LIST, {"light": "red"})) == {handling.number}
    assert handling.number not in numbers(leader.get(LIST, {"light": "green"}))
    response = leader.get(LIST, {"overdue": "true"})
    assert numbers(response) == {handling.number}


def test_list_shows_the_columns_and_export_link(make_case, client_for):
    case = make_case("handling")
    response = client_for("leader").get(LIST, {"status": "handling"})
    html = response.content.decode()
    assert reverse("cases:case_detail", args=[case.number]) in html
    assert "status-green" in html
    assert case.lead_unit.display_name in html
    assert reverse("cases:case_export") + "?status=handling" in html


def test_query_count_does_not_grow_with_rows(make_case, client_for):
    make_case("handling")
    client = client_for("leader")
    client.get(LIST)  # warm caches (session, content types)
    with CaptureQueriesContext(connection) as few:
        assert client.get(LIST).status_code == 200
    for _ in range(4):
        make_case("dispatched")
        make_case("registered")
    with CaptureQueriesContext(connection) as many:
        response = client.get(LIST)
    assert len(response.context["page"].object_list) == 9
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_place_filter_lists_a_bounded_number_of_units(client_for, world, monkeypatch) -> None:
    """A district-wide user is not sent every grid of the district as an option: past the limit the deepest
    level is left out, while a chosen unit is always offered."""
    from jiedao.cases import views

    monkeypatch.setattr(views, "UNIT_CHOICES_LIMIT", 8)
    page = client_for("district").get("/cases/").content.decode()
    assert world.community_a.code in page and world.grid_a.code not in page
    monkeypatch.setattr(views, "UNIT_CHOICES_LIMIT", 2)
    page = client_for("district").get("/cases/").content.decode()
    assert world.subdistrict.code in page and world.community_a.code not in page
    page = client_for("district").get(f"/cases/?unit={world.grid_a.code}").content.decode()
    assert f'value="{world.grid_a.code}" selected' in page


def test_choice_filters_offer_all_first(client_for) -> None:
    """The light, channel and priority selects start with 全部 (their empty label), not Django's dashes."""
    import re

    html = client_for("leader").get(LIST).content.decode()
    for name in ("light", "channel", "priority"):
        first = rf'<select name="{name}"[^>]*><option value=""(?: selected)?>([^<]*)</option>'
        found = re.search(first, html)
        assert found is not None and found.group(1) == "全部", name
