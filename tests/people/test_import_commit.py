"""The people import's commit: upsert by identity number (created / updated / unchanged, masks and indexes
compared, never ciphertexts), blank cells keep stored values, places and households made once by name, the
household head, scope (a number registered elsewhere is an error naming no one), all-or-nothing (an error
row or a crash mid-way leaves nothing), the audit event, history rows, the search index, and the same result
from the worker processes."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from jiedao.audit.models import AuditEvent
from jiedao.core.privacy import decrypt
from jiedao.people import importer
from jiedao.people.models import (
    PHONE_CONTEXT,
    Building,
    Compound,
    Dwelling,
    Household,
    Organisation,
    Resident,
    ResidentTag,
)
from jiedao.search import index as search_index
from tests.people.helpers import id_number, resident
from tests.world import World

HEADER = [
    "姓名",
    "身份证号",
    "联系电话",
    "小区",
    "楼栋",
    "单元",
    "房号",
    "户号",
    "与户主关系",
    "人口类型",
    "标签",
]
ZHANG = id_number(date(1950, 3, 1), 11)
LI = id_number(date(1952, 4, 2), 22)
WANG = id_number(date(1980, 5, 3), 33)
ZHAO = id_number(date(2010, 6, 4), 44)


def sheet(path: Path, rows: Sequence[Sequence[object]], header: list[str] = HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def family(tmp_path: Path, name: str = "family.csv", phone: str = "13800000001") -> Path:
    return sheet(
        tmp_path / name,
        [
            ["张大山", ZHANG, phone, "陇海花园", "3", "1", "301", "H1", "户主", "户籍", "党员"],
            ["李小梅", LI, "", "陇海花园", "3", "1", "301", "H1", "妻", "户籍", ""],
            ["王强", WANG, "13800000003", "陇海花园", "3", "1", "302", "", "户主", "流动", ""],
            ["赵小宝", ZHAO, "", "陇海花园", "3", "1", "302", "", "子", "流动", ""],
        ],
    )


@pytest.mark.django_db
def test_created_then_unchanged_then_updated(world: World, tmp_path: Path) -> None:
    actor = world["comm_a"]
    first = importer.run(family(tmp_path), unit=world.community_a, actor=actor, commit=True)
    assert (first.created, first.updated, first.unchanged, first.error_count) == (4, 0, 0, 0)
    assert first.places == {"compound": 1, "building": 1, "entrance": 1, "dwelling": 2, "household": 2}
    zhang = Resident.objects.get(name="张大山")
    token, version = zhang.phone_token, zhang.version

    again = importer.run(family(tmp_path), unit=world.community_a, actor=actor, commit=True)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert again.places == {}  # found by name, not made twice
    assert Resident.objects.count() == 4 and Household.objects.count() == 2 and Dwelling.objects.count() == 2
    zhang.refresh_from_db()
    assert zhang.phone_token == token and zhang.version == version  # nothing rewritten

    changed = importer.run(
        family(tmp_path, "changed.csv", phone="13900000009"), unit=world.community_a, actor=actor, commit=True
    )
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 3)
    zhang.refresh_from_db()
    assert decrypt(zhang.phone_token, PHONE_CONTEXT) == "13900000009" and zhang.phone_mask == "139****0009"
    assert zhang.version == version + 1
    history = zhang.history.order_by("-history_id").first()
    assert history is not None and history.history_type == "~" and history.phone_mask == "139****0009"
    assert history.history_user_id == actor.pk and "changed.csv" in (history.history_change_reason or "")


@pytest.mark.django_db
def test_households_heads_places_and_tags(world: World, tmp_path: Path) -> None:
    importer.run(family(tmp_path), unit=world.community_a, actor=None, commit=True)
    zhang, li, wang, zhao = (Resident.objects.get(id_mask__endswith=n[-4:]) for n in (ZHANG, LI, WANG, ZHAO))
    assert zhang.household_id == li.household_id != wang.household_id
    assert wang.household_id == zhao.household_id  # no 户号: one household per dwelling
    h1 = zhang.household
    assert h1 is not None and wang.household is not None
    assert h1.number == "H1" and h1.head_id == zhang.pk and h1.address == "陇海花园 3号楼 1单元 301"
    assert wang.household.head_id == wang.pk
    assert zhao.relation == "child" and li.relation == "spouse" and wang.residence_type == "floating"
    assert Compound.objects.get().org_unit == world.community_a
    assert Building.objects.get().address == "陇海花园 3号楼"
    assert [t.tag.code for t in ResidentTag.objects.select_related("tag")] == ["party_member"]
    assert Resident.objects.filter(org_unit=world.community_a).count() == 4

    # Li becomes the head of H1 (and Zhang a plain member): the head follows the relation.
    rows = [
        ["张大山", ZHANG, "", "", "", "", "", "H1", "夫", "", ""],
        ["李小梅", LI, "", "", "", "", "", "H1", "户主", "", "党员"],
    ]
    result = importer.run(
        sheet(tmp_path / "heads.csv", rows), unit=world.community_a, actor=None, commit=True
    )
    assert (result.updated, result.unchanged) == (2, 0)
    h1.refresh_from_db()
    assert h1.head_id == li.pk
    assert ResidentTag.objects.filter(resident=li).count() == 1
    zhang.refresh_from_db()
    assert zhang.phone_mask == "138****0001" and zhang.dwelling_id is not None  # blank cells kept them


@pytest.mark.django_db
def test_two_heads_for_one_household_is_an_error(world: World, tmp_path: Path) -> None:
    rows = [
        ["张大山", ZHANG, "", "陇海花园", "3", "", "301", "H1", "户主", "", ""],
        ["李小梅", LI, "", "陇海花园", "3", "", "301", "H1", "户主", "", ""],
    ]
    result = importer.run(sheet(tmp_path / "two.csv", rows), unit=world.community_a, actor=None, commit=True)
    assert [(e.row, e.column, e.message) for e in result.errors] == [
        (3, "与户主关系", "第 2 行已是这一户的户主，一户只能有一个户主。")
    ]
    assert not result.committed and not Resident.objects.exists() and not Compound.objects.exists()


@pytest.mark.django_db
def test_existing_places_are_found_by_name_and_alias_in_the_community(world: World, tmp_path: Path) -> None:
    compound = Compound.objects.create(
        org_unit=world.grid_a2, name="陇海花园小区", aliases="陇海花园, 老陇海", address="陇海东路 88 号"
    )
    Compound.objects.create(org_unit=world.grid_b, name="紫荆小区")  # another community's: not used
    rows = [
        ["张大山", ZHANG, "", "老陇海", "3", "", "301", "", "户主", "", ""],
        ["李小梅", LI, "", "紫荆小区", "1", "", "101", "", "户主", "", ""],
    ]
    result = importer.run(sheet(tmp_path / "alias.csv", rows), unit=world.grid_a, actor=None, commit=True)
    assert result.created == 2, result.errors
    zhang = Resident.objects.get(name="张大山")
    assert zhang.dwelling is not None and zhang.dwelling.building.compound == compound
    assert zhang.address == "陇海花园小区 3号楼 301" and zhang.org_unit == world.grid_a
    assert zhang.dwelling.org_unit == world.grid_a2  # a building takes its compound's unit
    new = Compound.objects.get(name="紫荆小区", org_unit=world.grid_a)  # made in the import's unit
    assert Resident.objects.get(name="李小梅").dwelling.building.compound == new  # type: ignore[union-attr]


@pytest.mark.django_db
def test_grid_column_puts_rows_in_grids_of_the_community_only(world: World, tmp_path: Path) -> None:
    header = ["姓名", "身份证号", "网格"]
    rows = [
        ["张大山", ZHANG, world.grid_a2.code],
        ["李小梅", LI, "陇一社区第1网格"],
        ["王强", WANG, world.grid_b.name],
    ]
    path = sheet(tmp_path / "grids.csv", rows, header)
    result = importer.run(path, unit=world.community_a, actor=world["comm_a"], commit=True)
    assert [(e.row, e.column) for e in result.errors] == [(4, "网格")]
    assert "不在陇海东路第一社区内" in result.errors[0].message
    assert not Resident.objects.exists()
    path = sheet(tmp_path / "grids.csv", rows[:2], header)
    result = importer.run(path, unit=world.community_a, actor=world["comm_a"], commit=True)
    assert dict(Resident.objects.values_list("name", "org_unit")) == {
        "张大山": world.grid_a2.pk,
        "李小梅": world.grid_a.pk,
    }


@pytest.mark.django_db
def test_a_number_registered_in_another_community_is_an_error_that_names_no_one(
    world: World, tmp_path: Path
) -> None:
    resident(world["comm_b"], world.grid_b, name="秘密的人", id_number=WANG)
    result = importer.run(family(tmp_path), unit=world.community_a, actor=world["comm_a"], commit=True)
    assert [(e.row, e.column) for e in result.errors] == [(4, "身份证号")]
    message = result.errors[0].message
    assert "陇海东路第一社区以外" in message and "秘密" not in message and "新郑路" not in message
    assert Resident.objects.count() == 1 and not Household.objects.exists()  # nothing of the file written


@pytest.mark.django_db
def test_an_error_in_a_late_chunk_leaves_nothing_of_the_earlier_ones(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "CHUNK_ROWS", 2)
    rows = [
        [f"居民{n}", id_number(date(1960, 1, 1), n), "", "陇海花园", str(n), "", "101", "", "户主", "", ""]
        for n in range(1, 8)
    ]
    rows.append(["错行", "4101041960", "", "", "", "", "", "", "", "", ""])
    result = importer.run(sheet(tmp_path / "late.csv", rows), unit=world.community_a, actor=None, commit=True)
    assert result.error_count == 1 and result.created == 7 and not result.committed
    assert not Resident.objects.exists() and not Compound.objects.exists() and not Household.objects.exists()
    assert not AuditEvent.objects.filter(kind="people.import").exists()


@pytest.mark.django_db
def test_a_dry_run_writes_nothing_and_counts_what_a_commit_would_do(world: World, tmp_path: Path) -> None:
    resident(world["comm_a"], world.grid_a, name="张大山", id_number=ZHANG, phone="13800000001")
    result = importer.run(family(tmp_path), unit=world.community_a, actor=world["comm_a"])
    assert (result.created, result.updated, result.unchanged) == (3, 1, 0)  # Zhang gets a household, a tag
    assert not result.committed and Resident.objects.count() == 1
    assert not Compound.objects.exists() and not Household.objects.exists()
    assert result.places["household"] == 2


@pytest.mark.django_db
def test_audit_event_search_index_and_permission(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    told: list[tuple[str, list[int]]] = []
    monkeypatch.setattr(
        search_index, "refresh_ids", lambda model, ids: told.append((model.__name__, list(ids)))
    )
    monkeypatch.setattr(  # the import tells the index the values it wrote (no read back)
        search_index,
        "refresh_values",
        lambda model, rows: told.append((model.__name__, [row["pk"] for row in rows])),
    )
    with pytest.raises(PermissionDenied):
        importer.run(family(tmp_path), unit=world.community_a, actor=world["comm_b"], commit=True)
    with pytest.raises(PermissionDenied):
        importer.run(family(tmp_path), unit=world.community_a, actor=world["grid_a"], commit=True)
    result = importer.run(family(tmp_path), unit=world.community_a, actor=world["comm_a"], commit=True)
    event = AuditEvent.objects.get(kind="people.import")
    assert event.actor == world["comm_a"] and event.org_path == world.community_a.path
    assert (
        event.data["file"] == "family.csv"
        and event.data["sha256"] == result.sha256
        and len(result.sha256) == 64
    )
    assert event.data["created"] == 4 and event.data["unit"] == world.community_a.code
    assert ZHANG not in str(event.data)
    ids = set(Resident.objects.values_list("id", flat=True))
    assert {i for name, chunk in told if name == "Resident" for i in chunk} == ids
    assert {name for name, _ids in told} == {"Resident", "Compound", "Building", "Dwelling"}


@pytest.mark.django_db
def test_worker_processes_give_the_same_result(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "CHUNK_ROWS", 3)
    rows = [
        [
            f"居民{n}",
            id_number(date(1940, 1, 1), n),
            f"138{n:08d}",
            "陇海花园",
            str(n % 3 + 1),
            "",
            f"{n}01",
            f"H{n // 2}",
            "户主" if n % 2 == 0 else "子",
            "常住",
            "低保" if n % 5 == 0 else "",
        ]
        for n in range(1, 20)
    ]
    rows.append(["重复", id_number(date(1940, 1, 1), 4), "", "", "", "", "", "", "", "", ""])
    path = sheet(tmp_path / "many.csv", rows)
    inline = importer.run(path, unit=world.community_a, actor=None, workers=1)
    pooled = importer.run(path, unit=world.community_a, actor=None, workers=2)
    assert inline.counts() == pooled.counts() and inline.errors == pooled.errors
    assert pooled.errors[0].message == "与第 5 行的身份证号相同，同一人只能出现一次。"
    rows.pop()
    path = sheet(tmp_path / "many.csv", rows)
    result = importer.run(path, unit=world.community_a, actor=None, workers=2, commit=True)
    assert result.created == 19 and Resident.objects.count() == 19
    assert Resident.objects.get(name="居民5").tags.get().tag.code == "dibao"
    assert decrypt(Resident.objects.get(name="居民7").phone_token, PHONE_CONTEXT) == "13800000007"


@pytest.mark.django_db
def test_organisations_upsert_by_credit_code_or_name(world: World, tmp_path: Path) -> None:
    from stdnum.cn import uscc

    code = "91410104MA44A0XX7" + uscc.calc_check_digit("91410104MA44A0XX7")
    header = ["单位名称", "类型", "统一社会信用代码", "地址", "从业人数"]
    rows = [
        ["郑州某商贸有限公司", "", code, "陇海东路 88 号", "12"],
        ["陇海社区卫生服务站", "事业单位", "", "陇海东路 90 号", ""],
    ]
    path = sheet(tmp_path / "orgs.csv", rows, header)
    first = importer.run(path, unit=world.community_a, actor=None, kind="organisations", commit=True)
    assert first.created == 2, first.errors
    shop = Organisation.objects.get(credit_code=code)
    assert shop.kind == "enterprise" and shop.employees == 12  # kind read from the code (91: a company)
    assert Organisation.objects.get(name="陇海社区卫生服务站").kind == "institution"
    rows[0][4] = "15"
    path = sheet(tmp_path / "orgs.csv", rows, header)
    second = importer.run(path, unit=world.community_a, actor=None, kind="organisations", commit=True)
    assert (second.created, second.updated, second.unchanged) == (0, 1, 1)
    shop.refresh_from_db()
    assert shop.employees == 15 and shop.version == 2 and shop.history.count() == 1
    elsewhere = importer.run(path, unit=world.community_b, actor=None, kind="organisations", commit=True)
    assert [e.column for e in elsewhere.errors] == ["统一社会信用代码"] and not elsewhere.committed


@pytest.mark.django_db(transaction=True)
def test_a_crash_mid_way_leaves_nothing_behind(
    tx_world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real transaction (not the test's): chunks 1 and 2 are written, the third raises, all is undone."""
    monkeypatch.setattr(importer, "CHUNK_ROWS", 2)
    calls: list[Any] = []

    def crash(result: importer.ImportResult) -> None:
        calls.append(result.created)
        if len(calls) == 3:
            raise RuntimeError("the worker was killed")

    monkeypatch.setattr(importer, "checkpoint", crash)
    rows = [
        [
            f"居民{n}",
            id_number(date(1931, 7, 7), n, region="110105"),  # no demo data has these
            "",
            "陇海花园",
            "1",
            "",
            f"{n}01",
            "",
            "户主",
            "",
            "低保",
        ]
        for n in range(1, 9)
    ]
    path = sheet(tmp_path / "crash.csv", rows)
    with pytest.raises(RuntimeError, match="killed"):
        importer.run(path, unit=tx_world.community_a, actor=None, commit=True)
    assert calls == [2, 4, 6]  # two chunks were written before the crash
    # (other tests of this worker may have left demo rows elsewhere: look under the target community only)
    under = {"org_path__startswith": tx_world.community_a.path}
    assert not Resident.objects.filter(**under).exists()
    assert not ResidentTag.objects.filter(resident__org_path__startswith=tx_world.community_a.path).exists()
    assert not Compound.objects.filter(**under).exists() and not Dwelling.objects.filter(**under).exists()
    assert not Household.objects.filter(**under).exists()
    assert not AuditEvent.objects.filter(kind="people.import").exists()
    monkeypatch.setattr(importer, "checkpoint", lambda result: None)
    result = importer.run(path, unit=tx_world.community_a, actor=None, commit=True)
    assert result.created == 8 and Resident.objects.filter(**under).count() == 8  # again, from scratch


@pytest.mark.django_db
def test_a_stored_dwelling_keeps_its_address_and_unit(world: World, tmp_path: Path) -> None:
    compound = Compound.objects.create(org_unit=world.grid_a2, name="陇海花园")
    building = Building.objects.create(org_unit=world.grid_a2, compound=compound, name="3号楼")
    stored = Dwelling.objects.create(
        org_unit=world.grid_a2, building=building, number="301", address="陇海花园 3号楼 301（东户）"
    )
    rows = [["张大山", ZHANG, "", "陇海花园", "3", "", "301", "", "户主", "", ""]]
    result = importer.run(sheet(tmp_path / "stored.csv", rows), unit=world.grid_a, actor=None, commit=True)
    assert result.created == 1 and result.places == {"household": 1}, result.errors
    zhang = Resident.objects.get()
    assert zhang.dwelling == stored and zhang.address == "陇海花园 3号楼 301（东户）"
    assert zhang.household is not None and zhang.household.org_unit == world.grid_a2  # the dwelling's unit
    assert zhang.org_unit == world.grid_a
