"""Word search over residents: Chinese words (segmented), prefixes of the last word, pinyin and initials."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from jiedao.people.models import Resident
from jiedao.search.query import search
from tests.world import World

pytestmark = pytest.mark.django_db


def titles(world: World, who: str, q: str, **kwargs: object) -> list[str]:
    return [h.title for h in search(world[who], q, **kwargs)]  # type: ignore[arg-type]


def test_a_resident_at_a_compound_is_found_by_its_name_and_part_of_it(
    world: World, make_resident: Callable[..., Resident]
) -> None:
    make_resident("王秀英", address="陇海花园3号楼1单元301")
    make_resident("李建国", address="航海东路12号院")
    for q in ("陇海花园", "陇海", "陇海花", "陇海花园 3号楼", "3号楼 王秀英", "王秀英", "秀英", "王"):
        assert titles(world, "comm_a", q) == ["王秀英"], q
    assert titles(world, "comm_a", "航海") == ["李建国"]
    assert titles(world, "comm_a", "陇海 航海") == []  # every word must match


def test_name_by_pinyin_and_initials(world: World, make_resident: Callable[..., Resident]) -> None:
    make_resident("张三", address="陇海花园3号楼")
    make_resident("李四", address="陇海花园5号楼")
    for q in ("zhangsan", "zs", "ZS", "zhangs", "zhang san", "Zhang", "张三", "张"):
        assert titles(world, "grid_a", q) == ["张三"], q
    assert titles(world, "grid_a", "lisi") == ["李四"]
    assert titles(world, "grid_a", "ls") == ["李四"]


def test_the_last_four_of_the_masked_identity_number_and_phone(
    world: World, make_resident: Callable[..., Resident]
) -> None:
    from tests.search.conftest import id_number

    number = id_number("19600101", 123)
    make_resident("刘洋", id_number=number, phone="13812345678")
    assert titles(world, "comm_a", number[-4:]) == ["刘洋"]
    assert titles(world, "comm_a", "5678") == ["刘洋"]
    assert titles(world, "comm_a", number[6:14]) == []  # the birth date is not in the index


def test_subtitle_shows_masked_values_only(world: World, make_resident: Callable[..., Resident]) -> None:
    from tests.search.conftest import id_number

    number = id_number("19700505", 456)
    make_resident("周敏", id_number=number, phone="13912345678", address="陇海花园8号楼")
    hit = search(world["comm_a"], "周敏")[0]
    assert number not in hit.subtitle and "13912345678" not in hit.subtitle
    assert hit.subtitle.startswith(f"{number[:6]}********{number[-4:]}") and "陇海花园8号楼" in hit.subtitle
    assert hit.kind == "resident" and hit.label == "居民"


def test_ranking_puts_the_exact_title_first(world: World, make_resident: Callable[..., Resident]) -> None:
    make_resident("张三丰")
    make_resident("张三")
    assert titles(world, "comm_a", "张三")[0] == "张三"


def test_limit_and_kinds(world: World, make_resident: Callable[..., Resident]) -> None:
    for i in range(5):
        make_resident(f"陈{'一二三四五'[i]}")
    assert len(search(world["comm_a"], "陈", limit=3)) == 3
    assert search(world["comm_a"], "陈", kinds=["case"]) == []
    assert len(search(world["comm_a"], "陈", kinds=["resident"])) == 5


def test_a_document_written_before_its_place_name_was_known_is_still_found(
    world: World, make_resident: Callable[..., Resident]
) -> None:
    from jiedao.search import segment

    make_resident("孙丽", address="金水湾畔小区2号楼")
    segment.add_places(["金水湾畔小区"])
    assert titles(world, "comm_a", "金水湾畔小区") == ["孙丽"]
    assert titles(world, "comm_a", "金水湾畔小区 2号楼") == ["孙丽"]


def test_queries_that_find_nothing(world: World, make_resident: Callable[..., Resident]) -> None:
    make_resident("吴静")
    for q in ("", "   ", "，。！", "不存在的词", "9q", '"吴静"', "吴静' OR 1=1 --", "*", "吴静 AND NOT"):
        hits = search(world["comm_a"], q)
        assert all(h.title == "吴静" for h in hits), q
    assert titles(world, "comm_a", '"吴静"') == ["吴静"]
