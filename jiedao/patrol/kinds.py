"""The default hazard point kinds (the issue's list) and the case categories findings are filed under.

The kinds are a table administrators change; this list seeds it (data migration 0002, the demo and the tests).
Two categories the default case catalogue lacks (地面塌陷, 其他安全隐患) are added under 安全隐患
when missing.
"""

from __future__ import annotations

from typing import Any

# (code, name, case category code, map colour)
DEFAULT_KINDS: list[tuple[str, str, str, str]] = [
    ("waterlog", "积水点", "infra-water", "#1c7ed6"),
    ("underpass", "涵洞/下穿通道", "infra-water", "#0b7285"),
    ("house", "危房", "safety-house", "#c92a2a"),
    ("tree", "危树", "safety-tree", "#2b8a3e"),
    ("billboard", "户外广告牌", "city-ad", "#e67700"),
    ("old-compound", "老旧小区", "safety-house", "#862e9c"),
    ("collapse", "地面塌陷", "safety-collapse", "#5c3d2e"),
    ("other", "其他", "safety-other", "#495057"),
]

# (code, name, description, keywords) under the catalogue's "safety" (安全隐患)
EXTRA_CATEGORIES: list[tuple[str, str, str, str]] = [
    ("safety-collapse", "地面塌陷", "路面、地面塌陷或空洞", "塌陷 空洞"),
    ("safety-other", "其他安全隐患", "巡查发现的其他安全隐患", "隐患"),
]
FALLBACK_CATEGORY = "safety-other"


def ensure_default_kinds(model: Any = None) -> int:
    """Create the default kinds that are missing (idempotent); returns how many were created."""
    if model is None:
        from jiedao.patrol.models import HazardKind as model
    existing = set(model.objects.values_list("code", flat=True))
    rows = [
        model(code=code, name=name, category_code=category, color=color, sort_order=index * 10)
        for index, (code, name, category, color) in enumerate(DEFAULT_KINDS, start=1)
        if code not in existing
    ]
    model.objects.bulk_create(rows)
    return len(rows)


def ensure_hazard_categories() -> None:
    """Add the hazard categories the patrol module files findings under, when the catalogue lacks them."""
    from jiedao.cases.models import Category

    parent = Category.objects.filter(code="safety").first()
    for index, (code, name, description, keywords) in enumerate(EXTRA_CATEGORIES):
        if Category.objects.filter(code=code).exists():
            continue
        Category.objects.create(
            code=code,
            name=name,
            parent=parent,
            description=description,
            keywords=keywords,
            is_public=True,
            is_hazard=True,
            sort_order=900 + index,
        )
