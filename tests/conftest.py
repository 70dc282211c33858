from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from jiedao.core.models import User
from tests.world import World, build_world, load_world


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> None:
    """Build the persona world once; each test runs in a transaction rolled back after it."""
    with django_db_blocker.unblock():
        if not User.objects.filter(username="leader").exists():
            build_world()


def _data_migrations() -> None:
    """Rows the migrations put in (the default people tags) are gone after a transactional test's flush."""
    from django.apps import apps

    from jiedao.people.models import Tag

    if not Tag.objects.exists():
        importlib.import_module("jiedao.people.migrations.0002_default_tags").add_tags(apps, None)


@pytest.fixture
def world(db: None) -> World:
    _data_migrations()
    if not User.objects.filter(username="leader").exists():  # flushed by a transactional test
        return build_world()
    return load_world()


@pytest.fixture
def tx_world(transactional_db: None) -> World:
    """For tests that need real commits (on_commit hooks, several connections): rebuilt after the flush."""
    _data_migrations()
    if not User.objects.filter(username="leader").exists():
        return build_world()
    return load_world()


@pytest.fixture
def client_for(world: World) -> Callable[[str], Client]:
    """A logged-in test client for a persona (force_login: no password round-trip, no lockout)."""

    def make(username: str) -> Client:
        client = Client()
        client.force_login(world[username])
        return client

    return make
