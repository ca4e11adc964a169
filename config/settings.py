"""Loupe settings: one environment-driven module. Every switch has a demo-safe default."""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_float, env_int, env_list, env_str, installed_data_dir, local_secret_key, origin_of
from config.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
# A checkout has manage.py, templates/ and static/ beside the packages and keeps its data in ./var;
# an installed wheel (docs/install.md) carries templates and static files as data of the `loupe`
# package and keeps its data in the user's data folder, so every `loupe` command finds the same
# database wherever it is started. LOUPE_VAR_DIR overrides both.
CHECKOUT = (BASE_DIR / "manage.py").is_file()
ASSETS_DIR = BASE_DIR if CHECKOUT else BASE_DIR / "loupe"
VAR_DIR = Path(env_str("LOUPE_VAR_DIR", str(BASE_DIR / "var") if CHECKOUT else installed_data_dir()))

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
    "runs",
    "review",
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
        "DIRS": [ASSETS_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.roles",
                "accounts.context_processors.sign_in",
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
# second still reads sessions signed in before it was added; the third signs in through the
# OpenID Connect provider when LOUPE_OIDC_ISSUER is set (accounts/oidc.py, docs/sso.md).
AUTHENTICATION_BACKENDS = ["accounts.backends.RoleLoadingBackend", "django.contrib.auth.backends.ModelBackend",
                           "accounts.oidc.OidcBackend"]

# --- Single sign-on: OpenID Connect (docs/sso.md) ----------------------------------------------
LOUPE_OIDC_ISSUER = env_str("LOUPE_OIDC_ISSUER", "").rstrip("/")
LOUPE_OIDC_CLIENT_ID = env_str("LOUPE_OIDC_CLIENT_ID", "")
LOUPE_OIDC_CLIENT_SECRET = env_str("LOUPE_OIDC_CLIENT_SECRET", "")
LOUPE_OIDC_PROVIDER_NAME = env_str("LOUPE_OIDC_PROVIDER_NAME", "single sign-on")
LOUPE_OIDC_GROUPS_CLAIM = env_str("LOUPE_OIDC_GROUPS_CLAIM", "groups")
LOUPE_OIDC_USERNAME_CLAIM = env_str("LOUPE_OIDC_USERNAME_CLAIM", "preferred_username")
LOUPE_OIDC_TIMEOUT = env_float("LOUPE_OIDC_TIMEOUT", 10.0, minimum=0.1)
# "provider-group=role,..." (roles: reviewer, lead, ops); empty: groups named like the roles.
LOUPE_OIDC_ROLE_MAP = {}
for _pair in env_list("LOUPE_OIDC_ROLE_MAP", []):
    _group, _, _role = _pair.rpartition("=")
    if not _group or _role.strip() not in ("reviewer", "lead", "ops"):
        raise ImproperlyConfigured(f"LOUPE_OIDC_ROLE_MAP takes group=role pairs with role reviewer, lead or ops; got {_pair!r}.")
    LOUPE_OIDC_ROLE_MAP[_group.strip()] = _role.strip()
LOUPE_LOCAL_PASSWORDS = env_bool("LOUPE_LOCAL_PASSWORDS", True)
if LOUPE_OIDC_ISSUER and not (LOUPE_OIDC_CLIENT_ID and LOUPE_OIDC_CLIENT_SECRET):
    raise ImproperlyConfigured("LOUPE_OIDC_ISSUER needs LOUPE_OIDC_CLIENT_ID and LOUPE_OIDC_CLIENT_SECRET.")
if not LOUPE_LOCAL_PASSWORDS:
    if not LOUPE_OIDC_ISSUER:
        raise ImproperlyConfigured("LOUPE_LOCAL_PASSWORDS=false needs LOUPE_OIDC_ISSUER: nobody could sign in.")
    AUTHENTICATION_BACKENDS = ["accounts.oidc.OidcBackend"]  # passwords are refused, password sessions end
# mozilla-django-oidc's own settings; endpoints come from discovery (accounts/oidc.py).
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_RP_SCOPES = env_str("LOUPE_OIDC_SCOPES", "openid email profile")
OIDC_USE_PKCE = True
OIDC_STORE_ID_TOKEN = True  # the hint for logout at the provider
OIDC_TIMEOUT = LOUPE_OIDC_TIMEOUT
OIDC_OP_LOGOUT_URL_METHOD = "accounts.oidc.provider_logout_url"
LOGIN_REDIRECT_URL_FAILURE = "/accounts/login/?sso=failed"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 4}},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [ASSETS_DIR / "static"]
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
if LOUPE_OIDC_ISSUER:
    # Sign-out posts a form whose answer redirects to the provider's end-session endpoint (docs/sso.md).
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"].append(origin_of(LOUPE_OIDC_ISSUER))
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

# Logs (config/logs.py, docs/deploy.md#health-and-logs): every line carries the request id the API's
# error envelope shows; LOUPE_LOG_FORMAT=json writes one JSON object per line.
LOUPE_LOG_FORMAT = env_str("LOUPE_LOG_FORMAT", "text").strip().lower()
if LOUPE_LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOUPE_LOG_FORMAT must be text or json, got {LOUPE_LOG_FORMAT!r}.")
LOGGING = logging_config(LOUPE_LOG_FORMAT, env_str("LOG_LEVEL", "WARNING"))
MIDDLEWARE.insert(0, "config.middleware.RequestIdMiddleware")

# Health endpoint (/healthz, web/health.py): a configured replica (the `replica` database,
# LOUPE_DATABASE_REPLICA_URL) lagging more than this many seconds fails the check.
LOUPE_DATABASE_REPLICA_URL = env_str("LOUPE_DATABASE_REPLICA_URL", "")
if LOUPE_DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(LOUPE_DATABASE_REPLICA_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
LOUPE_REPLICA_MAX_LAG_SECONDS = env_float("LOUPE_REPLICA_MAX_LAG_SECONDS", 30.0, minimum=0)

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

# Claims (review.claims): opening a run holds it for this many minutes, renewed while the
# reviewer works; "next" never hands out a run someone else holds.
LOUPE_CLAIM_MINUTES = env_float("LOUPE_CLAIM_MINUTES", 5.0, minimum=0.1)
# --- Benchmark server (`manage.py benchmark` starts gunicorn with LOUPE_BENCH=1) ---------------
# Adds the bare yardstick page (/__bench__/bare/) and an X-Loupe-SQL header with each response's
# SQL statement count. Never set it in production.
if env_bool("LOUPE_BENCH", False):
    ROOT_URLCONF = "web.bench_urls"
    MIDDLEWARE.insert(0, "web.bench_middleware.sql_count")
