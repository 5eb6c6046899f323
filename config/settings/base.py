"""Settings shared by every environment. Everything that differs comes from environment variables."""
from __future__ import annotations

from pathlib import Path

from config.env import database_from_url, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("PATHMARKET_VAR_DIR", str(BASE_DIR / "var")))

SECRET_KEY = env_str("DJANGO_SECRET_KEY", "insecure-dev-key-change-me-in-production-0123456789abcdef")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "experiments",
    "market",
    "proposals",
    "evaluator",
    "resolution",
    "social",
    "portfolio",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": database_from_url(env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")),
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The web server, the beat and two worker processes share one SQLite file under `make run`:
    # WAL lets readers and one writer work together, IMMEDIATE transactions take the write lock up
    # front (no "database is locked" on a read→write upgrade), and a writer waits up to 30 s.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("DJANGO_MEDIA_ROOT", str(VAR_DIR / "media")))

# Requests larger than this are refused by Django before any view runs (oversized bodies → 400).
DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes unauthenticated requests 401 (not 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("PATHMARKET_THROTTLE_ANON", "600/min"),
        "user": env_str("PATHMARKET_THROTTLE_USER", "6000/min"),
        "forecasts": env_str("PATHMARKET_THROTTLE_FORECASTS", "120/min"),
        "proposals": env_str("PATHMARKET_THROTTLE_PROPOSALS", "20/hour"),
        "dry_runs": env_str("PATHMARKET_THROTTLE_DRY_RUNS", "10/hour"),
        "login": env_str("PATHMARKET_THROTTLE_LOGIN", "10/min"),  # per address: form + token endpoint
        "comments": env_str("PATHMARKET_THROTTLE_COMMENTS", "6/min"),  # per user: page form + API
    },
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "pathmarket API",
    "DESCRIPTION": "Prediction markets on the path dependence of neural-network training, settled by experiments.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "status" choice set; name the market's explicitly.
    "ENUM_NAME_OVERRIDES": {"MarketStatusEnum": "market.models.MarketStatus"},
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env_str("REDIS_URL"),
    }
    if env_str("REDIS_URL", "")
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "pathmarket"}
}

# --- Celery -----------------------------------------------------------------------------------
# Embedded default: a broker made of files under var/, so `make run` needs no servers.
_BROKER_DIR = VAR_DIR / "celery" / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", f"file://{VAR_DIR / 'celery' / 'results'}")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(_BROKER_DIR),
        "data_folder_out": str(_BROKER_DIR),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "store_processed": False,
        "control_folder": str(VAR_DIR / "celery" / "control"),  # else kombu writes ./control
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    # With acks_late a task stays unacknowledged while it runs, so Redis hands it to another worker
    # after the visibility timeout: keep the timeout above the hard time limit.
    else {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", env_int("PATHMARKET_TASK_TIME_LIMIT", 3600) + 600)}
)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"experiments.tasks.train_chunk_task": {"queue": "gpu"}, "experiments.survey_unit": {"queue": "gpu"}}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_TASK_SOFT_TIME_LIMIT = env_int("PATHMARKET_TASK_SOFT_TIME_LIMIT", 3000)
CELERY_TASK_TIME_LIMIT = env_int("PATHMARKET_TASK_TIME_LIMIT", 3600)
CELERY_TASK_TRACK_STARTED = True
CELERY_RESULT_EXPIRES = 7 * 24 * 3600  # seconds; chord bookkeeping only, runs live in the database
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "close-due-markets": {"task": "market.tasks.close_due_markets_task", "schedule": 60.0},
    "resume-stalled-runs": {"task": "experiments.tasks.resume_stalled_runs_task", "schedule": 300.0},
    "resume-stalled-campaigns": {"task": "resolution.tasks.resume_stalled_campaigns_task", "schedule": 300.0},
}

# --- pathmarket ---------------------------------------------------------------------------------
PATHMARKET = {
    "SIGNUP_GRANT": 1000,  # points credited to every new account
    "DEFAULT_LIQUIDITY": 100.0,  # LMSR b
    "MIN_PROBABILITY": 0.01,
    "MAX_PROBABILITY": 0.99,
    "SEED_CHUNK_SIZE": env_int("PATHMARKET_SEED_CHUNK_SIZE", 16),  # seeds per Celery training task
    "TASK_MAX_RETRIES": env_int("PATHMARKET_TASK_MAX_RETRIES", 3),
    "TASK_RETRY_BACKOFF": env_int("PATHMARKET_TASK_RETRY_BACKOFF", 5),  # seconds, doubled per retry
    "ARTIFACTS_DIR": MEDIA_ROOT / "runs",
    "DEVICE": env_str("PATHMARKET_DEVICE", "auto"),  # auto | cpu | cuda, for training tasks
    "TORCH_THREADS": env_int("PATHMARKET_TORCH_THREADS", 1),  # per worker process; 0 = torch default
    # A QUEUED/RUNNING run with no progress for this long has its work re-sent (seconds).
    "RUN_STALL_SECONDS": env_int("PATHMARKET_RUN_STALL_SECONDS", 2 * env_int("PATHMARKET_TASK_TIME_LIMIT", 3600)),
    # Factor markets (docs/factor-markets.md): the most rows a campaign may budget.
    "CAMPAIGN_MAX_ROWS": env_int("PATHMARKET_CAMPAIGN_MAX_ROWS", 384),
    "CAMPAIGN_MAX_FLOPS": 1e15,  # estimated FLOPs of a campaign's whole row budget
}

# --- e-mail (notifications) ------------------------------------------------------------------------
# SMTP by default (production sets EMAIL_HOST and friends); `make run` (local settings) prints to the console.
EMAIL_BACKEND = env_str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)  # seconds
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))  # for the filebased backend
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "pathmarket <noreply@localhost>")
PATHMARKET["SITE_URL"] = env_str("PATHMARKET_SITE_URL", "http://127.0.0.1:8000")  # links in e-mails

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("PATHMARKET_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
