"""The write side: refresh on every service write, removal, the bulk path, rebuilding, moving a unit, and
cases kept in step by a receiver."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jiedao.cases import services as case_services
from jiedao.cases.catalog import ensure_default_catalog
from jiedao.cases.models import Case, Channel
from jiedao.core.models import OrgUnit
from jiedao.people import services
from jiedao.people.models import Building, Compound, Dwelling, Resident
from jiedao.people.personal import name_pinyin
from jiedao.search import index
from jiedao.search.models import SearchEntry
from jiedao.search.query import search
from tests.world import World

pytestmark = pytest.mark.django_db


def titles(world: World, who: str, q: str) -> list[str]:
    return sorted(h.title for h in search(world[who], q, limit=50))


def fts_rows() -> int:
    """Entries the full-text index itself holds (not the entries table)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT COUNT(*) FROM search_searchentry_fts WHERE search_searchentry_fts MATCH '9q*'"
            )
        else:
            cursor.execute(
                "SELECT COUNT(*) FROM search_searchentry WHERE search_vector @@ to_tsquery('simple', '9q:*')"
            )
        return int(cursor.fetchone()[0])


def test_a_service_write_refreshes_the_entry(world: World, make_resident: Callable[..., Resident]) -> None:
    resident = make_resident("蒋一", address="旧址小区1号楼")
    entry = SearchEntry.objects.get(kind="resident", object_id=resident.pk)
    assert entry.org_path == world.grid_a.path
    assert {"蒋一", "旧址", "小区", "jiangyi", "jy"} <= set(entry.terms.split())
    assert entry.scope.split() == [
        "9qre0",
        *(f"9qre0{world.grid_a.path[:i].lower()}" for i in (4, 8, 12, 16)),
    ]
    services.update(world["comm_a"], resident, {"name": "蒋二", "address": "新址花园2号楼"}, resident.version)
    assert titles(world, "comm_a", "蒋二") == ["蒋二"] and titles(world, "comm_a", "jianger") == ["蒋二"]
    assert titles(world, "comm_a", "蒋一") == [] and titles(world, "comm_a", "旧址") == []
    assert titles(world, "comm_a", "新址花园") == ["蒋二"]
    assert SearchEntry.objects.filter(kind="resident", object_id=resident.pk).count() == 1
    assert fts_rows() == SearchEntry.objects.count()


def test_moving_a_resident_to_another_grid_moves_its_scope(
    world: World, make_resident: Callable[..., Resident]
) -> None:
    resident = make_resident("沈搬家")
    assert titles(world, "grid_a", "沈搬家") == ["沈搬家"]
    services.update(world["comm_a"], resident, {"org_unit": world.grid_a2}, resident.version)
    assert titles(world, "grid_a", "沈搬家") == [] and titles(world, "comm_a", "沈搬家") == ["沈搬家"]


def test_remove_and_delete(world: World, make_resident: Callable[..., Resident]) -> None:
    one = make_resident("韩一")
    two = make_resident("韩二")
    index.remove([one, object(), None])
    assert titles(world, "comm_a", "韩") == ["韩二"]
    two.delete()  # any deletion (a receiver), not only through a service
    assert titles(world, "comm_a", "韩") == []
    assert not SearchEntry.objects.filter(object_id__in=[one.pk, two.pk], kind="resident").exists()
    assert fts_rows() == SearchEntry.objects.count()


def test_models_without_a_provider_are_ignored(world: World) -> None:
    index.refresh([world.grid_a])
    index.refresh_ids(OrgUnit, [world.grid_a.pk])
    index.remove([world.grid_a])
    assert not SearchEntry.objects.exists()


def _bulk_residents(world: World, n: int, prefix: str = "批量") -> list[int]:
    rows = [
        Resident(
            org_unit=world.grid_a if i % 2 else world.grid_b,
            org_path=(world.grid_a if i % 2 else world.grid_b).path,
            name=f"{prefix}{i:04d}",
            name_pinyin=name_pinyin(f"{prefix}{i:04d}"),
            address=f"批量花园{i % 40 + 1}号楼",
        )
        for i in range(n)
    ]
    Resident.objects.bulk_create(rows, batch_size=500)
    return list(Resident.objects.filter(name__startswith=prefix).values_list("pk", flat=True))


def test_refresh_ids_writes_two_thousand_entries_in_few_statements(world: World) -> None:
    ids = _bulk_residents(world, 2000)
    assert len(ids) == 2000
    with CaptureQueriesContext(connection) as queries:
        index.refresh_ids(Resident, ids)
    # per chunk of 1,000: one read and one executemany (plus savepoint statements and the place names)
    assert len(queries.captured_queries) <= 12, [q["sql"][:80] for q in queries.captured_queries]
    assert SearchEntry.objects.filter(kind="resident").count() == 2000
    assert fts_rows() == 2000
    assert len(search(world["grid_a"], "批量花园", limit=50)) == 50
    assert {h.title for h in search(world["grid_a"], "批量0001")} == {"批量0001"}
    assert search(world["grid_a"], "批量0002") == []  # grid_b's
    # again (an upsert): still one entry each; ids gone from the table lose their entries
    Resident.objects.filter(pk__in=ids[:10]).delete()
    index.refresh_ids(Resident, ids)
    assert SearchEntry.objects.filter(kind="resident").count() == 1990
    assert fts_rows() == 1990


