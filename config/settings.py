"""Loupe settings: one environment-driven module. Every switch has a demo-safe default."""

from datetime import timedelta
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
    # once for this install and kept in VAR_DIR, so sessions survive restarts. The other
    # management commands (manage.py sets LOUPE_MANAGE=1) use that key once the demo made it.
    made_by_demo = env_bool("LOUPE_MANAGE", False) and (VAR_DIR / "secret-key").exists()
    if not (DEBUG or env_bool("LOUPE_DEMO", False) or made_by_demo):
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
    "axes",
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
    "dsreview",
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
    # Last: turns a locked-out sign-in into accounts.throttle.signin_locked's page.
    "axes.middleware.AxesMiddleware",
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
# One project-wide field template, so errors and aria attributes look the same everywhere, in
# Django's Jinja2 form templates (web/forms/renderer.py: several times faster to render).
FORM_RENDERER = "web.forms.renderer.FormRenderer"

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'loupe.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
                                              conn_health_checks=True)}
# CONN_HEALTH_CHECKS (above): a kept connection the server dropped (restart, failover,
# pg_terminate_backend) is tested before a request reuses it and replaced, instead of costing
# that request a 500 (tests/config/test_faults.py).
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
# second still reads sessions signed in before it was added; the last signs in through the
# OpenID Connect provider when LOUPE_OIDC_ISSUER is set (accounts/oidc.py, docs/sso.md).
# The throttle (django-axes, first: it refuses a locked-out sign-in before any password is
# checked) comes before them.
AUTHENTICATION_BACKENDS = ["accounts.throttle.SignInThrottleBackend", "accounts.backends.RoleLoadingBackend",
                           "django.contrib.auth.backends.ModelBackend", "accounts.oidc.OidcBackend"]

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

# --- Sign-in throttling (django-axes; docs/security.md#sign-in-throttling) ------------------
# After LOUPE_SIGNIN_FAILURE_LIMIT failed sign-ins for one account, or from one address, that
# account or address is locked out for LOUPE_SIGNIN_LOCKOUT_MINUTES (the right password
# included). Admins see every failure and lockout under Admin > Axes and unlock there or with
# `manage.py axes_reset_username NAME` / `axes_reset_ip ADDRESS` / `axes_reset`.
AXES_FAILURE_LIMIT = env_int("LOUPE_SIGNIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_float("LOUPE_SIGNIN_LOCKOUT_MINUTES", 15, minimum=0.1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own: per account, per address
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # the audit: every failure, lockouts flagged
AXES_LOCKOUT_CALLABLE = "accounts.throttle.signin_locked"
AXES_CLIENT_IP_CALLABLE = "accounts.throttle.client_ip"
# Behind a reverse proxy every request comes from the proxy's address: name the header it sets
# to the client's address (e.g. X-Real-IP) so the per-address limits count clients, not the proxy.
LOUPE_CLIENT_IP_HEADER = env_str("LOUPE_CLIENT_IP_HEADER", "")

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
# Files go through Django's storage API: local disk by default (runs.storage.LocalStorage:
# Django's FileSystemStorage that removes a partial file when a write fails); set
# LOUPE_FILE_STORAGE=storages.backends.s3.S3Storage (plus django-storages' AWS_* settings)
# for any S3-compatible store, with no code change.
STORAGES = {
    "default": {"BACKEND": env_str("LOUPE_FILE_STORAGE", "runs.storage.LocalStorage")},
    "staticfiles": {"BACKEND": env_str("LOUPE_STATIC_STORAGE", "django.contrib.staticfiles.storage.StaticFilesStorage")},
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
            # A Redis that is down or hung costs a request at most these seconds; the API's rate
            # limit then fails open with a logged warning (api/support.py, docs/deploy.md).
            "OPTIONS": {
                "socket_connect_timeout": env_float("LOUPE_CACHE_CONNECT_TIMEOUT", 0.5, minimum=0.01),
                "socket_timeout": env_float("LOUPE_CACHE_TIMEOUT", 0.5, minimum=0.01),
            },
        }
    }
