"""Developer machine: SQLite and the filesystem:// Celery broker under var/ (no servers)."""
import os

from config.env import env_bool

from .base import *  # noqa: F401,F403
from .base import PATHMARKET, STATIC_ROOT, VAR_DIR

# The demo runs like the real site, with its own 404 and 500 pages. A developer who wants Django's
# debug pages (tracebacks, URL lists) starts it with DJANGO_DEBUG=1 make run.
DEBUG = env_bool("DJANGO_DEBUG", False)
WHITENOISE_USE_FINDERS = True  # static files straight from static/ without collectstatic, DEBUG or not
WHITENOISE_AUTOREFRESH = DEBUG
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every start when it is missing
EMAIL_BACKEND = os.environ.get("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
for sub in ("celery/broker", "celery/processed", "celery/results", "celery/control", "media"):
    (VAR_DIR / sub).mkdir(parents=True, exist_ok=True)

# The filesystem:// broker drops a task whose worker stops mid-task; re-send stalled runs' work soon.
PATHMARKET = {**PATHMARKET, "RUN_STALL_SECONDS": int(os.environ.get("PATHMARKET_RUN_STALL_SECONDS", "600"))}
