"""The searchable kinds of the people and cases modules.

Residents are shown with masked values only (the masked identity number and the address); they are found by
name, the name's pinyin and initials (张三: zhangsan, zs), address, and the last four characters of the
identity number and the phone (what the masked forms show anyway). Their full identity number and phone are
found through the blind index instead (`jiedao.search.query`), never through these words.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiedao.cases.models import Case, Status
from jiedao.people.models import CompoundKind, DwellingUse, OrganisationKind
from jiedao.people.personal import name_pinyin
from jiedao.search.registry import Doc, Provider, register
from jiedao.search.segment import split_aliases

#: Case fields whose change rewrites the case's entry (the post_save receiver skips other updates).
CASE_FIELDS = frozenset(
    {"number", "title", "address", "description", "extra", "status", "confidential", "org_unit", "org_path"}
)
CASE_TEXT_LENGTH = 200


def _join(*parts: Any) -> str:
    return " · ".join(str(p) for p in parts if p)


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value or ""


def _tail(masked: str) -> str:
    """The last four characters of a masked value (what the mask shows), '' if there are none."""
    masked = (masked or "").strip()
    return masked[-4:] if len(masked) >= 4 and "*" not in masked[-4:] else ""


def resident_doc(v: dict[str, Any]) -> Doc:
    moved = _("已迁出") if v["moved_out"] else ""
    return Doc(
        title=v["name"],
        subtitle=_join(v["id_mask"], v["address"], moved),
        org_path=v["org_path"],
        texts=[v["name"], v["address"]],
        words=[v["name"], v["name_pinyin"], _tail(v["id_mask"]), _tail(v["phone_mask"])],
    )


def compound_doc(v: dict[str, Any]) -> Doc:
    aliases = split_aliases(v["aliases"])
    return Doc(
        title=v["name"],
        subtitle=_join(_label(CompoundKind, v["kind"]), v["address"]),
        org_path=v["org_path"],
        texts=[v["name"], *aliases, v["address"]],
        words=[v["name"], name_pinyin(v["name"]), *aliases],
    )


def building_doc(v: dict[str, Any]) -> Doc:
    compound = v["compound__name"] or ""
    return Doc(
        title=f"{compound} {v['name']}".strip(),
        subtitle=v["address"] or "",
        org_path=v["org_path"],
        texts=[compound, v["name"], v["address"]],
        words=[compound, name_pinyin(compound) if compound else ""],
    )


def dwelling_doc(v: dict[str, Any]) -> Doc:
    return Doc(
        title=v["address"],
        subtitle=_label(DwellingUse, v["use"]),
        org_path=v["org_path"],
        texts=[v["address"]],
        words=[v["number"]],
    )


def organisation_doc(v: dict[str, Any]) -> Doc:
    gone = "" if v["is_active"] else _("已不在册")
    return Doc(
        title=v["name"],
        subtitle=_join(_label(OrganisationKind, v["kind"]), v["address"], gone),
        org_path=v["org_path"],
        texts=[v["name"], v["address"], v["industry"]],
        words=[v["name"], name_pinyin(v["name"]), v["credit_code"], v["contact_name"]],
    )


def case_doc(v: dict[str, Any]) -> Doc:
    number = v["number"] or ""
    extra = v["extra"] if isinstance(v["extra"], dict) else {}
    hotline = str(extra.get("hotline_number") or "")
    digits = number.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    return Doc(
        title=v["title"] or number,
        subtitle=_join(number, _label(Status, v["status"]), v["address"]),
        org_path=v["org_path"],
        texts=[v["title"], v["address"], (v["description"] or "")[:CASE_TEXT_LENGTH]],
        words=[number, digits if digits != number else "", hotline],
        restricted=bool(v["confidential"]),
    )


def case_numbers(ids: list[int]) -> dict[int, str]:
    return dict(Case.objects.filter(pk__in=ids).order_by().values_list("pk", "number"))


def compound_names(v: dict[str, Any]) -> list[str]:
    return [v["name"], *split_aliases(v["aliases"])]


RESIDENT = register(
    Provider(
        kind="resident",
        code="re",
        label=gettext_lazy("居民"),
        model="people.Resident",
        action="resident.view",
        fields=("pk", "name", "name_pinyin", "id_mask", "phone_mask", "address", "org_path", "moved_out"),
        build=resident_doc,
        url_name="people:resident_detail",
        order=10,
        icon="user",
    )
)
COMPOUND = register(
    Provider(
        kind="compound",
        code="co",
        label=gettext_lazy("小区/楼院"),
        model="people.Compound",
        action="place.view",
        fields=("pk", "name", "aliases", "kind", "address", "org_path"),
        build=compound_doc,
        url_name="people:compound_detail",
        order=20,
        icon="building-community",
        place_names=compound_names,
    )
)
BUILDING = register(
    Provider(
        kind="building",
        code="bu",
        label=gettext_lazy("楼栋"),
        model="people.Building",
        action="place.view",
        fields=("pk", "name", "address", "compound__name", "org_path"),
        build=building_doc,
        url_name="people:building_detail",
        order=30,
        icon="building",
    )
)
DWELLING = register(
    Provider(
        kind="dwelling",
        code="dw",
        label=gettext_lazy("房屋"),
        model="people.Dwelling",
        action="place.view",
        fields=("pk", "address", "number", "use", "org_path"),
        build=dwelling_doc,
        url_name="people:dwelling_detail",
        order=40,
        icon="home",
    )
)
ORGANISATION = register(
    Provider(
        kind="organisation",
        code="or",
        label=gettext_lazy("单位组织"),
        model="people.Organisation",
        action="organisation.view",
        fields=(
            "pk",
            "name",
            "kind",
            "credit_code",
            "address",
            "industry",
            "contact_name",
            "org_path",
            "is_active",
        ),
        build=organisation_doc,
        url_name="people:organisation_detail",
        order=50,
        icon="building-skyscraper",
    )
)
CASE = register(
    Provider(
        kind="case",
        code="ca",
        label=gettext_lazy("工单"),
        model="cases.Case",
        action="case.view",
        restricted_action="case.view_confidential",
        fields=(
            "pk",
            "number",
            "title",
            "address",
            "description",
            "extra",
            "status",
            "confidential",
            "org_path",
        ),
        build=case_doc,
        url_name="cases:case_detail",
        url_keys=case_numbers,
        url_kwarg="number",
        order=60,
        icon="clipboard-list",
    )
)
