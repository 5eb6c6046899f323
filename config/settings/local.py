"""Developer machine: SQLite and the filesystem:// Celery broker under var/ (no servers)."""
from .base import *  # noqa: F401,F403
from .base import VAR_DIR

DEBUG = True
for sub in ("celery/broker", "celery/processed", "celery/results", "celery/control", "media"):
    (VAR_DIR / sub).mkdir(parents=True, exist_ok=True)
