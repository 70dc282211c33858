"""Settings come from the environment; bad values stop start-up with a message that names the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from jiedao.env import env_bool, env_int, env_list, env_str

ROOT = Path(__file__).resolve().parent.parent
STRONG_KEY = "k" * 20 + "-production-secret-for-tests-only-" + "z" * 20


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("JIEDAO_") and k != "DATABASE_URL"}
    clean["DJANGO_SETTINGS_MODULE"] = "jiedao.settings"
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_env_helpers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_INT", "42")
    monkeypatch.setenv("X_LIST", "a.example, b.example")
    assert env_bool("X_BOOL") is True
    assert env_int("X_INT", 1) == 42
    assert env_list("X_LIST") == ["a.example", "b.example"]
    assert env_str("X_UNSET", "fallback") == "fallback"
    monkeypatch.setenv("X_BOOL", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_BOOL"):
        env_bool("X_BOOL")
    monkeypatch.setenv("X_INT", "4x")
    with pytest.raises(ImproperlyConfigured, match="X_INT"):
        env_int("X_INT", 1)
    monkeypatch.setenv("X_INT", "0")
    with pytest.raises(ImproperlyConfigured, match="X_INT must be at least 5"):
        env_int("X_INT", 10, minimum=5)
    monkeypatch.setenv("X_LIST", "a,,b")
    with pytest.raises(ImproperlyConfigured, match="X_LIST"):
        env_list("X_LIST")
    with pytest.raises(ImproperlyConfigured, match="X_REQUIRED"):
        env_str("X_REQUIRED", required=True)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"JIEDAO_DEBUG": "0"}, "JIEDAO_SECRET_KEY"),
        ({"JIEDAO_DEBUG": "perhaps"}, "JIEDAO_DEBUG"),
        ({"JIEDAO_DEBUG": "0", "JIEDAO_SECRET_KEY": "short"}, "JIEDAO_SECRET_KEY"),
        ({"JIEDAO_DEBUG": "0", "JIEDAO_SECRET_KEY": STRONG_KEY}, "JIEDAO_ALLOWED_HOSTS"),
        ({"JIEDAO_DEBUG": "1", "DATABASE_URL": "mysql://x@y/z"}, "DATABASE_URL"),
        ({"JIEDAO_DEBUG": "1", "DATABASE_URL": "nonsense"}, "DATABASE_URL"),
        ({"JIEDAO_DEBUG": "1", "JIEDAO_FIELD_KEY": "tiny"}, "JIEDAO_FIELD_KEY"),
        ({"JIEDAO_DEBUG": "1", "JIEDAO_TICK_SECONDS": "1"}, "JIEDAO_TICK_SECONDS"),
    ],
)
def test_bad_value_stops_startup_naming_the_variable(env: dict[str, str], variable: str) -> None:
    result = _run(env, "check")
    assert result.returncode != 0
    assert variable in result.stderr, result.stderr[-2000:]


def test_production_settings_pass_check_deploy_without_warning(tmp_path: Path) -> None:
    result = _run(
        {
            "JIEDAO_DEBUG": "0",
            "JIEDAO_SECRET_KEY": STRONG_KEY,
            "JIEDAO_ALLOWED_HOSTS": "jiedao.example.gov.cn",
            "JIEDAO_FIELD_KEY": "production-field-key-0123456789",
            "JIEDAO_VAR_DIR": str(tmp_path),
        },
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_default_database_is_sqlite_in_var_with_wal() -> None:
    result = _run(
        {"JIEDAO_DEBUG": "1"},
        "shell",
        "-c",
        "from django.conf import settings as s; d=s.DATABASES['default']; "
        "print(d['ENGINE'], d['NAME'], d['OPTIONS']['init_command'])",
    )
    assert result.returncode == 0, result.stderr
    assert "sqlite3" in result.stdout and "var/jiedao.sqlite3" in result.stdout
    assert "journal_mode=WAL" in result.stdout


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [(None, "jiedao.core.postgresql True 5"), ("0", "jiedao.core.postgresql None None"), ("2", "True 2")],
)
def test_postgresql_prepares_statements_unless_told_not_to(threshold: str | None, expected: str) -> None:
    """Prepared statements (server-side binding) by default; JIEDAO_DB_PREPARE_THRESHOLD=0 turns them off for
    a pooler in transaction mode. Nothing connects here: only the settings are read."""
    env = {"JIEDAO_DEBUG": "1", "DATABASE_URL": "postgres://someone@db.example:5432/jiedao"}
    if threshold is not None:
        env["JIEDAO_DB_PREPARE_THRESHOLD"] = threshold
    result = _run(
        env,
        "shell",
        "-c",
        "from django.conf import settings as s; d=s.DATABASES['default']; o=d.get('OPTIONS', {}); "
        "print(d['ENGINE'], o.get('server_side_binding'), o.get('prepare_threshold'))",
    )
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout
