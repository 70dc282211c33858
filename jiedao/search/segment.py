"""Chinese word segmentation for the search index (rjieba, the Rust port of jieba), and the place names it is
taught.

Documents are cut with `cut_for_search`: the precise cut's words plus the dictionary words inside long words
(陇海东路第一社区 → 陇海 海东 东路 第一 社区 陇海东路第一社区). Queries are cut with the precise `cut`, whose
words a document's search cut always contains, so a query word is never a sub-word the document lacks.

Every token is lower case and made of letters and digits only (a run of `[^\\W_]`): punctuation and spaces
are dropped and a token with a dash inside becomes two (138-1234 → 138 1234). Both full-text engines
(SQLite FTS5's unicode61 tokenizer, PostgreSQL's parser) then see exactly these tokens.

Place names (compounds and their aliases, communities, grids, sub-districts) are added to rjieba's dictionary
so that an address keeps them whole. They are loaded lazily from the database the first time the index is
written or queried in a process (one query per table), added at once when a compound or org unit is saved in
this process, and re-read when another process signals a new name through the cache (a version number,
checked at most every `RECHECK_SECONDS`). A document indexed before its place name was known still matches:
a query word that is a place name also matches the words the plain dictionary cuts it into
(`plain_words`).
"""

from __future__ import annotations

import functools
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable

import rjieba

#: A token: letters and digits (no underscore, no punctuation, no marks), at most MAX_TOKEN_LENGTH of them.
TOKEN = re.compile(r"[^\W_]+")
MAX_TOKEN_LENGTH = 64
#: Prefixes up to this length are indexed as words of their own (FTS5's prefix index; on PostgreSQL the
#: lexemes "<prefix>~"), so that the last word typed reads one list however common the words it starts.
PREFIX_LENGTH = 3
#: Scope words start with this (digits first: nothing a person types as a name or pinyin).
SCOPE_MARK = "9q"
#: Place names longer than this are not dictionary words (a note, not a name).
MAX_PLACE_LENGTH = 30
RECHECK_SECONDS = 30.0
#: How many texts (and whole words) have their tokens remembered (see `segment`, `word_tokens`).
SEGMENTS_KEPT = 10_000
_VERSION_KEY = "jiedao.search.places.version"

_lock = threading.Lock()
_places: set[str] = set()
_state: dict[str, float | int | bool] = {"loaded": False, "version": 0, "checked": 0.0}
_plain_jieba: rjieba.Jieba | None = None


#: Text made only of characters that are no combining marks (ASCII to the spacing modifiers, CJK punctuation
#: before its tone marks, the CJK ideographs): `normalise` has nothing to drop from it (checked by a test).
_MARKLESS = re.compile(r"[\x00-\u02ff\u3000-\u3029\u3400-\u4dbf\u4e00-\u9fff]*")


