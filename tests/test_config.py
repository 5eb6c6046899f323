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
