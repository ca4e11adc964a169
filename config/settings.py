"""Loupe settings: one environment-driven module. Every switch has a demo-safe default."""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_float, env_int, env_list, env_str, local_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("LOUPE_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    # docs/security.md: with DEBUG off Loupe does not start without a key of its own. The demo
    # command (manage.py sets LOUPE_DEMO=1 for it) and DEBUG=true use a random key generated
    # once for this install and kept in VAR_DIR, so sessions survive restarts.
    if not (DEBUG or env_bool("LOUPE_DEMO", False)):
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long random value "
            "(for example: python -c 'import secrets; print(secrets.token_urlsafe(50))'); for local "
            "development set DEBUG=true instead. See docs/security.md."
        )
    SECRET_KEY = local_secret_key(VAR_DIR / "secret-key")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",
    "django_htmx",
    "backends",
    "accounts",
    # Before django_tasks_db: its `db_worker` command is events' (recovers lost deliveries first).
    "events",
    "django_tasks",
    "django_tasks_db",
    "runs",
    "review",
    "humanreview",
    "datasets",
    "insights",
    "web",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

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
                "accounts.context_processors.roles",
            ],
        },
    }
]
# One project-wide field template, so errors and aria attributes look the same everywhere.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'loupe.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
if env_str("DATABASE_TEST_NAME", ""):
    # Lets parallel test runs against one PostgreSQL server use distinct test databases.
    DATABASES["default"]["TEST"] = {"NAME": env_str("DATABASE_TEST_NAME", "")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The first loads the session's user with their roles in one query (accounts/backends.py); the
# second still reads sessions signed in before it was added.
AUTHENTICATION_BACKENDS = ["accounts.backends.RoleLoadingBackend", "django.contrib.auth.backends.ModelBackend"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 4}},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns at every start when it is missing
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"
# Files go through Django's storage API: local disk by default; set
# LOUPE_FILE_STORAGE=storages.backends.s3.S3Storage (plus django-storages' AWS_* settings)
# for any S3-compatible store, with no code change.
STORAGES = {
    "default": {"BACKEND": env_str("LOUPE_FILE_STORAGE", "django.core.files.storage.FileSystemStorage")},
    "staticfiles": {
        "BACKEND": env_str(
            "LOUPE_STATIC_STORAGE", "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True

# --- Files on S3 (docs/deploy.md) ------------------------------------------------------------
# LOUPE_S3_BUCKET switches uploaded files (run, expected and example files) to any S3-compatible
# store through django-storages, configured by the environment alone. Credentials may also come
# from boto3's own chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, an instance role).
LOUPE_S3_BUCKET = env_str("LOUPE_S3_BUCKET", "")
if LOUPE_S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": LOUPE_S3_BUCKET,
            "endpoint_url": env_str("LOUPE_S3_ENDPOINT_URL", "") or None,
            "region_name": env_str("LOUPE_S3_REGION", "") or None,
            "access_key": env_str("LOUPE_S3_ACCESS_KEY_ID", "") or None,
            "secret_key": env_str("LOUPE_S3_SECRET_ACCESS_KEY", "") or None,
            "location": env_str("LOUPE_S3_PREFIX", "").strip("/"),
            # path-style for MinIO, moto and most self-hosted stores; "virtual" for AWS if preferred
            "addressing_style": env_str("LOUPE_S3_ADDRESSING_STYLE", "path"),
            # Never overwrite: a second file with the same name gets a new key, as on local disk.
            "file_overwrite": False,
            "default_acl": None,
            "querystring_auth": True,
        },
    }

# --- Shared cache (docs/deploy.md) -----------------------------------------------------------
# LOUPE_CACHE_URL=redis://host:6379/0 makes the cache (the API rate limit counts in it) shared by
# every worker process and machine; without it each process counts on its own.
LOUPE_CACHE_URL = env_str("LOUPE_CACHE_URL", "")
if LOUPE_CACHE_URL:
    if not LOUPE_CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured("LOUPE_CACHE_URL must be a redis://, rediss:// or unix:// URL.")
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": LOUPE_CACHE_URL,
            "KEY_PREFIX": env_str("LOUPE_CACHE_KEY_PREFIX", "loupe"),
        }
    }

