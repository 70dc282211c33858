from __future__ import annotations

from typing import Any

import pytest

from tests.patrol.helpers import Points, make_points
from tests.world import World


@pytest.fixture
def points(world: World, settings: Any) -> Points:
    settings.SMS_BACKEND = "jiedao.notifications.sms.MemorySMSBackend"
    return make_points(world)
