"""The stored forms of a resident's personal data, computed in one place for the forms, the API, the import
and the demo: an identity number becomes (token, blind index, mask, birth date, sex); a phone becomes (token,
blind index, mask); a name gets its pinyin for search. Checking happens here too, with messages a person can
act on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from django.utils.translation import gettext as _
from pypinyin import lazy_pinyin

from jiedao.core.privacy import (
    blind_index,
    encrypt,
    mask_id_number,
    mask_phone,
    normalise_phone,
    valid_phone,
)
from jiedao.people.identity import IdNumberError, parse_id_number
from jiedao.people.models import ID_CONTEXT, PHONE_CONTEXT


class PhoneError(ValueError):
    pass


@dataclass(frozen=True)
class IdentityColumns:
    id_token: str
    id_index: str
    id_mask: str
    birth_date: date | None
    sex: str


@dataclass(frozen=True)
class PhoneColumns:
    phone_token: str
    phone_index: str
    phone_mask: str


NO_IDENTITY = IdentityColumns("", "", "", None, "")
NO_PHONE = PhoneColumns("", "", "")


def identity_columns(raw: object, today: date | None = None) -> IdentityColumns:
    """Checked and encrypted; an empty value gives empty columns. Raises IdNumberError."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return NO_IDENTITY
    parsed = parse_id_number(raw, today)
    return IdentityColumns(
        id_token=encrypt(parsed.number, ID_CONTEXT),
        id_index=id_lookup(parsed.number),
        id_mask=mask_id_number(parsed.number),
        birth_date=parsed.birth_date,
        sex=parsed.sex,
    )


def id_lookup(number: str) -> str:
    """The blind index of a normalised identity number."""
    return blind_index(number, ID_CONTEXT)


def phone_columns(raw: object) -> PhoneColumns:
    """Checked and encrypted; an empty value gives empty columns. Raises PhoneError."""
    text = normalise_phone("" if raw is None else _text(raw))
    if not text:
        return NO_PHONE
    if not valid_phone(text):
        raise PhoneError(_("电话号码“%(phone)s”格式不对：手机为 11 位，座机为区号加号码。") % {"phone": text})
    return PhoneColumns(encrypt(text, PHONE_CONTEXT), phone_lookup(text), mask_phone(text))


def phone_lookup(phone: str) -> str:
    return blind_index(normalise_phone(phone), PHONE_CONTEXT)


def _text(raw: object) -> str:
    """A phone a spreadsheet stored as a number (13812345678.0) is still the phone."""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw)


@lru_cache(maxsize=65536)
def name_pinyin(name: str) -> str:
    """'zhangsan zs' for 张三: full pinyin and initials, what the search box matches names by."""
    name = name.strip()
    if not name:
        return ""
    # One conversion: the initials are each syllable's first letter (what Style.FIRST_LETTER gives, checked
    # for every CJK unified ideograph and extension A character).
    syllables = lazy_pinyin(name, errors="ignore")
    full = "".join(syllables)
    initials = "".join(s[:1] for s in syllables)
    return f"{full} {initials}".lower().strip()


__all__ = [
    "NO_IDENTITY",
    "NO_PHONE",
    "IdNumberError",
    "IdentityColumns",
    "PhoneColumns",
    "PhoneError",
    "id_lookup",
    "identity_columns",
    "name_pinyin",
    "phone_columns",
    "phone_lookup",
]