def normalise(text: str) -> str:
    """Full-width to half-width (NFKC), lower case, combining marks dropped."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    if text.isascii() or _MARKLESS.fullmatch(text):
        return text
    return "".join(c for c in text if not unicodedata.category(c).startswith("M"))


def tokens(words: Iterable[str]) -> list[str]:
    """The tokens of already-normalised words, each once, in order."""
    seen: dict[str, None] = {}
    for word in words:
        for token in TOKEN.findall(word):
            if len(token) <= MAX_TOKEN_LENGTH:
                seen.setdefault(token, None)
    return list(seen)


@functools.lru_cache(maxsize=SEGMENTS_KEPT)
def word_tokens(word: str) -> tuple[str, ...]:
    """`tokens([normalise(word)])` of a word kept whole (a name, its pinyin, a number), remembered for the
    words seen most recently (names, pinyin and the last digits of numbers repeat in a bulk write)."""
    return tuple(tokens([normalise(word)]))


_ASCII_RUN = re.compile(r"[0-9a-z]+")


def _cut(text: str, cut: Callable[[str], list[str]]) -> list[str]:
    """rjieba's cut of the Chinese between runs of ASCII letters and digits, each run kept whole: a number
    (a case number, a room number) is one token whatever words the dictionary has learnt since (a place
    name such as 陇海东路12号院 teaches it "12")."""
    words: list[str] = []
    pos = 0
    for match in _ASCII_RUN.finditer(text):
        if match.start() > pos:
            words.extend(cut(text[pos : match.start()]))
        words.append(match.group())
        pos = match.end()
    if pos < len(text):
        words.extend(cut(text[pos:]))
    return words


def segment(text: str) -> list[str]:
    """The index tokens of a text: rjieba's search cut, lower case, punctuation dropped, each token once.

    Remembered for the texts cut most recently (forgotten when a place name is added: the dictionary changed):
    a bulk write cuts the same addresses and compound names again and again (a dwelling's address, then each
    of its residents')."""
    return list(_segment(text))


def segment_tokens(text: str) -> tuple[str, ...]:
    """`segment` as the remembered tuple (no list made: the index's bulk writes)."""
    return _segment(text)


@functools.lru_cache(maxsize=SEGMENTS_KEPT)
def _segment(text: str) -> tuple[str, ...]:
    normal = normalise(text)
    return tuple(tokens(_cut(normal, rjieba.cut_for_search))) if normal.strip() else ()


def query_segments(text: str) -> list[str]:
    """The words of a query: the precise cut (see the module's note), lower case, punctuation dropped."""
    text = normalise(text)
    if not text.strip():
        return []
    return tokens(_cut(text, rjieba.cut))


def is_place_word(word: str) -> bool:
    return word in _places


def plain_words(word: str) -> list[str]:
    """How rjieba cuts `word` without the place names: what a document indexed before the name was known
    holds."""
    global _plain_jieba
    if _plain_jieba is None:
        _plain_jieba = rjieba.Jieba()
    return tokens(_plain_jieba.cut(word))


def scope_words(code: str, restricted: bool, org_path: str) -> list[str]:
    """The scope words of an entry: 9q + the kind's two-letter code + 0/1 (restricted) alone, then followed by
    each ancestor path of the entry's unit and its own (steps of four characters, lower case)."""
    head = f"{SCOPE_MARK}{code}{1 if restricted else 0}"
    path = org_path.lower()
    return [head, *(head + path[:end] for end in range(4, len(path) + 1, 4))]


def scope_word(code: str, restricted: bool, path: str) -> str:
    """The one scope word that every entry of this kind under `path` carries ('' path: every entry)."""
    return f"{SCOPE_MARK}{code}{1 if restricted else 0}{path.lower()}"


# ---------------------------------------------------------------------------------------------------------
# Place names in the dictionary


def _clean_place(name: str) -> str:
    word = "".join(TOKEN.findall(normalise(name)))
    return word if 2 <= len(word) <= MAX_PLACE_LENGTH else ""


def add_places(names: Iterable[str]) -> list[str]:
    """Teach rjieba these place names (compound names, aliases, unit names); returns the new ones."""
    added = []
    with _lock:
        for name in names:
            word = _clean_place(name)
            if word and word not in _places:
                rjieba.add_word(word, None, None)
                _places.add(word)
                added.append(word)
        if added:
            _segment.cache_clear()  # cut with the old dictionary
    return added


def announce_places(names: Iterable[str]) -> None:
    """A place was saved in this process: add its names here and tell the other processes (cache version)."""
    from django.core.cache import cache

    if not add_places(names):
        return
    try:
        version = cache.incr(_VERSION_KEY)
    except ValueError:
        version = 1
        cache.set(_VERSION_KEY, version, None)
    if _state["loaded"] and int(_state["version"]) == version - 1:
        _state["version"] = version  # nothing else changed meanwhile: no reload needed


def ensure_places() -> None:
    """Load the place names once per process, and again when another process announced a new one."""
    from django.core.cache import cache

    now = time.monotonic()
    if _state["loaded"] and now - float(_state["checked"]) < RECHECK_SECONDS:
        return
    _state["checked"] = now
    version = cache.get(_VERSION_KEY, 0)
    if _state["loaded"] and version == _state["version"]:
        return
    add_places(_place_names())
    _state.update(loaded=True, version=version)


def _place_names() -> list[str]:
    from jiedao.core.models import OrgUnit
    from jiedao.people.models import Compound

    names: list[str] = []
    for name, short_name in OrgUnit.objects.values_list("name", "short_name"):
        names += [name, short_name]
    for name, aliases in Compound.objects.values_list("name", "aliases"):
        names += [name, *split_aliases(aliases)]
    return names


def split_aliases(aliases: str) -> list[str]:
    return [a.strip() for a in re.split(r"[,，、;；\s]+", aliases or "") if a.strip()]


def loaded_places() -> frozenset[str]:
    return frozenset(_places)
