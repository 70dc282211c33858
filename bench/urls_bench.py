"""The project's URLs plus `bench/insert/`: the portal benchmark's baseline, a plain view inserting a row."""

from __future__ import annotations

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from jiedao.urls import handler403, handler404  # noqa: F401
from jiedao.urls import urlpatterns as project_urlpatterns

TABLE = "bench_insert"


def ensure_table() -> None:
    key = "SERIAL" if connection.vendor == "postgresql" else "INTEGER"
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (id {key}"
            " PRIMARY KEY, body TEXT NOT NULL, created TEXT NOT NULL)"
        )


@csrf_exempt
def insert_one(request: HttpRequest) -> HttpResponse:
    """Baseline: read the POSTed text and insert one row, in a transaction."""
    body = request.POST.get("description", "")[:500]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (body, created) VALUES (%s, %s)", [body, timezone.now().isoformat()]
        )
    return HttpResponse("ok")


urlpatterns = [path("bench/insert/", insert_one), *project_urlpatterns]
