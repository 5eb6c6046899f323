"""Tiny helpers to read settings from environment variables (no extra dependency)."""
from __future__ import annotations

import os
from urllib.parse import unquote, urlparse

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"Set the environment variable {name}.")
    return value


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw in (None, "") else int(raw)


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def database_from_url(url: str) -> dict:
    """Turn ``postgres://user:pass@host:port/name`` or ``sqlite:///path`` into a DATABASES entry."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        # sqlite:////abs/path → /abs/path ; sqlite:///relative → relative (dj-database-url convention)
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": unquote(parsed.path[1:]) or ":memory:"}
    if parsed.scheme in {"postgres", "postgresql", "pgsql"}:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "CONN_MAX_AGE": 60,
            # Django's cursors bind client-side and never prepare; this lets the few hot statements that
            # ask for it (market.services.trade_write, core.api.authentication) be prepared once per
            # connection. Without it psycopg disables prepared statements altogether. Set
            # DATABASE_PREPARE=0 behind a transaction-pooling proxy (PgBouncer), which cannot keep them.
            "OPTIONS": {"prepare_threshold": 5 if os.environ.get("DATABASE_PREPARE", "1") != "0" else None},
        }
    raise ImproperlyConfigured(f"Unsupported DATABASE_URL scheme {parsed.scheme!r} (use sqlite or postgres).")
