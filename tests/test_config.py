import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import database_from_url


def test_postgres_url_is_parsed_into_a_database_entry():
    db = database_from_url("postgres://alice:s%40cret@db.example:5433/pathmarket")
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["USER"], db["PASSWORD"], db["HOST"], db["PORT"], db["NAME"]) == (
        "alice", "s@cret", "db.example", "5433", "pathmarket"
    )


def test_postgres_statements_can_be_prepared_unless_switched_off(monkeypatch):
    monkeypatch.delenv("DATABASE_PREPARE", raising=False)
    assert database_from_url("postgres://a:b@h/db")["OPTIONS"]["prepare_threshold"] == 5
    monkeypatch.setenv("DATABASE_PREPARE", "0")  # behind PgBouncer's transaction pooling
    assert database_from_url("postgres://a:b@h/db")["OPTIONS"]["prepare_threshold"] is None


def test_sqlite_url_keeps_the_absolute_path():
    assert database_from_url("sqlite:////tmp/x.sqlite3")["NAME"] == "/tmp/x.sqlite3"


def test_unknown_database_scheme_is_refused():
    with pytest.raises(ImproperlyConfigured, match="mysql"):
        database_from_url("mysql://x/y")


def _local_setting(tmp_path, expr: str, **env: str) -> str:
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = f"import django; django.setup(); from django.conf import settings; print({expr})"
    environ = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local",
               "PATHMARKET_VAR_DIR": str(tmp_path), **env}
    if "DJANGO_DEBUG" not in env:
        environ.pop("DJANGO_DEBUG", None)
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", code], env=environ, cwd=root, capture_output=True, text=True,
                         timeout=60, check=True)
    return out.stdout.strip().splitlines()[-1]


def test_make_run_serves_the_sites_own_error_pages_unless_debug_is_asked_for(tmp_path):
    assert _local_setting(tmp_path, "settings.DEBUG, settings.EMAIL_BACKEND") == (
        "False django.core.mail.backends.console.EmailBackend")
    assert _local_setting(tmp_path, "settings.DEBUG", DJANGO_DEBUG="1") == "True"
