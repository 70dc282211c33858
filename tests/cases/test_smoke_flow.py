from __future__ import annotations

import pytest

from jiedao.cases.models import Status

pytestmark = pytest.mark.django_db


def test_main_line_reaches_rated(make_case):
    case = make_case("rated")
    assert case.status == Status.RATED
    assert case.number.startswith("GC")
    assert [s.action for s in case.steps.order_by("created_at", "id")] == [
        "create",
        "accept",
        "dispatch",
        "sign",
        "report",
        "verify",
        "close",
        "rate",
    ]
