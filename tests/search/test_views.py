"""The search page, the header box's suggestions and the box itself: staff only, scoped, grouped by kind."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.template import Context, Template
from django.test import Client, RequestFactory
from django.urls import reverse

from jiedao.people.models import Resident
from tests.search.guards import GUARDS
from tests.world import World

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.search.urls")]


@pytest.fixture
def people(world: World, make_resident: Callable[..., Resident]) -> None:
    make_resident("张三", address="陇海花园3号楼")
    make_resident("张三丰", address="陇海花园5号楼")
    make_resident("乙网格张三", unit=world.grid_b, actor="comm_b", address="陇海花园9号楼")


def test_login_is_required() -> None:
    for url in ("/search/?q=张三", "/search/suggest/?q=张三"):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.usefixtures("people")
def test_results_grouped_by_kind_with_counts(client_for: Callable[[str], Client]) -> None:
    response = client_for("comm_a").get("/search/", {"q": "陇海花园"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="group-resident"' in html and 'data-testid="count-resident">2<' in html
    assert "张三丰" in html and "乙网格张三" not in html
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.usefixtures("people")
def test_out_of_scope_persona_sees_nothing(client_for: Callable[[str], Client]) -> None:
    for who in ("grid_b", "other_leader"):
        html = client_for(who).get("/search/", {"q": "张三"}).content.decode()
        assert "陇海花园3号楼" not in html and "张三丰" not in html, who
    assert "乙网格张三" in client_for("grid_b").get("/search/", {"q": "张三"}).content.decode()
    assert (
        'data-testid="search-empty"'
        in client_for("other_leader").get("/search/", {"q": "张三"}).content.decode()
    )


def test_a_user_who_may_search_nothing_is_refused(client_for: Callable[[str], Client]) -> None:
    assert client_for("volunteer").get("/search/", {"q": "张三"}).status_code == 403
    assert client_for("volunteer").get("/search/suggest/", {"q": "张三"}).status_code == 403


@pytest.mark.usefixtures("people")
def test_one_kind_and_the_more_link(
    world: World, client_for: Callable[[str], Client], make_resident: Callable[..., Resident]
) -> None:
    for i in range(12):
        make_resident(f"李{'一二三四五六七八九十甲乙'[i]}", address="更多小区")
    html = client_for("comm_a").get("/search/", {"q": "更多小区"}).content.decode()
    assert html.count('data-testid="hit"') == 10 and "kind=resident" in html
    html = client_for("comm_a").get("/search/", {"q": "更多小区", "kind": "resident"}).content.decode()
    assert html.count('data-testid="hit"') == 12
    html = client_for("comm_a").get("/search/", {"q": "更多小区", "kind": "case"}).content.decode()
    assert html.count('data-testid="hit"') == 0


def test_the_page_without_a_query(client_for: Callable[[str], Client]) -> None:
    response = client_for("grid_a").get("/search/")
    assert response.status_code == 200 and 'data-testid="search-form"' in response.content.decode()


@pytest.mark.usefixtures("people")
def test_suggestions(client_for: Callable[[str], Client]) -> None:
    response = client_for("grid_a").get("/search/suggest/", {"q": "zsf"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and html.count('data-testid="suggestion"') == 1 and "张三丰" in html
    assert html.count('data-testid="suggestion"') == 1
    assert (
        client_for("grid_a").get("/search/suggest/", {"q": "zs"}).content.decode().count('suggestion"') == 2
    )
    assert "/people-stub/residents/" in html or "/people/" in html  # the record's page
    assert client_for("grid_a").get("/search/suggest/", {"q": ""}).content.decode().strip() == ""
    assert "乙网格张三" not in client_for("grid_a").get("/search/suggest/", {"q": "张三"}).content.decode()
    assert "没有相符的记录" in client_for("grid_a").get("/search/suggest/", {"q": "不存在"}).content.decode()


def test_only_get(client_for: Callable[[str], Client]) -> None:
    assert client_for("grid_a").post("/search/", {"q": "x"}).status_code == 405


def _box(user: object) -> str:
    request = RequestFactory().get("/")
    request.user = user  # type: ignore[assignment]
    request.resolver_match = None
    return Template("{% load search_box %}{% search_box %}").render(Context({"request": request}))


def test_the_header_box_shows_for_staff_only(world: World) -> None:
    from django.contrib.auth.models import AnonymousUser

    html = _box(world["grid_a"])
    assert 'data-testid="search-box"' in html and 'hx-get="/search/suggest/"' in html
    assert 'hx-trigger="input changed delay:250ms, search"' in html and 'action="/search/"' in html
    assert _box(world["volunteer"]).strip() == "" and _box(AnonymousUser()).strip() == ""


@pytest.mark.parametrize("name", sorted(GUARDS))
def test_route_guards(world: World, client_for: Callable[[str], Client], name: str) -> None:
    """The declarations tests/test_routes.py will use, checked here against this app's URLs."""
    guard = GUARDS[name]
    url = reverse(name, kwargs=guard.kwargs(world))
    accept = "application/json" if guard.api else "text/html"
    anonymous = Client().get(url, {"q": "张三"}, HTTP_ACCEPT=accept)
    if guard.api:
        assert anonymous.status_code in (401, 403)
    else:
        assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))
    assert guard.outsider is not None
    assert client_for(guard.outsider).get(url, {"q": "张三"}, HTTP_ACCEPT=accept).status_code == 403
