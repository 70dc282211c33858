"""Likely duplicates and recurrences at intake (duplicates.py) and their pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jiedao.cases import duplicates, services
from jiedao.cases.models import Case, Category, Status
from tests.world import World

pytestmark = pytest.mark.django_db

STALL = "新郑里路口有人占道摆摊卖水果，影响通行"


def test_bigram_similarity() -> None:
    a = duplicates.bigrams("路口有人占道摆摊")
    assert "占道" in a and "路口" in a
    assert duplicates.jaccard(a, duplicates.bigrams("路口有人占道摆摊")) == 1.0
    assert duplicates.jaccard(a, duplicates.bigrams("楼道里暖气不热")) == 0.0


def test_similar_finds_the_near_duplicate_and_not_the_unrelated(
    world: World, catalog: dict[str, Category], make_case: Callable[..., Case]
) -> None:
    near = make_case("registered", org_unit=world.grid_a2)  # same community, other grid, same text
    sibling = make_case(
        "registered", category=catalog["city-build"], description="新郑里路口有人占道摆摊搭棚子，影响通行"
    )
    unrelated = make_case("registered", description="二号楼垃圾三天没人清运，气味很大")
    elsewhere = services.create_case(  # community B, same text
        world["comm_b"],
        channel="phone",
        category=catalog["city-stall"],
        org_unit=world.grid_b,
        description=STALL,
        requester_phone="13800002222",
    )
    old = make_case("registered", now=timezone.now() - timedelta(days=45))
    found = duplicates.find_similar(
        catalog["city-stall"], world.grid_a, "新郑里路口有摊贩占道卖水果，影响通行"
    )
    numbers = [s.case.number for s in found]
    assert near.number in numbers and sibling.number in numbers
    assert unrelated.number not in numbers
    assert elsewhere.number not in numbers and old.number not in numbers
    assert found == sorted(found, key=lambda s: -s.score)
    assert all(s.score >= duplicates.THRESHOLD for s in found)


def test_similar_query_is_bounded(
    world: World, catalog: dict[str, Category], make_case: Callable[..., Case]
) -> None:
    make_case("registered")
    with CaptureQueriesContext(connection) as queries:
        duplicates.find_similar(catalog["city-stall"], world.grid_a, STALL)
    case_queries = [q["sql"] for q in queries.captured_queries if '"cases_case"' in q["sql"]]
    assert len(case_queries) == 1
    assert "LIMIT 300" in case_queries[0] and "received_at" in case_queries[0]


def test_recurrence_finds_a_closed_case_at_the_same_place(
    world: World, catalog: dict[str, Category], make_case: Callable[..., Case]
) -> None:
    closed = make_case("closed", address="陇海东路 12 号")
    still_open = make_case("handling")
    same_address = make_case("closed", org_unit=world.community_a, address="陇海东路 12 号 ")
    other_grid = make_case("registered", org_unit=world.grid_a2, address="别处")
    Case.objects.filter(pk=other_grid.pk).update(status=Status.CLOSED)
    found = duplicates.recurrence(catalog["city-stall"], world.grid_a, "")
    assert closed in found and still_open not in found and other_grid not in found
    by_address = duplicates.recurrence(catalog["city-stall"], world.community_a, "陇海东路 12 号")
    assert same_address in by_address and closed in by_address and other_grid not in by_address
    assert duplicates.recurrence(catalog["env-garbage"], world.grid_a, "陇海东路 12 号") == []


def test_similar_partial_while_typing(
    world: World,
    catalog: dict[str, Category],
    make_case: Callable[..., Case],
    client_for: Callable[[str], Client],
) -> None:
    near = make_case("registered")
    closed = make_case("closed", description="新郑里路口去年也有占道摆摊")
    params: dict[str, Any] = {"category": "city-stall", "org_unit": world.grid_a.pk, "description": STALL}
    html = client_for("comm_a").get("/cases/new/similar/", params).content.decode()
    assert near.number in html and f'name="similar_case" value="{near.number}"' in html
    assert closed.number in html  # in the recurrence group
    assert 'data-testid="recurrent-row"' in html
    # grid_b may not pick community A's unit; nothing from there is shown.
    outsider = client_for("grid_b").get("/cases/new/similar/", params).content.decode()
    assert near.number not in outsider


def test_case_similar_lists_others_with_merge_and_link(
    world: World,
    catalog: dict[str, Category],
    make_case: Callable[..., Case],
    client_for: Callable[[str], Client],
) -> None:
    first = make_case("registered")
    second = make_case("registered")
    html = client_for("comm_a").get(f"/cases/{second.number}/similar/").content.decode()
    assert first.number in html and f"/cases/{second.number}/act/merge/" in html
    assert (
        f'name="into" value="{first.number}"' in html and f'name="version" value="{second.version}"' in html
    )
    assert f'action="/cases/{first.number}/' not in html  # it does not list itself as a target
    assert client_for("grid_b").get(f"/cases/{second.number}/similar/").status_code == 404


def test_case_link(
    world: World,
    catalog: dict[str, Category],
    make_case: Callable[..., Case],
    client_for: Callable[[str], Client],
) -> None:
    first = make_case("registered")
    second = make_case("registered")
    response = client_for("comm_a").post(f"/cases/{second.number}/link/", {"other": first.number})
    assert response.status_code == 302
    assert second.steps.filter(action="link", data__other=first.number).exists()
    assert first.steps.filter(action="link", data__other=second.number).exists()
    assert (
        client_for("grid_b").post(f"/cases/{second.number}/link/", {"other": first.number}).status_code == 404
    )


def intake(world: World, **extra: Any) -> dict[str, Any]:
    return {
        "channel": "phone",
        "category": "city-stall",
        "org_unit": str(world.grid_a.pk),
        "description": "新郑里路口又有人占道摆摊卖水果，影响通行",
        "requester_phone": "13700001111",
        "priority": "normal",
        "idempotency_key": "dup-1",
        **extra,
    }


def test_merge_on_intake(
    world: World,
    catalog: dict[str, Category],
    make_case: Callable[..., Case],
    client_for: Callable[[str], Client],
) -> None:
    target = make_case("accepted")
    client = client_for("comm_a")
    response = client.post("/cases/new/", intake(world, similar_case=target.number, similar_action="merge"))
    new = Case.objects.get(description__startswith="新郑里路口又有人")
    assert response.status_code == 302
    assert new.status == Status.MERGED and new.merged_into == target
    assert target.steps.filter(action="merged_in").exists()
    # A double submit neither makes a second case nor fails on the merge.
    again = client.post("/cases/new/", intake(world, similar_case=target.number, similar_action="merge"))
    assert (
        again.status_code == 302
        and Case.objects.filter(description__startswith="新郑里路口又有人").count() == 1
    )


def test_merge_refused_by_permission_keeps_the_new_case(
    world: World,
    catalog: dict[str, Category],
    make_case: Callable[..., Case],
    client_for: Callable[[str], Client],
) -> None:
    target = make_case("accepted")
    client = client_for("grid_a")  # may create, may not merge (case.dispatch)
    response = client.post(
        "/cases/new/", intake(world, similar_case=target.number, similar_action="merge"), follow=True
    )
    new = Case.objects.get(description__startswith="新郑里路口又有人")
    assert new.status == Status.REGISTERED and new.merged_into is None
    warnings = [str(m) for m in response.context["messages"]]
    assert any("未能与" in m and "合并" in m for m in warnings), warnings


def test_link_on_intake(
    world: World,
    catalog: dict[str, Category],
    make_case: Callable[..., Case],
    client_for: Callable[[str], Client],
) -> None:
    target = make_case("handling")
    client_for("grid_a").post("/cases/new/", intake(world, similar_case=target.number, similar_action="link"))
    new = Case.objects.get(description__startswith="新郑里路口又有人")
    assert new.steps.filter(action="link", data__other=target.number).exists()


def test_choosing_an_action_without_a_case_is_an_error(
    world: World, catalog: dict[str, Category], client_for: Callable[[str], Client]
) -> None:
    response = client_for("comm_a").post("/cases/new/", intake(world, similar_action="merge"))
    assert response.status_code == 200 and "请先在相似工单中选择一件。" in response.content.decode()


def test_services_link_is_used_not_faked(
    world: World, catalog: dict[str, Category], make_case: Callable[..., Case]
) -> None:
    a, b = make_case("registered"), make_case("registered")
    services.link(world["comm_a"], a, b)
    assert a.steps.filter(action="link").count() == 1
