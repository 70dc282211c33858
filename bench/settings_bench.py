"""Settings for bench/cases.py: the project's settings, plus a URLconf with the bench-only baseline view."""

from jiedao.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls_bench"

# Plain HTTP on loopback for the benchmark clients.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0

# No collectstatic for the benchmark: plain static URLs (the pages' cost without the manifest look-up).
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