# After a cache failure the API's limits leave the cache alone this many seconds (per process).
LOUPE_CACHE_RETRY_SECONDS = env_float("LOUPE_CACHE_RETRY_SECONDS", 5.0, minimum=0)

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
# Documents from outside are rendered and previewed within bounds (docs/security.md#documents):
# a PDF page renders in a child process with this wall-clock/CPU time and address-space limit;
# a preview (CSV, JSON, text, e-mail) reads at most LOUPE_PREVIEW_KB of a file and shows at most
# LOUPE_PREVIEW_ROWS rows of LOUPE_PREVIEW_COLUMNS columns, cells cut at LOUPE_PREVIEW_CELL_CHARS.
LOUPE_PDF_RENDER_SECONDS = env_float("LOUPE_PDF_RENDER_SECONDS", 4.0, minimum=0.1)
LOUPE_PDF_RENDER_MB = env_int("LOUPE_PDF_RENDER_MB", 200, minimum=64)
LOUPE_PREVIEW_KB = env_int("LOUPE_PREVIEW_KB", 256, minimum=1)
LOUPE_PANE_PREVIEW_KB = env_int("LOUPE_PANE_PREVIEW_KB", 1024, minimum=1)  # all previews of one pane
LOUPE_PREVIEW_ROWS = env_int("LOUPE_PREVIEW_ROWS", 50, minimum=1)
LOUPE_PREVIEW_COLUMNS = env_int("LOUPE_PREVIEW_COLUMNS", 30, minimum=1)
LOUPE_PREVIEW_CELL_CHARS = env_int("LOUPE_PREVIEW_CELL_CHARS", 200, minimum=10)
# Proxy mode: one upstream answer may be at most this large (as sent and as expanded), must be
# read completely within this many seconds, and its JSON may nest LOUPE_MAX_JSON_DEPTH deep.
EIGENPAL_MAX_RESPONSE_MB = env_float("EIGENPAL_MAX_RESPONSE_MB", 50, minimum=0.001)
EIGENPAL_READ_DEADLINE = env_float("EIGENPAL_READ_DEADLINE", 20.0, minimum=0.1)
# File downloads stream through (never held whole): bounded by size and time all the same.
EIGENPAL_MAX_DOWNLOAD_MB = env_float("EIGENPAL_MAX_DOWNLOAD_MB", 600, minimum=0.001)
EIGENPAL_DOWNLOAD_DEADLINE = env_float("EIGENPAL_DOWNLOAD_DEADLINE", 300.0, minimum=0.1)
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

# Read replicas (config/replicas.py, docs/deploy.md#read-replicas): the `replica` database. A
# replica lagging more than LOUPE_REPLICA_MAX_LAG_SECONDS gets no reads and shows on /healthz.
LOUPE_DATABASE_REPLICA_URL = env_str("LOUPE_DATABASE_REPLICA_URL", "")
LOUPE_REPLICA_MAX_LAG_SECONDS = env_float("LOUPE_REPLICA_MAX_LAG_SECONDS", 30.0, minimum=0)
if LOUPE_DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(LOUPE_DATABASE_REPLICA_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
                                                 conn_health_checks=True)
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}  # a test run makes no second test database
    # A replica host that does not answer costs a request (and its lag check) at most 3 s to connect.
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
    # The GET reads of these paths go there, except for LOUPE_READ_YOUR_WRITES_SECONDS after their author wrote.
    DATABASE_ROUTERS = ["config.replicas.ReplicaRouter"]
    MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
                      "config.replicas.ReplicaReadsMiddleware")
LOUPE_REPLICA_PATHS = env_list("LOUPE_REPLICA_PATHS", ["/queue/", "/backlog/", "/sampling/", "/api/v1/", "/v1/"])
LOUPE_READ_YOUR_WRITES_SECONDS = env_float("LOUPE_READ_YOUR_WRITES_SECONDS", 5.0, minimum=0)
# How often (seconds, per process) the replica's lag is read to decide whether reads may go there.
LOUPE_REPLICA_CHECK_SECONDS = env_float("LOUPE_REPLICA_CHECK_SECONDS", 5.0, minimum=0)

# Connection pool (docs/deploy.md#connection-pool): LOUPE_DB_POOL=N keeps up to N PostgreSQL
# connections per worker process in psycopg's pool (Django 5.2's OPTIONS["pool"]), for the primary
# and the replica; 0 (default) opens one per thread and keeps it DB_CONN_MAX_AGE seconds.
LOUPE_DB_POOL = env_int("LOUPE_DB_POOL", 0, minimum=0)
if LOUPE_DB_POOL:
    for _database in DATABASES.values():
        if _database["ENGINE"] == "django.db.backends.postgresql":
            _database["CONN_MAX_AGE"] = 0  # the pool keeps the connections; Django returns them after each request
            # CONN_HEALTH_CHECKS (kept on) makes the pool test each connection before handing it out.
            _database.setdefault("OPTIONS", {})["pool"] = {"min_size": min(2, LOUPE_DB_POOL),
                                                           "max_size": LOUPE_DB_POOL, "timeout": 10}

# JSON API (/api/v1/): requests per minute per API key (0 turns the limit off). Counted in the
# default cache, so with several worker processes configure a shared cache for a global limit.
LOUPE_API_RATE_LIMIT = env_int("LOUPE_API_RATE_LIMIT", 1200, minimum=0)
# Invalid bearer keys accepted per minute from one address before it gets 429 with Retry-After
# (0 turns it off; docs/security.md#sign-in-throttling). Counted in the same cache.
LOUPE_API_BAD_KEY_LIMIT = env_int("LOUPE_API_BAD_KEY_LIMIT", 20, minimum=0)
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
# Finished deliveries, their attempt log and messages are kept this many days (the sweep prunes).
LOUPE_WEBHOOKS_KEEP_DAYS = env_float("LOUPE_WEBHOOKS_KEEP_DAYS", 30.0, minimum=0)
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
    ROOT_URLCONF = "config.bench_urls"
    MIDDLEWARE.insert(0, "bench.middleware.sql_count")
