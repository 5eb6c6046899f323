"""Test settings. PostgreSQL when DATABASE_URL names it (CI), otherwise a SQLite file that worker
subprocesses started by the tests can share."""
import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F401,F403
from .base import DATABASES, PATHMARKET, REST_FRAMEWORK

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
_TMP = Path(os.environ.get("PATHMARKET_TEST_TMP", tempfile.gettempdir())) / "pathmarket-test"
_TMP.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = _TMP / "media"
PATHMARKET = {**PATHMARKET, "ARTIFACTS_DIR": MEDIA_ROOT / "runs"}
# Close each request's connection when it ends: the live server's request threads would otherwise
# hold PostgreSQL sessions open past the test run and block dropping the test database.
DATABASES["default"]["CONN_MAX_AGE"] = 0
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["TEST"] = {"NAME": str(_TMP / "test-db.sqlite3")}
# Celery: tasks sent by code under test go nowhere unless a test points a worker at a real broker
# (tests/e2e start worker subprocesses with CELERY_BROKER_URL=redis://…).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "memory://")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "cache+memory://")
# A key prefix keeps a test's queues apart from anything else using the same Redis server.
_KEY_PREFIX = {"global_keyprefix": os.environ["CELERY_KEY_PREFIX"]} if os.environ.get("CELERY_KEY_PREFIX") else {}
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {"visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600")), **_KEY_PREFIX}
    if CELERY_BROKER_URL.startswith("redis")
    else {}
)
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = _KEY_PREFIX if CELERY_RESULT_BACKEND.startswith("redis") else {}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        **REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
        "anon": "100000/min",
        "user": "100000/min",
        "forecasts": "100000/min",
        # Throttle tests patch the rates they test; everything else must never be throttled.
        "proposals": "100000/min",
        "dry_runs": "100000/min",
        "login": "100000/min",
        "comments": "100000/min",
    },
}

# whitenoise warns on every request when STATIC_ROOT is missing; tests never collect static files.
STATIC_ROOT = _TMP / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
