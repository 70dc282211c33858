"""Only the deepest menu entry matching the page is active (/cases/measures/ is 三率统计, not also 工单)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("path", "key"), [("/cases/", "cases"), ("/cases/measures/", "measures"), ("/", "home")]
)
def test_one_active_menu_entry(client_for: Callable[[str], Client], path: str, key: str) -> None:
    response = client_for("leader").get(path)
    assert response.status_code == 200
    active = [item["key"] for item in response.context["nav_items"] if item["active"]]
    assert active == [key]
