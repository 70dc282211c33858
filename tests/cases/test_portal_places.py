"""The residents' portal place picker: sub-district → community/village → grid, each level loaded on demand,
checked on POST with one query, and a submit page whose size and queries do not grow with the number of
units."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from jiedao.cases.models import Case, Category
from jiedao.core.models import OrgUnit
from tests.world import World

pytestmark = pytest.mark.django_db

TEXT = "楼道里的声控灯坏了一个多月，老人上下楼不方便"
ADDRESS = "陇海东路 18 号院 3 号楼"


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()


def _form(world: World, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "张师傅",
        "phone": "13912340000",
        "category": "infra-light",
        "description": TEXT,
        "subdistrict": world.subdistrict.code,
        "community": world.community_a.code,
        "grid": world.grid_a.code,
        "address": ADDRESS,
        "key": str(uuid.uuid4()),
        "website": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _codes(html: str, units: list[OrgUnit]) -> set[str]:
    return {u.code for u in units if f'value="{u.code}"' in html}


def test_places_partial_returns_only_children_of_the_chosen_unit(
    world: World, catalog: dict[str, Category]
) -> None:
    every = list(OrgUnit.objects.all())
    url = reverse("portal:places")
    html = Client().get(url, {"subdistrict": world.subdistrict.code}).content.decode()
    assert _codes(html, every) == {world.community_a.code, world.community_b.code}
    assert 'name="community"' in html and 'name="grid"' in html
    html = Client().get(url, {"subdistrict": world.other_subdistrict.code}).content.decode()
    assert _codes(html, every) == {world.other_community.code}
    html = Client().get(url, {"community": world.community_a.code}).content.decode()
    assert _codes(html, every) == {world.grid_a.code, world.grid_a2.code}
    assert 'name="community"' not in html
    # Not a sub-district / not a community: nothing under it is offered.
    assert _codes(Client().get(url, {"subdistrict": world.district.code}).content.decode(), every) == set()
    assert _codes(Client().get(url, {"community": world.grid_a.code}).content.decode(), every) == set()


def test_places_partial_leaves_out_inactive_units(world: World, catalog: dict[str, Category]) -> None:
    world.grid_a2.is_active = False
    world.grid_a2.save()
    world.community_b.is_active = False
    world.community_b.save()
    url = reverse("portal:places")
    every = list(OrgUnit.objects.all())
    assert _codes(Client().get(url, {"subdistrict": world.subdistrict.code}).content.decode(), every) == {
        world.community_a.code
    }
    assert _codes(Client().get(url, {"community": world.community_a.code}).content.decode(), every) == {
        world.grid_a.code
    }
    assert _codes(Client().get(url, {"community": world.community_b.code}).content.decode(), every) == set()


def test_page_shows_only_the_chosen_subdistricts_communities(
    world: World, catalog: dict[str, Category]
) -> None:
    html = Client().get(reverse("portal:submit")).content.decode()
    assert f'value="{world.subdistrict.code}"' in html and f'value="{world.other_subdistrict.code}"' in html
    assert f'value="{world.community_a.code}"' not in html  # two sub-districts: none chosen yet
    assert 'hx-get="/portal/submit/places/"' in html
    html = Client().get(reverse("portal:submit"), {"subdistrict": world.subdistrict.code}).content.decode()
    assert f'value="{world.community_a.code}"' in html and f'value="{world.community_b.code}"' in html
    assert f'value="{world.other_community.code}"' not in html
    assert f'value="{world.grid_a.code}"' not in html  # grids come with the community


def test_single_subdistrict_is_preselected_with_its_communities(
    world: World, catalog: dict[str, Category]
) -> None:
    world.other_subdistrict.is_active = False
    world.other_subdistrict.save()  # a unit change is picked up at once in this process
    html = Client().get(reverse("portal:submit")).content.decode()
    assert f'<option value="{world.subdistrict.code}" selected>' in html
    assert f'value="{world.other_subdistrict.code}"' not in html
    assert f'value="{world.community_a.code}"' in html and f'value="{world.community_b.code}"' in html
    assert f'value="{world.other_community.code}"' not in html
    # The case needs no sub-district in the POST: it follows from the community.
    response = Client().post(reverse("portal:submit"), _form(world, subdistrict=""))
    assert response.status_code == 302
    assert Case.objects.get(description=TEXT).org_unit == world.grid_a


def test_post_without_community_comes_back_with_that_level(
    world: World, catalog: dict[str, Category]
) -> None:
    """Without JavaScript: a sub-district chosen, no community yet → its communities, the typed text kept."""
    response = Client().post(reverse("portal:submit"), _form(world, community="", grid=""))
    assert response.status_code == 400
    html = response.content.decode()
    assert "请选择社区/村。" in html
    assert f'value="{world.community_a.code}"' in html
    assert f'value="{world.other_community.code}"' not in html
    assert TEXT in html and ADDRESS in html and "张师傅" in html
    again = Client().post(
        reverse("portal:submit"),
        _form(world, subdistrict=world.other_subdistrict.code, community="", grid=""),
    )
    html = again.content.decode()
    assert f'value="{world.other_community.code}"' in html and f'value="{world.community_a.code}"' not in html
    assert not Case.objects.filter(description=TEXT).exists()


@pytest.mark.parametrize(
    "what", ["inactive_community", "inactive_subdistrict", "district", "grid_as_community"]
)
def test_unit_that_is_not_public_is_refused(world: World, catalog: dict[str, Category], what: str) -> None:
    community = world.community_a.code
    if what == "inactive_community":
        world.community_a.is_active = False
        world.community_a.save()
    elif what == "inactive_subdistrict":
        world.subdistrict.is_active = False
        world.subdistrict.save()
    elif what == "district":
        community = world.district.code
    else:
        community = world.grid_a.code
    response = Client().post(
        reverse("portal:submit"), _form(world, subdistrict="", community=community, grid="")
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "所选社区/村不存在或已停用，请重新选择。" in html
    assert TEXT in html and ADDRESS in html
    assert not Case.objects.filter(description=TEXT).exists()


def test_inactive_grid_and_foreign_community_refused(world: World, catalog: dict[str, Category]) -> None:
    world.grid_a2.is_active = False
    world.grid_a2.save()
    response = Client().post(reverse("portal:submit"), _form(world, grid=world.grid_a2.code))
    assert response.status_code == 400
    assert "所选网格不存在或已停用，请重新选择。" in response.content.decode()
    response = Client().post(reverse("portal:submit"), _form(world, community=world.other_community.code))
    assert response.status_code == 400
    html = response.content.decode()
    assert "所选社区/村不属于所选街道。" in html
    assert f'value="{world.other_community.code}"' not in html  # the chosen sub-district's list is shown
    assert TEXT in html
    assert not Case.objects.filter(description=TEXT).exists()


def test_category_change_is_picked_up(world: World, catalog: dict[str, Category]) -> None:
    assert 'value="infra-light"' in Client().get(reverse("portal:submit")).content.decode()
    light = catalog["infra-light"]
    light.is_active = False
    light.save()
    assert 'value="infra-light"' not in Client().get(reverse("portal:submit")).content.decode()


def _grow(world: World, subdistricts: int) -> list[OrgUnit]:
    """More sub-districts, each with communities and grids (what a city has)."""
    made: list[OrgUnit] = []
    for s in range(subdistricts):
        world.district.refresh_from_db()
        sub = OrgUnit.objects.add_child(
            world.district, {"kind": "subdistrict", "code": f"8{s:03d}000", "name": f"S{s}"}
        )
        made.append(sub)
        for c in range(2):
            sub.refresh_from_db()
            comm = OrgUnit.objects.add_child(
                sub, {"kind": "community", "code": f"8{s:03d}1{c:02d}", "name": f"C{s}-{c}"}
            )
            made.append(comm)
            for g in range(2):
                comm.refresh_from_db()
                made.append(
                    OrgUnit.objects.add_child(
                        comm, {"kind": "grid", "code": f"8{s:03d}1{c:02d}{g}", "name": f"G{s}-{c}-{g}"}
                    )
                )
    return made


def _measure(world: World) -> tuple[int, int, int, int, str]:
    client = Client()
    url = reverse("portal:submit")
    client.get(url)  # builds the per-process catalogue (public categories, sub-districts) once
    # … and the first case of the day makes the day's number counter and the audit chain head.
    assert client.post(url, _form(world, description=f"{TEXT} {uuid.uuid4().hex[:6]}")).status_code == 302
    with CaptureQueriesContext(connection) as get_queries:
        page = client.get(url, {"subdistrict": world.subdistrict.code})
    with CaptureQueriesContext(connection) as post_queries:
        posted = client.post(url, _form(world, description=f"{TEXT} {uuid.uuid4().hex[:6]}"))
    assert posted.status_code == 302
    with CaptureQueriesContext(connection) as bad_queries:
        refused = client.post(url, _form(world, phone="123"))
    assert refused.status_code == 400
    html = page.content.decode()
    return len(get_queries), len(post_queries), len(bad_queries), len(page.content), html


def test_queries_and_page_size_do_not_grow_with_units(world: World, catalog: dict[str, Category]) -> None:
    get_before, post_before, bad_before, size_before, _html = _measure(world)
    made = _grow(world, 12)
    get_after, post_after, bad_after, size_after, html = _measure(world)
    assert (get_after, post_after, bad_after) == (get_before, post_before, bad_before)
    assert get_before <= 3  # the communities and grids of the chosen place; categories/sub-districts cached
    # The page grows only by the 12 new sub-district options, never by their communities or grids.
    assert {u.code for u in made if f'value="{u.code}"' in html} == {
        u.code for u in made if u.kind == "subdistrict"
    }
    assert size_after - size_before < 12 * 60
