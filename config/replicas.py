"""Read replicas (docs/deploy.md#read-replicas): with LOUPE_DATABASE_REPLICA_URL set, the reads of
the dashboards, the queue and the API's GETs go to the `replica` database; everything else reads
and writes the primary (`default`).

What decides, per request (ReplicaReadsMiddleware) and per query (ReplicaRouter):

- A GET or HEAD whose path starts with one of LOUPE_REPLICA_PATHS may read the replica. Any other
  request reads the primary, so a form page, the review pane and every write see the newest rows.
- Read-your-writes: a request that wrote (any ORM write was routed, whatever its method) or any
  POST/PUT/PATCH/DELETE marks its author for LOUPE_READ_YOUR_WRITES_SECONDS. While marked, all
  their reads go to the primary. The mark is kept twice: a cache key named by the author (the
  signed-in user, or a hash of the API key in the Authorization header), which follows them to
  every browser, API client and node when the cache is shared (LOUPE_CACHE_URL), and a signed cookie
  (`loupe_primary`, holding the time the window ends), which works with a per-process cache too.
- Inside a transaction (an atomic block on the primary) every read goes to the primary.
- Sign-in, sessions, users, roles and API keys are always read from the primary (a session made
  a moment ago must be found on the next request).
- Migrations run on the primary only.
- A replica that does not answer, or lags more than LOUPE_REPLICA_MAX_LAG_SECONDS, is left alone:
  every read goes to the primary until it is back (looked at once per LOUPE_REPLICA_CHECK_SECONDS
  per process). /healthz then says "degraded" with 200: the node still serves.
"""

from __future__ import annotations

import contextvars
import hashlib
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import HttpRequest, HttpResponse

from web.health import replica_lag_seconds

REPLICA = "replica"
PRIMARY = "default"
COOKIE = "loupe_primary"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# Identity, sign-in and throttling: always the primary.
PRIMARY_APPS = frozenset({"auth", "sessions", "accounts", "axes", "admin"})


@dataclass
class ReadState:
    replica_ok: bool = False
    wrote: bool = False


_STATE: contextvars.ContextVar[ReadState | None] = contextvars.ContextVar("loupe_read_state", default=None)


class ReplicaRouter:
    """Reads go to the replica only while the current request allows it (see the module)."""

    def db_for_read(self, model, **_hints):
        state = _STATE.get()
        if state is None or not state.replica_ok or model._meta.app_label in PRIMARY_APPS:
            return PRIMARY
        if connections[PRIMARY].in_atomic_block:
            return PRIMARY
        return REPLICA

    def db_for_write(self, model, **_hints):
        state = _STATE.get()
        # Bookkeeping of identity (a key's last use, a session, sign-in failures) is read from the
        # primary anyway: it does not start a read-your-writes window.
        if state is not None and model._meta.app_label not in PRIMARY_APPS:
            state.wrote = True
            state.replica_ok = False  # the rest of this request reads what it just wrote
        return PRIMARY

    def allow_relation(self, obj1, obj2, **_hints):
        return True if {obj1._state.db, obj2._state.db} <= {PRIMARY, REPLICA, None} else None

    def allow_migrate(self, db, app_label, **_hints):
        return db == PRIMARY


def _key_author(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    return "key:" + hashlib.sha256(header.encode()).hexdigest()[:32] if header else None


def _user_author(request: HttpRequest) -> str | None:
    user = getattr(request, "user", None)  # the API sets it from the key in its view
    return f"user:{user.pk}" if user is not None and user.is_authenticated else None


def author(request: HttpRequest) -> str | None:
    """Whose window a read looks up: the API key sent (known before the view), else the signed-in user."""
    return _key_author(request) or _user_author(request)


def _cache_key(who: str) -> str:
    return f"loupe-ryw:{who}"


def recently_wrote(request: HttpRequest) -> bool:
    """Inside the author's read-your-writes window (their signed cookie or their cache key)."""
    until = request.get_signed_cookie(COOKIE, default=None, salt=COOKIE)
    if until is not None and float(until) > time.time():
        return True
    who = author(request)
    if who is None:
        return False
    try:
        return bool(cache.get(_cache_key(who)))
    except Exception:  # a cache that fails must not make a page fail: read the primary
        return True


def replica_path(request: HttpRequest) -> bool:
    return request.method in SAFE_METHODS and request.path.startswith(tuple(settings.LOUPE_REPLICA_PATHS))


def mark_wrote(request: HttpRequest, response: HttpResponse) -> None:
    seconds = settings.LOUPE_READ_YOUR_WRITES_SECONDS
    if seconds <= 0:
        return
    response.set_signed_cookie(COOKIE, str(time.time() + seconds), salt=COOKIE, max_age=seconds,
                               httponly=True, samesite="Lax", secure=settings.SESSION_COOKIE_SECURE)
    # Both the key and its user: a write through the API also sends that user's pages to the primary.
    authors = {who for who in (_key_author(request), _user_author(request)) if who}
    try:
        cache.set_many({_cache_key(who): 1 for who in authors}, timeout=seconds)
    except Exception:  # the cookie still holds the window for browsers
        pass


_usable = {"until": 0.0, "ok": False}
_usable_lock = threading.Lock()


def replica_usable() -> bool:
    """The replica answers and lags at most LOUPE_REPLICA_MAX_LAG_SECONDS; asked at most once per
    LOUPE_REPLICA_CHECK_SECONDS per process. Otherwise reads stay on the primary (fresh, if busier)."""
    now = time.monotonic()
    if now < _usable["until"]:
        return _usable["ok"]
    with _usable_lock:
        if now >= _usable["until"]:
            try:
                _usable["ok"] = replica_lag_seconds() <= settings.LOUPE_REPLICA_MAX_LAG_SECONDS
            except Exception:  # a replica that does not answer: the primary serves every read
                _usable["ok"] = False
                connections[REPLICA].close()  # a broken connection is not kept for the next look
            _usable["until"] = now + settings.LOUPE_REPLICA_CHECK_SECONDS
    return _usable["ok"]


class ReplicaReadsMiddleware:
    """After AuthenticationMiddleware: decides whether this request may read the replica, and
    marks its author after a write (installed only when a replica is configured)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        state = ReadState(replica_ok=replica_path(request) and not recently_wrote(request) and replica_usable())
        token = _STATE.set(state)
        try:
            response = self.get_response(request)
        finally:
            _STATE.reset(token)
        if state.wrote or request.method not in SAFE_METHODS:
            mark_wrote(request, response)
        response["x-loupe-reads"] = "replica" if state.replica_ok else "primary"
        return response
