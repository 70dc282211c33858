"""Test settings: the real settings, with a fixed secret and a fast password hasher."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("JIEDAO_DEBUG", "0")
os.environ.setdefault("JIEDAO_SECRET_KEY", "test-only-secret-key-for-the-jiedao-suite-0123456789abcdef")
os.environ.setdefault("JIEDAO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("JIEDAO_FIELD_KEY", "test-only-field-key-0123456789")
os.environ.setdefault("JIEDAO_SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("JIEDAO_SMS_BACKEND", "jiedao.notifications.sms.MemorySMSBackend")
os.environ.setdefault("JIEDAO_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")

from jiedao.settings import *  # noqa: F403

STATIC_ROOT = Path(tempfile.mkdtemp(prefix="jiedao-static-"))
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
AXES_ENABLED = True

# pytest-django knows an in-memory SQLite test database by Django's own engine name; our wrapper
# (jiedao.core.sqlite, writers queued on a file lock) does nothing for an in-memory database anyway, and
# tests/test_sqlite_writer_lock.py tests it on a file.
if DATABASES["default"]["ENGINE"] == "jiedao.core.sqlite":  # noqa: F405
    DATABASES["default"]["ENGINE"] = "django.db.backends.sqlite3"  # noqa: F405
