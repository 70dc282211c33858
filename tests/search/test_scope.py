"""Scope on everything: the kinds a user may view, within the units the user is attached to; confidential
cases also need case.view_confidential there."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from jiedao.cases import services as case_services
from jiedao.cases.catalog import ensure_default_catalog
from jiedao.cases.models import Case, Channel
from jiedao.core.models import OrgUnit
from jiedao.people import services
from jiedao.people.models import Compound, Organisation, OrganisationKind, Resident
from jiedao.search.query import reach, search, search_groups
from tests.world import World

pytestmark = pytest.mark.django_db


def found(world: World, who: str, q: str) -> set[str]:
    return {h.title for h in search(world[who], q, limit=50)}


@pytest.fixture
def residents(world: World, make_resident: Callable[..., Resident]) -> None:
    make_resident("甲网格居民", unit=world.grid_a, address="范围花园1号楼")
    make_resident("甲二网格居民", unit=world.grid_a2, address="范围花园2号楼")
    make_resident("乙网格居民", unit=world.grid_b, actor="comm_b", address="范围花园3号楼")
    make_resident("中博居民", unit=world.other_grid, actor="admin", address="范围花园4号楼")


@pytest.mark.usefixtures("residents")
def test_each_persona_finds_its_own_residents_only(world: World) -> None:
    a, a2, b, other = "甲网格居民", "甲二网格居民", "乙网格居民", "中博居民"
    assert found(world, "grid_a", "范围花园") == {a}
    assert found(world, "grid_b", "范围花园") == {b}
    assert found(world, "comm_a", "范围花园") == {a, a2}
    assert found(world, "comm_b", "范围花园") == {b}
    assert found(world, "leader", "范围花园") == {a, a2, b}
    assert found(world, "auditor", "范围花园") == {a, a2, b}
    assert found(world, "other_leader", "范围花园") == {other}
    assert found(world, "district", "范围花园") == {a, a2, b, other}
    assert found(world, "admin", "范围花园") == {a, a2, b, other}
    assert found(world, "volunteer", "范围花园") == set()


@pytest.mark.usefixtures("residents")
def test_grid_worker_does_not_find_the_other_grid_by_any_way(world: World) -> None:
    for q in ("乙网格居民", "乙网格", "yiwanggejumin", "ywgjm", "范围花园3号楼"):
        assert search(world["grid_a"], q) == [], q
    assert search(world["grid_a"], "范围花园3号楼", kinds=["resident"]) == []


@pytest.mark.usefixtures("residents")
def test_other_subdistrict_finds_nothing_here(world: World) -> None:
    for q in ("甲网格居民", "乙网格居民", "范围", "jwgjm"):
        assert all(h.title == "中博居民" for h in search(world["other_leader"], q)), q


def test_volunteer_may_search_nothing(world: World) -> None:
    assert reach(world["volunteer"]) == {}
    assert search(world["volunteer"], "范围") == [] and search_groups(world["volunteer"], "范围") == []


def test_kinds_follow_the_view_actions(world: World) -> None:
    assert set(reach(world["grid_a"])) == {
        "resident",
        "compound",
        "building",
        "dwelling",
        "organisation",
        "case",
    }
    assert list(reach(world["grid_a"], kinds=["case", "nonsense"])) == ["case"]


def test_places_and_organisations_are_scoped(world: World) -> None:
    services.create(
        world["comm_a"], Compound, {"org_unit": world.grid_a, "name": "范围家园", "address": "范围路1号"}
    )
    services.create(
        world["comm_b"], Compound, {"org_unit": world.grid_b, "name": "范围新城", "address": "范围路2号"}
    )
    services.create(
        world["comm_b"],
        Organisation,
        {"org_unit": world.grid_b, "name": "范围科技有限公司", "kind": OrganisationKind.ENTERPRISE},
    )
    assert found(world, "grid_a", "范围") == {"范围家园"}
    assert found(world, "grid_b", "范围") == {"范围新城", "范围科技有限公司"}
    assert found(world, "leader", "范围") == {"范围家园", "范围新城", "范围科技有限公司"}
    assert found(world, "other_leader", "范围") == set()


def _case(world: World, unit: OrgUnit, title: str, confidential: bool = False) -> Case:
    catalog = ensure_default_catalog()
    return case_services.create_case(
        world["comm_a"] if unit.path.startswith(world.community_a.path) else world["leader"],
        channel=Channel.PHONE,
        category=catalog["city-stall"],
        org_unit=unit,
        title=title,
        description=f"{title}：路口有人占道摆摊卖水果，影响通行",
        address="陇海东路与范围路交叉口",
        confidential=confidential,
        anonymous=True,
    )


def test_confidential_cases_need_the_further_action(world: World) -> None:
    _case(world, world.grid_a, "占道经营普通件")
    _case(world, world.grid_a, "占道经营保密件", confidential=True)
    assert found(world, "grid_a", "占道经营") == {"占道经营普通件"}
    assert found(world, "comm_a", "占道经营") == {"占道经营普通件"}
    assert found(world, "leader", "占道经营") == {"占道经营普通件", "占道经营保密件"}
    assert found(world, "dept_xinfang", "占道经营") == {"占道经营普通件", "占道经营保密件"}
    assert found(world, "other_leader", "占道经营") == set()
    assert found(world, "grid_b", "占道经营") == set()
    # the same as the case list: Case.objects.visible_to
    for who in ("grid_a", "comm_a", "leader", "grid_b"):
        titles = set(
            Case.objects.visible_to(world[who])
            .filter(title__startswith="占道经营")
            .values_list("title", flat=True)
        )
        assert found(world, who, "占道经营") == titles, who


@pytest.mark.usefixtures("residents")
def test_the_probe_for_many_matches_keeps_the_scope(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL reads the first entries under the user's unit when the planner expects many matches: the
    same people find the same residents that way (and the count is then the planner's estimate)."""
    from django.db import connection

    from jiedao.search import query

    if connection.vendor != "postgresql":
        pytest.skip("the probe is PostgreSQL's")
    _case(world, world.grid_a, "范围花园占道普通件")
    _case(world, world.grid_a, "范围花园占道保密件", confidential=True)
    expected = {
        who: found(world, who, "范围花园") for who in ("grid_a", "comm_a", "leader", "admin", "grid_b")
    }
    monkeypatch.setattr(query, "DENSE_ROWS", 0)
    probes: list[str] = []
    original = query._probed
    monkeypatch.setattr(query, "_probed", lambda *a: probes.append("probe") or original(*a))  # type: ignore[func-returns-value]
    for who, titles in expected.items():
        assert found(world, who, "范围花园") == titles, who
        for limit in (1, 2):  # few enough for the probe's rows to be the answer
            hits = {h.title for h in search(world[who], "范围花园", limit=limit)}
            assert hits <= titles and len(hits) == min(limit, len(titles)), (who, limit)
    assert probes
    assert "范围花园占道保密件" in expected["leader"] and "范围花园占道保密件" not in expected["comm_a"]
    groups = {g.kind: g for g in search_groups(world["leader"], "范围花园", per_kind=1)}
    assert groups["resident"].more and groups["resident"].approximate
