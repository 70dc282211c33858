"""Segmentation: rjieba's search cut, lower case, no punctuation; place names kept whole once known; queries
cut precisely; scope words."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from jiedao.search import segment as seg
from jiedao.search.query import All, Any_, Word, parse, to_fts5, to_tsquery


def test_punctuation_and_spaces_are_dropped_and_latin_is_lower_case() -> None:
    words = seg.segment("张三，住在陇海花园３号楼（1单元）ABC-123！")
    assert "张三" in words and "abc" in words and "123" in words and "3" in words
    assert all(seg.TOKEN.fullmatch(w) for w in words)
    assert not any(c in "".join(words) for c in "，（）！- ")


def test_each_token_once_in_order() -> None:
    assert seg.segment("社区 社区 社区") == ["社区"]
    assert seg.segment("") == [] and seg.segment("，。！") == []


def test_full_width_digits_and_letters_are_folded() -> None:
    assert seg.segment("ＧＣ２０２４") == seg.segment("gc2024") == ["gc2024"]


def test_the_mark_free_characters_hold_no_combining_mark() -> None:
    import sys
    import unicodedata

    marks = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)).startswith("M")]
    assert marks and not any(seg._MARKLESS.fullmatch(m) for m in marks)
    assert seg.normalise("Cafe 王\u0301秀英") == "cafe 王秀英" and seg.normalise("ＡＢ１２") == "ab12"


def test_search_cut_holds_the_precise_words_and_their_sub_words() -> None:
    words = seg.segment("中华人民共和国")
    assert {"中华", "人民", "共和国", "中华人民共和国"} <= set(words)


def test_a_place_name_stays_whole_once_added() -> None:
    name = "翠竹苑东区"
    seg.add_places([name])
    assert name in seg.segment(f"住{name}3号楼")
    assert name in seg.query_segments(name)
    assert seg.is_place_word(name)
    assert seg.plain_words(name) != [name]  # what a document indexed before the name was known holds


def test_a_query_word_that_is_a_place_also_matches_its_plain_words() -> None:
    seg.add_places(["陇海东路第一社区"])
    expr = parse("陇海东路第一社区")
    assert isinstance(expr, Any_)
    assert Word("陇海东路第一社区", True) in expr.items
    plain = [item for item in expr.items if isinstance(item, All)]
    assert plain and [w.text for w in plain[0].items] == seg.plain_words("陇海东路第一社区")
    assert plain[0].items[-1].prefix  # the last word typed is a prefix in every alternative


def test_every_word_must_match_and_the_last_is_a_prefix() -> None:
    expr = parse("陇海 花")
    assert isinstance(expr, All)
    assert expr.items == (Word("陇海"), Word("花", True))
    assert to_fts5(expr) == '("陇海" AND "花"*)'
    # PostgreSQL: a short prefix is its indexed prefix lexeme, a longer one a prefix match
    assert to_tsquery(expr) == "('陇海' & '花~')"
    assert to_tsquery(Word("zhangw", True)) == "'zhangw':*" and to_tsquery(Word("zha", True)) == "'zha~'"


def test_latin_words_typed_apart_also_match_written_together() -> None:
    expr = parse("Zhang San")
    assert isinstance(expr, Any_)
    assert Word("zhangsan", True) in expr.items


def test_nothing_to_search_for() -> None:
    assert parse("") is None and parse("  ，。、 ") is None


@given(st.text(max_size=60))
def test_any_text_gives_tokens_both_engines_take_whole(text: str) -> None:
    for word in seg.segment(text) + seg.query_segments(text):
        assert word and seg.TOKEN.fullmatch(word) and word == word.lower()
    expr = parse(text)
    if expr is not None:
        assert "'" not in to_fts5(expr).replace('"', "") and '"' not in to_tsquery(expr)


def test_scope_words_name_every_ancestor() -> None:
    words = seg.scope_words("re", False, "000100020003")
    assert words == ["9qre0", "9qre00001", "9qre000010002", "9qre0000100020003"]
    assert seg.scope_words("ca", True, "0001A")[0] == "9qca1"
    assert seg.scope_word("re", False, "0001000B") == "9qre00001000b"


def test_numbers_stay_whole_whatever_the_dictionary_learns() -> None:
    before = seg.segment("GC2026112400001 3号楼")
    seg.add_places(["陇海东路2026号院"])  # teaches rjieba "2026"
    assert seg.segment("GC2026112400001 3号楼") == before
    assert "gc2026112400001" in seg.query_segments("GC2026112400001")
