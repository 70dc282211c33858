"""What is searchable: each module registers a `Provider` per kind of record (see `jiedao.search.providers`).

A provider names the model, the values read per row (`fields`, as for `.values()`; "a__b" follows a foreign
key), a `build` function turning those values into a `Doc` (title, subtitle, org path, texts to segment,
words kept as they are), the action that lets a user see the kind ("resident.view") and, for records that
need more (a confidential case), the further action and which rows need it. The detail link is computed
from the URL name and the object's id (or a key read in one batch, such as a case's number).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.apps import apps
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise


class Doc(NamedTuple):
    """One record as the index keeps it. `texts` are segmented one by one (so a field's words never run into
    the next field's); `words` are kept whole (a name, its pinyin "zhangsan zs", a number). A named tuple, not
    a frozen dataclass: a bulk write makes one per row, and a tuple is made in a third of the time."""

    title: str
    subtitle: str
    org_path: str
    texts: Sequence[str] = ()
    words: Sequence[str] = ()
    restricted: bool = False


@dataclass(frozen=True)
class Provider:
    kind: str
    code: str  # two lower-case letters, unique: the kind's part of the scope words
    label: Promise | str
    model: str  # "app_label.ModelName"
    action: str  # what a user needs to see this kind ("resident.view")
    fields: tuple[str, ...]
    build: Callable[[dict[str, Any]], Doc]
    url_name: str
    order: int = 100  # results are grouped by kind in this order
    restricted_action: str = ""  # and, for a Doc with restricted=True, this too ("case.view_confidential")
    url_keys: Callable[[list[int]], dict[int, str]] | None = None  # object id → the URL's argument
    url_kwarg: str = "pk"
    icon: str = "search"
    place_names: Callable[[dict[str, Any]], list[str]] | None = None  # names it teaches the segmenter

    def get_model(self) -> type[models.Model]:
        return apps.get_model(self.model)

    def urls(self, object_ids: Iterable[int]) -> dict[int, str]:
        """{object id: detail URL}; '' where the page does not exist (yet)."""
        ids = list(object_ids)
        keys: dict[int, str] = self.url_keys(ids) if self.url_keys else {i: str(i) for i in ids}
        result: dict[int, str] = {}
        for object_id in ids:
            key = keys.get(object_id)
            try:
                result[object_id] = reverse(self.url_name, kwargs={self.url_kwarg: key}) if key else ""
            except NoReverseMatch:
                result[object_id] = ""
        return result


_PROVIDERS: dict[str, Provider] = {}


def register(provider: Provider) -> Provider:
    if provider.kind in _PROVIDERS and _PROVIDERS[provider.kind] is not provider:
        raise ValueError(f"search kind {provider.kind!r} is registered twice")
    if len(provider.code) != 2 or not provider.code.isalpha() or not provider.code.islower():
        raise ValueError(f"search kind {provider.kind!r}: the code must be two lower-case letters")
    if any(p.code == provider.code and p.kind != provider.kind for p in _PROVIDERS.values()):
        raise ValueError(f"search code {provider.code!r} is used twice")
    _PROVIDERS[provider.kind] = provider
    return provider


def providers() -> list[Provider]:
    return sorted(_PROVIDERS.values(), key=lambda p: (p.order, p.kind))


def provider(kind: str) -> Provider | None:
    return _PROVIDERS.get(kind)


def provider_for_model(model: type[models.Model]) -> Provider | None:
    label = model._meta.label
    for p in _PROVIDERS.values():
        if p.model == label:
            return p
    return None


def kinds() -> list[str]:
    return [p.kind for p in providers()]
