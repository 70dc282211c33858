"""Exact search by a full identity number or phone through the blind index: scoped, first, and never logged
in clear."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jiedao.audit.models import AuditEvent
from jiedao.people.models import Resident
from jiedao.search.query import exact_kind, number_only, search
from tests.search.conftest import id_number
from tests.world import World

pytestmark = pytest.mark.django_db


def test_full_identity_number_finds_the_resident(
    world: World, make_resident: Callable[..., Resident]
) -> None:
    number = id_number("19530212", 7)
    make_resident("郑红", id_number=number, address="陇海花园1号楼")
    make_resident("郑红梅", id_number=id_number("19530212", 9))
    for q in (number, number.lower() if number[-1] == "X" else number, f" {number[:6]} {number[6:]} "):
        hits = search(world["comm_a"], q)
        assert [(h.title, h.exact) for h in hits] == [("郑红", "id_number")], q
    wide = "".join(chr(ord(c) + 0xFEE0) for c in number)  # typed with full-width digits
    assert [h.title for h in search(world["comm_a"], wide)] == ["郑红"]


def test_phone_finds_every_resident_with_it(world: World, make_resident: Callable[..., Resident]) -> None:
    make_resident("钱一", phone="13812345678")
    make_resident("钱二", phone="138 1234 5678")
    make_resident("钱三", phone="13912345678")
    for q in ("13812345678", "+86 138 1234 5678", "１３８１２３４５６７８"):
        hits = search(world["comm_a"], q)
        assert sorted(h.title for h in hits) == ["钱一", "钱二"], q
        assert {h.exact for h in hits} == {"phone"}


def test_a_number_is_only_looked_up_exactly(world: World, make_resident: Callable[..., Resident]) -> None:
    make_resident("冯五", phone="13700001111")
    make_resident("冯六", address="13700001111")  # the digits as a word: not what a number query searches
    assert [(h.title, h.exact) for h in search(world["comm_a"], "13700001111")] == [("冯五", "phone")]
    assert number_only("41010419660606066") and number_only("410104196606060")  # an identity number typed
    assert not number_only("2024112300001") and not number_only("GC2024112300001")  # case numbers: words


def test_exact_search_is_scoped(world: World, make_resident: Callable[..., Resident]) -> None:
    number = id_number("19800808", 11)
    make_resident("韩梅", unit=world.grid_b, actor="comm_b", id_number=number, phone="13600001111")
    assert search(world["grid_b"], number)[0].title == "韩梅"
    assert search(world["leader"], number)[0].title == "韩梅"
    for outsider in ("grid_a", "comm_a", "other_leader", "volunteer"):
        assert search(world[outsider], number) == [], outsider
        assert search(world[outsider], "13600001111") == [], outsider


def test_what_counts_as_an_exact_query() -> None:
    number = id_number("19900101", 5)
    assert exact_kind(number) == ("id_number", number)
    assert exact_kind("0371-66661234") == ("phone", "0371-66661234")
    assert exact_kind("13812345678") == ("phone", "13812345678")
    for q in ("1381234567", "张三", number[:17], "abc"):
        assert exact_kind(q) is None


def test_an_identity_search_is_not_logged_in_clear(
    world: World, make_resident: Callable[..., Resident], caplog: pytest.LogCaptureFixture
) -> None:
    number = id_number("19660606", 66)
    make_resident("褚七", id_number=number)
    before = AuditEvent.objects.count()
    caplog.set_level(logging.DEBUG)
    with CaptureQueriesContext(connection) as queries:
        assert search(world["comm_a"], number)[0].title == "褚七"
    # the look-up goes through the blind index: no statement sent to the database holds the clear number,
    # nor what is being typed of it
    assert not any(number in q["sql"] for q in queries.captured_queries)
    with CaptureQueriesContext(connection) as queries:
        search(world["comm_a"], number[:16])
    assert not any(number[:16] in q["sql"] for q in queries.captured_queries)
    assert number not in caplog.text
    assert AuditEvent.objects.count() == before
