"""Property-based checks of the REST API against its own OpenAPI schema (schemathesis).

Every operation is called with generated parameters as a signed-in leader; responses must match the schema,
never be a server error, and stay inside the caller's scope.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token

from jiedao.wsgi import application

# Generating the schema reads the URL conf and serializers only: no database needed at import.
schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = application
# Text never carries NUL bytes (Django refuses them with a 400, PostgreSQL cannot store them). In CI the
# examples are derandomized so that a run is reproducible; on a developer's machine they explore.
schema.config.generation.update(allow_x00=False, deterministic=os.environ.get("CI", "").lower() == "true")
# The cases and supervision modules' operations (writes judged by their services): tests/cases/
# test_api_schema_cases.py, tests/supervision/test_api_schema_supervision.py.
core_schema = schema.exclude(
    path_regex=r"^/api/v1/(cases|case-categories|dispatch-rules|supervised-matters)/"
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def keep_test_connection() -> Iterator[None]:
    """Calls go straight to the WSGI app, whose request_started/finished signals would close the database
    connection in the middle of the test's transaction (PostgreSQL); Django's test Client disconnects them the
    same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@core_schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_schema(case: Any, world: Any) -> None:
    token, _ = Token.objects.get_or_create(user=world["leader"])
    # ignored_auth corrupts the generated session cookie while our valid token header still authenticates,
    # so it cannot judge this setup; invalid credentials are tested explicitly in test_api.py.
    # negative_data_rejection counts `is_active=null` or an empty `role=` as invalid; django-filter reads
    # them as "no filter" on purpose (garbage such as kind=xyz gets a 400 with field messages: test_api.py).
    response = case.call_and_validate(
        headers={"Authorization": f"Token {token.key}"},
        excluded_checks=[schemathesis.checks.ignored_auth, schemathesis.checks.negative_data_rejection],
    )
    assert response.status_code < 500
    if response.status_code == 200 and "results" in response.json():
        for row in response.json()["results"]:
            assert world.other_subdistrict.name not in str(row)
