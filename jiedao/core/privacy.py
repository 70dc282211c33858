"""Personal data (个人信息保护法): phones and ID numbers encrypted at rest, found by a keyed hash, shown
masked.

- `encrypt` / `decrypt`: AES-256-GCM under a key derived (HKDF-SHA256) from `JIEDAO_FIELD_KEY`. A token
  names the key that made it, so values written under an earlier key (`JIEDAO_FIELD_OLD_KEYS`) still read
  while they are re-encrypted (`needs_new_key` tells which). A `context` (say "people.resident.id_number")
  is bound to the token as associated data: a value copied into another column does not decrypt there.
- `blind_index`: HMAC-SHA256 of the normalised value under a second derived key, for exact look-ups ("who has
  this ID number") without decrypting; the same value in another context gives another hash.
- `mask_phone`, `mask_id_number`: 138****5678, 410104********123X.
- `normalise_phone`, `valid_phone`: what the forms and imports accept as a phone number.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import unicodedata
from functools import cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "e1"
MOBILE = re.compile(r"^1[3-9]\d{9}$")
#: Area code (0 + 2–3 digits) and a 7–8 digit number, optionally with a hyphen between them.
LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


class DecryptionError(ValueError):
    """A token that no configured key opens (wrong key, wrong context, or altered)."""


def _derive(master: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"jiedao-field-key", info=purpose).derive(
        master.encode()
    )


@cache
def _keys(current: str, old: tuple[str, ...]) -> tuple[dict[str, bytes], str, bytes]:
    """{key id: encryption key} for the current and the old keys, the current key's id, the index key."""
    by_id: dict[str, bytes] = {}
    for master in (current, *old):
        key = _derive(master, b"encrypt")
        by_id.setdefault(hashlib.sha256(key).hexdigest()[:8], key)
    current_id = hashlib.sha256(_derive(current, b"encrypt")).hexdigest()[:8]
    return by_id, current_id, _derive(current, b"blind-index")


def _configured() -> tuple[dict[str, bytes], str, bytes]:
    if not settings.FIELD_KEY:
        raise ImproperlyConfigured("JIEDAO_FIELD_KEY is not set: personal data cannot be encrypted.")
    return _keys(settings.FIELD_KEY, tuple(getattr(settings, "FIELD_OLD_KEYS", ())))


@cache
def _cipher(key: bytes) -> AESGCM:
    """One AESGCM object per key (it holds no state between calls: making one per value was a tenth of an
    import's encryption time)."""
    return AESGCM(key)


@cache
def _index_mac(key: bytes) -> hmac.HMAC:
    """The index key's HMAC-SHA256 before any message, copied for each value (the key is prepared once)."""
    return hmac.new(key, digestmod=hashlib.sha256)


def encrypt(value: str, context: str) -> str:
    """`e1$<key id>$<base64 of nonce + ciphertext>`; the empty string stays empty (nothing to hide)."""
    if value == "":
        return ""
    keys, key_id, _ = _configured()
    nonce = os.urandom(12)
    sealed = _cipher(keys[key_id]).encrypt(nonce, value.encode(), context.encode())
    return f"{PREFIX}${key_id}${base64.urlsafe_b64encode(nonce + sealed).decode()}"


def decrypt(token: str, context: str) -> str:
    if token == "":
        return ""
    keys, _, _ = _configured()
    try:
        prefix, key_id, body = token.split("$", 2)
        raw = base64.urlsafe_b64decode(body.encode())
    except ValueError as exc:
        raise DecryptionError("not an encrypted value") from exc
    key = keys.get(key_id)
    if prefix != PREFIX or key is None or len(raw) < 13:
        raise DecryptionError(f"no configured key {key_id!r} for this value")
    try:
        return _cipher(key).decrypt(raw[:12], raw[12:], context.encode()).decode()
    except InvalidTag as exc:
        raise DecryptionError("the value does not open with its key in this context") from exc


def needs_new_key(token: str) -> bool:
    """Was this value encrypted under another key than the current one (re-encrypt it)?"""
    if token == "":
        return False
    _, key_id, _ = _configured()
    parts = token.split("$", 2)
    return len(parts) != 3 or parts[1] != key_id


def blind_index(value: str, context: str) -> str:
    """A keyed hash of the value (32 hex digits) for exact look-ups; '' for an empty value. Callers normalise
    first (normalise_phone, the ID number's compact form), so that equal values give equal hashes."""
    if value == "":
        return ""
    _, _, index_key = _configured()
    mac = _index_mac(index_key).copy()
    mac.update(f"{context}\0{value}".encode())
    return mac.hexdigest()[:32]


def normalise_phone(raw: str) -> str:
    """Full-width digits to ASCII, spaces and brackets dropped, a +86/0086 prefix removed."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    text = re.sub(r"[\s()（）]", "", text)
    return re.sub(r"^(?:\+86|0086)-?", "", text)


def valid_phone(phone: str) -> bool:
    return bool(MOBILE.match(phone) or LANDLINE.match(phone))


def mask_phone(phone: str) -> str:
    """138****5678 (first three and last four characters shown); a number too short to mask is all stars."""
    phone = (phone or "").strip()
    if len(phone) < 7:
        return "*" * len(phone)
    return f"{phone[:3]}{'*' * (len(phone) - 7)}{phone[-4:]}"


def mask_id_number(number: str) -> str:
    """410104********123X (region and last four shown)."""
    number = (number or "").strip()
    if len(number) < 10:
        return "*" * len(number)
    return f"{number[:6]}{'*' * (len(number) - 10)}{number[-4:]}"
