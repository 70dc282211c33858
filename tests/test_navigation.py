"""The header menu: entries of one group become one dropdown, a group with a single entry the user may open is
a plain link, and the active entry marks its group."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from jiedao.core.navigation import menu

pytestmark = pytest.mark.django_db


def _entry(key: str, group: str = "", active: bool = False) -> dict[str, object]:
    return {"key": key, "label": key, "url": f"/{key}/", "icon": "x", "active": active, "group": group}


def test_group_members_gather_at_the_first_ones_place() -> None:
    shown = menu(
        [_entry("home"), _entry("cases", "cases"), _entry("org"), _entry("measures", "cases", active=True)]
    )
    assert [item["key"] for item in shown] == ["home", "cases", "org"]
    group = shown[1]
    assert [child["key"] for child in group["children"]] == ["cases", "measures"]
    assert group["active"] is True and str(group["label"]) == "工单"


def test_a_group_with_one_entry_is_that_entry() -> None:
    shown = menu([_entry("home"), _entry("relocation", "projects")])
    assert [item["key"] for item in shown] == ["home", "relocation"]
    assert "children" not in shown[1]


@pytest.mark.parametrize(
    ("persona", "groups", "links"),
    [
        ("leader", {"cases", "people", "safety", "projects"}, {"home", "org"}),
        ("auditor", {"system"}, {"home"}),
    ],
)
def test_page_header_by_role(
    client_for: Callable[[str], Client], persona: str, groups: set[str], links: set[str]
) -> None:
    response = client_for(persona).get("/")
    shown = response.context["nav_menu"]
    page = response.content.decode()
    assert groups <= {item["key"] for item in shown if "children" in item}
    assert links <= {item["key"] for item in shown if "children" not in item}
    for key in groups:
        assert f'data-testid="nav-group-{key}"' in page
    if persona == "auditor":
        assert 'data-testid="nav-audit"' in page
