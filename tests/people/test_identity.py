"""Identity numbers: every valid number is accepted with its birth date and sex; every single-character change
is caught; what spreadsheets do to them gets a message that says so."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric

from jiedao.people.identity import IdNumberError, normalise_id_number, parse_id_number, region_known

TODAY = date(2026, 11, 23)
REGIONS = ["410104", "410102", "110105", "440305", "650102", "410100"]


def with_check(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "0")


@st.composite
def id_numbers(draw: st.DrawFn) -> tuple[str, date, int]:
    region = draw(st.sampled_from(REGIONS))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
    serial = draw(st.integers(min_value=0, max_value=999))
    return with_check(f"{region}{born:%Y%m%d}{serial:03d}"), born, serial


@given(id_numbers())
def test_valid_numbers_are_accepted_with_what_they_say(case: tuple[str, date, int]) -> None:
    number, born, serial = case
    parsed = parse_id_number(number, today=TODAY)
    assert parsed.number == number and parsed.birth_date == born and parsed.region == number[:6]
    assert parsed.sex == ("male" if serial % 2 else "female")
    assert parse_id_number(number.lower(), today=TODAY) == parsed


@given(id_numbers(), st.integers(min_value=0, max_value=17), st.sampled_from("0123456789X"))
def test_every_single_character_change_is_caught(case: tuple[str, date, int], at: int, new: str) -> None:
    number = case[0]
    if number[at] == new or (new == "X" and at != 17):
        return
    changed = number[:at] + new + number[at + 1 :]
    with pytest.raises(IdNumberError):
        parse_id_number(changed, today=TODAY)


def test_full_width_spaces_and_lower_x_are_normalised() -> None:
    number = with_check("41010419530212123")
    wide = "".join(chr(ord(c) + 0xFEE0) for c in number[:6]) + " " + number[6:14] + "-" + number[14:]
    assert normalise_id_number(wide) == number
    assert parse_id_number(f" {wide} ", today=TODAY).number == number


@pytest.mark.parametrize("raw", [4.10104195302121e17, "4.10104195302121E+17", 410104195302121239])
def test_numbers_a_spreadsheet_stored_as_numbers_say_so(raw: object) -> None:
    with pytest.raises(IdNumberError, match="存成了数字"):
        parse_id_number(raw, today=TODAY)


def test_messages_for_other_mistakes() -> None:
    cases = {
        "": "请填写",
        "410104530212123": "15 位",
        "41010419530212": "18 位",
        with_check("41010419530230123"): "不存在",
        with_check("41010420300101123"): "不合理",
        with_check("99010419530212123"): "行政区划",
        "41010419530212123Y": "最后一位",
    }
    for raw, words in cases.items():
        with pytest.raises(IdNumberError, match=words):
            parse_id_number(raw, today=TODAY)


def test_region_is_known_at_any_time_not_only_at_birth() -> None:
    """410104 (管城回族区) dates from 1983; people born before carry it all the same."""
    assert region_known("410104") and not region_known("419999") and not region_known("990104")
    number = with_check("41010419300101123")
    assert parse_id_number(number, today=TODAY).birth_date == date(1930, 1, 1)


def test_age() -> None:
    parsed = parse_id_number(with_check("41010419610301123"), today=TODAY)
    assert parsed.age_on(date(2026, 2, 28)) == 64 and parsed.age_on(date(2026, 3, 1)) == 65
    assert parsed.age_on(TODAY + timedelta(days=1)) == 65
