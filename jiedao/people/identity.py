"""Citizen identity numbers (身份证号, GB 11643-1999): normalise what a form or a spreadsheet gives, check it,
and read the birth date, sex and region from it.

Checks: 18 characters (17 digits and a check character, X for 10), the ISO 7064 MOD 11-2 check character, a
real birth date not in the future, and a region code (the first six digits) known in python-stdnum's table of
Chinese administrative divisions at any time. The region is not checked against the birth date as
`stdnum.cn.ric.validate` does: numbers were issued from 1985 on with the codes of that time, so a resident
born in 1953 in 管城回族区 carries 410104 although that code dates from 1983.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum import numdb
from stdnum.cn import ric

_SCIENTIFIC = re.compile(r"^\d(?:\.\d+)?[eE]\+?\d+$")


class IdNumberError(ValueError):
    """Why a value is not a valid identity number, in words for the person who typed or imported it."""


@dataclass(frozen=True)
class IdNumber:
    number: str  # 18 characters, X upper case
    birth_date: date
    sex: str  # "male" / "female" (the 17th digit: odd for men)
    region: str  # the first six digits

    def age_on(self, day: date) -> int:
        before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - before_birthday


def normalise_id_number(raw: Any) -> str:
    """Full-width digits and letters to ASCII, spaces, dashes and quotes dropped, x → X."""
    text = unicodedata.normalize("NFKC", str(raw if raw is not None else "")).strip()
    text = re.sub(r"[\s\-'\"‘’“”]", "", text)
    return text.upper()


def parse_id_number(raw: Any, today: date | None = None) -> IdNumber:
    """The checked number with what it says, or IdNumberError. A number that a spreadsheet stored as a number
    (a float, 4.10104E+17, or an integer past 2^53) has lost its last digits: the error says so."""
    stored_as_number = isinstance(raw, float | Decimal) or (
        isinstance(raw, int) and not isinstance(raw, bool) and raw > 2**53
    )
    number = normalise_id_number(raw)
    if stored_as_number or _SCIENTIFIC.match(number):
        raise IdNumberError(
            _("身份证号被表格存成了数字，末几位已经丢失。请把该列设为“文本”后重新录入身份证号。")
        )
    if not number:
        raise IdNumberError(_("请填写身份证号。"))
    if len(number) == 15 and number.isdigit():
        raise IdNumberError(_("这是 15 位的旧身份证号，请填写 18 位的身份证号。"))
    if len(number) != 18:
        raise IdNumberError(_("身份证号应为 18 位，这里是 %(n)d 位。") % {"n": len(number)})
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise IdNumberError(_("身份证号前 17 位应为数字，最后一位为数字或 X。"))
    if ric.calc_check_digit(number) != number[17]:
        raise IdNumberError(_("身份证号校验位不符，请核对是否有数字录错。"))
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdNumberError(_("身份证号中的出生日期 %(d)s 不存在。") % {"d": number[6:14]}) from None
    today = today or timezone.localdate()
    if born > today or born.year < 1880:
        raise IdNumberError(_("身份证号中的出生日期 %(d)s 不合理。") % {"d": born.isoformat()})
    if not region_known(number[:6]):
        raise IdNumberError(_("身份证号前 6 位 %(r)s 不是已知的行政区划代码。") % {"r": number[:6]})
    return IdNumber(number, born, "male" if int(number[16]) % 2 else "female", number[:6])


@lru_cache(maxsize=4096)
def region_known(code: str) -> bool:
    """Is this six-digit code a province + county in python-stdnum's table, at any time?"""
    parts = numdb.get("cn/loc").info(code)
    return len(parts) == 2 and all(props for _part, props in parts)