# Upload limits. LOUPE_MAX_UPLOAD_MB bounds one uploaded file (expected files, run files).
LOUPE_MAX_UPLOAD_BYTES = int(env_float("LOUPE_MAX_UPLOAD_MB", 25, minimum=0.001) * 1024 * 1024)
# Largest dataset ZIP accepted by the dataset import (page, API, command); the upstream cap is 500 MB.
LOUPE_MAX_IMPORT_BYTES = int(env_float("LOUPE_MAX_IMPORT_MB", 500, minimum=0.001) * 1024 * 1024)
# Zip-bomb bounds of a dataset import, counted as entries are read (docs/security.md).
LOUPE_MAX_IMPORT_ENTRIES = env_int("LOUPE_MAX_IMPORT_ENTRIES", 20_000, minimum=1)
LOUPE_MAX_IMPORT_EXPANDED_BYTES = int(env_float("LOUPE_MAX_IMPORT_EXPANDED_MB", 1024, minimum=0.001) * 1024 * 1024)
LOUPE_MAX_IMPORT_RATIO = env_int("LOUPE_MAX_IMPORT_RATIO", 100, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# Review queue page size.
LOUPE_QUEUE_PAGE_SIZE = env_int("LOUPE_QUEUE_PAGE_SIZE", 50, minimum=1)

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads nothing from the cookie; the token sits on <body hx-headers>.
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Security settings (docs/security.md) -------------------------------------------------
# LOUPE_HTTPS=true: served over HTTPS behind a proxy that sets X-Forwarded-Proto. It turns on
# each switch below; every one can also be set on its own.
LOUPE_HTTPS = env_bool("LOUPE_HTTPS", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", LOUPE_HTTPS)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if LOUPE_HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", LOUPE_HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", LOUPE_HTTPS)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", LOUPE_HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", LOUPE_HTTPS)
# Trust X-Forwarded-Proto only behind a proxy that sets it (and strips it from clients).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("LOUPE_PROXY_SSL_HEADER", LOUPE_HTTPS) else None
# Content-Security-Policy on every response (django-csp): scripts and styles only from Loupe's
# own static files, no inline script, no plugins, no framing. Style attributes in templates stay
# allowed (style-src-attr); <style> elements do not. File downloads set their own, stricter policy.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
INSTALLED_APPS.append("csp")
MIDDLEWARE.insert(1, "csp.middleware.CSPMiddleware")
# After sessions and auth are known, before any view: NUL / lone surrogates in path, query or form.
MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware"),
                  "config.middleware.StorableTextMiddleware")
# Deepest JSON nesting accepted wherever JSON comes in (ingest, API bodies, editor, examples).
LOUPE_MAX_JSON_DEPTH = env_int("LOUPE_MAX_JSON_DEPTH", 64, minimum=2)
# Recording runs for an automation Loupe does not know: rejected (naming close matches) unless
# the run says "createAutomation": true, or this is on.
LOUPE_INGEST_CREATES_AUTOMATIONS = env_bool("LOUPE_INGEST_CREATES_AUTOMATIONS", False)
# --- end of security settings --------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}

# JSON API (/api/v1/): requests per minute per API key (0 turns the limit off). Counted in the
# default cache, so with several worker processes configure a shared cache for a global limit.
LOUPE_API_RATE_LIMIT = env_int("LOUPE_API_RATE_LIMIT", 1200, minimum=0)
# API generations served (docs/api-reviews.md): "feedback" (SDK 0.9.1) and "reviews" (SDK 0.20).
# Leaving one out switches its own routes off (404); the routes both generations share stay.
LOUPE_API_GENERATIONS = env_list("LOUPE_API_GENERATIONS", ["feedback", "reviews"])
if not set(LOUPE_API_GENERATIONS) <= {"feedback", "reviews"}:
    raise ImproperlyConfigured("LOUPE_API_GENERATIONS takes feedback and/or reviews.")

# Where runs, reviews and examples live (docs/rules.md#proxy-mode; docs/proxy.md). The default keeps them in
# this database; `backends.eigenpal.EigenpalBackend` reads and writes them through a remote
# EigenPal-compatible API instead ("proxy mode"), keeping only users, sampling-rate history and
# Loupe's own audit trail here.
LOUPE_BACKEND = env_str("LOUPE_BACKEND", "backends.local.LocalBackend")
EIGENPAL_BASE_URL = env_str("EIGENPAL_BASE_URL", "").rstrip("/")
EIGENPAL_API_KEY = env_str("EIGENPAL_API_KEY", "")
# Seconds. Connect is short (a refused or unroutable host fails fast); read covers a slow upstream.
EIGENPAL_CONNECT_TIMEOUT = env_float("EIGENPAL_CONNECT_TIMEOUT", 3.0, minimum=0.01)
EIGENPAL_READ_TIMEOUT = env_float("EIGENPAL_READ_TIMEOUT", 15.0, minimum=0.01)
EIGENPAL_WRITE_TIMEOUT = env_float("EIGENPAL_WRITE_TIMEOUT", 30.0, minimum=0.01)
EIGENPAL_POOL_TIMEOUT = env_float("EIGENPAL_POOL_TIMEOUT", 5.0, minimum=0.01)
# Keep-alive connections per process.
EIGENPAL_MAX_CONNECTIONS = env_int("EIGENPAL_MAX_CONNECTIONS", 20, minimum=1)
# Reads (and idempotent writes) are retried this many times on 5xx, 429, timeouts and refused
# connections, with exponential backoff from EIGENPAL_RETRY_BACKOFF seconds.
EIGENPAL_MAX_RETRIES = env_int("EIGENPAL_MAX_RETRIES", 2, minimum=0)
EIGENPAL_RETRY_BACKOFF = env_float("EIGENPAL_RETRY_BACKOFF", 0.25, minimum=0)
# A 429's Retry-After is waited out when it is at most this many seconds; longer, the page says so.
EIGENPAL_RETRY_AFTER_MAX = env_float("EIGENPAL_RETRY_AFTER_MAX", 5.0, minimum=0)
# Which API generation the upstream speaks: auto (detect), feedback (SDK 0.9.x) or reviews (newer).
EIGENPAL_API_GENERATION = env_str("EIGENPAL_API_GENERATION", "auto")
if EIGENPAL_API_GENERATION not in ("auto", "feedback", "reviews"):
    raise ImproperlyConfigured("EIGENPAL_API_GENERATION must be auto, feedback or reviews.")
# Proxy queue: upstream pages (of 100 runs) scanned at most per screen when the queue filters
# locally (sampled only), and seconds the upstream automation list is cached per process.
LOUPE_PROXY_SCAN_PAGES = env_int("LOUPE_PROXY_SCAN_PAGES", 5, minimum=1)
LOUPE_PROXY_AUTOMATIONS_TTL = env_float("LOUPE_PROXY_AUTOMATIONS_TTL", 60.0, minimum=0)

# --- Outbound webhooks (docs/webhooks.md) -----------------------------------------------------
# Deliveries are queued in the database (django-tasks + django-tasks-db) and sent by
# `manage.py db_worker`.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# Send to private, loopback and link-local addresses, and over plain http (tests, internal hooks).
LOUPE_WEBHOOKS_ALLOW_PRIVATE = env_bool("LOUPE_WEBHOOKS_ALLOW_PRIVATE", False)
# One attempt: at most this many seconds in all, at most this many bytes of the answer read.
LOUPE_WEBHOOKS_TIMEOUT_SECONDS = env_float("LOUPE_WEBHOOKS_TIMEOUT_SECONDS", 10.0, minimum=0.1)
LOUPE_WEBHOOKS_MAX_RESPONSE_BYTES = env_int("LOUPE_WEBHOOKS_MAX_RESPONSE_BYTES", 64 * 1024, minimum=1)
# Retries: base × 2^(n-1) seconds after the n-th failure, capped, for the whole window (>= 24 h).
LOUPE_WEBHOOKS_BACKOFF_BASE_SECONDS = env_float("LOUPE_WEBHOOKS_BACKOFF_BASE_SECONDS", 30.0, minimum=0.001)
LOUPE_WEBHOOKS_BACKOFF_MAX_SECONDS = env_float("LOUPE_WEBHOOKS_BACKOFF_MAX_SECONDS", 4 * 3600.0, minimum=0.001)
LOUPE_WEBHOOKS_RETRY_WINDOW_SECONDS = env_float("LOUPE_WEBHOOKS_RETRY_WINDOW_SECONDS", 24 * 3600.0, minimum=0)
# A worker that dies mid-attempt leaves a lease this long; then the sweep sends again.
LOUPE_WEBHOOKS_LEASE_SECONDS = env_float("LOUPE_WEBHOOKS_LEASE_SECONDS", LOUPE_WEBHOOKS_TIMEOUT_SECONDS + 50, minimum=0.1)
LOUPE_WEBHOOKS_SWEEP_SECONDS = env_float("LOUPE_WEBHOOKS_SWEEP_SECONDS", 60.0, minimum=0.1)
# A subscription whose last N messages all ended dead is paused (0: never).
LOUPE_WEBHOOKS_PAUSE_AFTER_DEAD = env_int("LOUPE_WEBHOOKS_PAUSE_AFTER_DEAD", 5, minimum=0)
# Inbound platform webhooks in proxy mode (POST /api/v1/webhooks/eigenpal): the Standard
# Webhooks secret the platform signs with; empty switches the endpoint off (404).
LOUPE_INBOUND_WEBHOOK_SECRET = env_str("LOUPE_INBOUND_WEBHOOK_SECRET", "")

# Claims (review.claims): opening a run holds it for this many minutes, renewed while the
# reviewer works; "next" never hands out a run someone else holds.
LOUPE_CLAIM_MINUTES = env_float("LOUPE_CLAIM_MINUTES", 5.0, minimum=0.1)
# --- Benchmarks (the `bench` app) ------------------------------------------------------------
# Installed only when asked for: LOUPE_BENCH_TOOLS=1 adds its commands (benchmark, bench_api,
# loadtest_claims). LOUPE_BENCH=1 (the gunicorn `manage.py benchmark` starts) also adds the bare
# yardstick page (/__bench__/bare/) and an X-Loupe-SQL header with each response's SQL statement
# count. Never set either in production.
if env_bool("LOUPE_BENCH_TOOLS", False) or env_bool("LOUPE_BENCH", False):
    INSTALLED_APPS.append("bench")
if env_bool("LOUPE_BENCH", False):
    ROOT_URLCONF = "bench.urls"
    MIDDLEWARE.insert(0, "bench.middleware.sql_count")
