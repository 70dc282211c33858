"""jiedao.core.privacy: field encryption with key rotation, blind index, masks, phone numbers."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from jiedao.core.privacy import (
    DecryptionError,
    blind_index,
    decrypt,
    encrypt,
    mask_id_number,
    mask_phone,
    needs_new_key,
    normalise_phone,
    valid_phone,
)

CONTEXT = "people.resident.id_number"
KEY_A = "key-a-0123456789-abcdefghij"
KEY_B = "key-b-0123456789-abcdefghij"


@given(st.text(min_size=1, max_size=200))
def test_encrypt_then_decrypt_gives_the_value_back(value: str) -> None:
    assert decrypt(encrypt(value, CONTEXT), CONTEXT) == value


def test_each_encryption_differs_hides_the_value_and_empty_stays_empty() -> None:
    token = encrypt("410104195302121239", CONTEXT)
    assert token != encrypt("410104195302121239", CONTEXT)
    assert "4101041953" not in token
    assert encrypt("", CONTEXT) == "" and decrypt("", CONTEXT) == ""


def test_a_token_opens_only_in_its_context_and_unaltered() -> None:
    token = encrypt("13812345678", "people.resident.phone")
    with pytest.raises(DecryptionError):
        decrypt(token, CONTEXT)
    prefix, key_id, body = token.split("$")
    altered = f"{prefix}${key_id}${body[:-4]}{'AAAA' if body[-4:] != 'AAAA' else 'BBBB'}"
    with pytest.raises(DecryptionError):
        decrypt(altered, "people.resident.phone")
    with pytest.raises(DecryptionError):
        decrypt("not a token", CONTEXT)


def test_rotation_reads_old_values_and_says_which_to_re_encrypt() -> None:
    with override_settings(FIELD_KEY=KEY_A, FIELD_OLD_KEYS=[]):
        old = encrypt("13812345678", CONTEXT)
        assert not needs_new_key(old)
    with override_settings(FIELD_KEY=KEY_B, FIELD_OLD_KEYS=[KEY_A]):
        assert decrypt(old, CONTEXT) == "13812345678"
        assert needs_new_key(old)
        new = encrypt("13812345678", CONTEXT)
        assert not needs_new_key(new) and decrypt(new, CONTEXT) == "13812345678"
    with override_settings(FIELD_KEY=KEY_B, FIELD_OLD_KEYS=[]), pytest.raises(DecryptionError):
        decrypt(old, CONTEXT)


def test_blind_index_is_stable_and_separated_by_context_and_key() -> None:
    a = blind_index("410104195302121239", CONTEXT)
    assert a == blind_index("410104195302121239", CONTEXT) and len(a) == 32
    assert a != blind_index("410104195302121239", "people.resident.phone")
    assert a != blind_index("410104195302121238", CONTEXT)
    with override_settings(FIELD_KEY=KEY_A):
        assert blind_index("410104195302121239", CONTEXT) != a
    assert blind_index("", CONTEXT) == ""


def test_without_a_field_key_nothing_is_encrypted() -> None:
    with override_settings(FIELD_KEY=""), pytest.raises(ImproperlyConfigured):
        encrypt("13812345678", CONTEXT)


def test_masks() -> None:
    assert mask_phone("13800001111") == "138****1111"
    assert mask_phone("0371-66881234") == "037******1234"
    assert mask_phone("12345") == "*****" and mask_phone("") == ""
    assert mask_id_number("41010419530212123X") == "410104********123X"
    assert mask_id_number("123") == "***"


def test_phone_numbers() -> None:
    assert normalise_phone(" +86 138 1234 5678 ") == "13812345678"
    assert normalise_phone("（0371）66881234") == "037166881234"
    assert normalise_phone("１３８１２３４５６７８") == "13812345678"
    assert valid_phone("13812345678") and valid_phone("0371-66881234")
    assert not valid_phone("12812345678") and not valid_phone("1381234567")
