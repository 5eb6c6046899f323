"""Developer machine: SQLite and the filesystem:// Celery broker under var/ (no servers)."""
import os

from .base import *  # noqa: F401,F403
from .base import PATHMARKET, VAR_DIR

DEBUG = True
for sub in ("celery/broker", "celery/processed", "celery/results", "celery/control", "media"):
    (VAR_DIR / sub).mkdir(parents=True, exist_ok=True)

# The filesystem:// broker drops a task whose worker stops mid-task; re-send stalled runs' work soon.
PATHMARKET = {**PATHMARKET, "RUN_STALL_SECONDS": int(os.environ.get("PATHMARKET_RUN_STALL_SECONDS", "600"))}
