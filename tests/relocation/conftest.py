from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.relocation.helpers import Setup, build
from tests.world import World


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def setup(world: World) -> Setup:
    return build(world)