def test_rebuild_and_the_reindex_command(world: World, make_resident: Callable[..., Resident]) -> None:
    kept = make_resident("许保留")
    _bulk_residents(world, 30, prefix="重建")
    assert titles(world, "comm_a", "重建0001") == []  # bulk_create sent no signal
    SearchEntry.objects.create(kind="resident", object_id=10**9, org_path=world.grid_a.path, title="幽灵")
    assert index.rebuild("resident", only_missing=True) == {"resident": 30}
    assert index.rebuild("resident", only_missing=True) == {"resident": 0}
    assert titles(world, "comm_a", "重建0001") == ["重建0001"]
    call_command("reindex", "--kind", "resident", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert not SearchEntry.objects.filter(object_id=10**9).exists()  # its row is gone
    assert SearchEntry.objects.filter(kind="resident").count() == 31
    assert titles(world, "comm_a", "许保留") == ["许保留"] and kept.pk
    assert fts_rows() == SearchEntry.objects.count()
    with pytest.raises(ValueError):
        index.rebuild("nonsense")


def test_places_are_indexed_and_teach_the_segmenter(world: World) -> None:
    compound = services.create(
        world["comm_a"],
        Compound,
        {"org_unit": world.grid_a, "name": "锦绣东方苑", "aliases": "东方苑，锦绣苑"},
    )
    building = services.create(world["comm_a"], Building, {"compound": compound, "name": "3号楼"})
    dwelling = services.create(world["comm_a"], Dwelling, {"building": building, "number": "301"})
    from jiedao.search.segment import loaded_places

    assert "锦绣东方苑" in loaded_places() and "锦绣苑" in loaded_places()
    found = search(world["grid_a"], "锦绣东方苑")
    assert {h.kind for h in found} == {"compound", "building", "dwelling"}
    assert search(world["grid_a"], "jinxiudongfangyuan")[0].kind == "compound"
    assert search(world["grid_a"], "jxdfy")[0].title == "锦绣东方苑"
    assert search(world["grid_a"], "锦绣苑")[0].title == "锦绣东方苑"  # an alias
    assert [h.title for h in search(world["grid_a"], "锦绣东方苑 3号楼 301")] == [dwelling.address]
    assert search(world["grid_b"], "锦绣东方苑") == []


def _case(world: World, **kwargs: object) -> Case:
    catalog = ensure_default_catalog()
    fields: dict[str, object] = {
        "channel": Channel.PHONE,
        "category": catalog["city-stall"],
        "org_unit": world.grid_a,
        "description": "新郑里路口有人占道摆摊卖水果，影响通行",
        "requester_name": "王先生",
        "requester_phone": "13812345678",
        **kwargs,
    }
    return case_services.create_case(world["comm_a"], **fields)  # type: ignore[arg-type]


def test_cases_are_kept_in_step_by_a_receiver(world: World) -> None:
    case = _case(world, title="水果摊占道", address="新郑里路口")
    entry = SearchEntry.objects.get(kind="case", object_id=case.pk)
    assert entry.title == "水果摊占道" and case.number in entry.subtitle
    for q in ("水果摊", "新郑里", case.number, case.number.lower(), case.number[2:], "摆摊"):
        assert [h.title for h in search(world["comm_a"], q)] == ["水果摊占道"], q
    hit = search(world["comm_a"], "水果摊")[0]
    assert hit.url == f"/cases/{case.number}/"
    case = case_services.accept(world["comm_a"], case, version=case.version)
    assert "待派遣" in SearchEntry.objects.get(kind="case", object_id=case.pk).subtitle
    # a save that names only fields the entry does not show leaves it alone
    with CaptureQueriesContext(connection) as queries:
        case.save(update_fields=["rating_comment"])
    assert not any("search_searchentry" in q["sql"] for q in queries.captured_queries)
    assert search(world["grid_b"], "水果摊") == []


def test_a_unit_move_repaths_the_entries(world: World, make_resident: Callable[..., Resident]) -> None:
    make_resident("移动网格居民", unit=world.grid_a2)
    old = world.grid_a2.path
    new = world.community_b.path + old[len(world.community_a.path) :]
    assert index.repath(old, new) == 1
    entry = SearchEntry.objects.get(title="移动网格居民")
    assert entry.org_path == new and f"9qre0{new.lower()}" in entry.scope.split()
    assert titles(world, "comm_b", "移动网格居民") == ["移动网格居民"]
    assert titles(world, "comm_a", "移动网格居民") == []
    assert index.repath(new, new) == 0
