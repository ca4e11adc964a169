"""`/healthz` for load balancers (docs/deploy.md#health-and-logs): is this node able to serve?

Each check is one cheap round trip, never a table scan: the database answers `SELECT 1` (one
statement, pinned by tests/web/test_health.py), the cache stores and reads back one small key,
the file storage is reachable (the local folder is writable, or the S3 bucket answers a HEAD),
and, only when a replica is configured (the `replica` database), its replication lag is read and
compared with LOUPE_REPLICA_MAX_LAG_SECONDS. Any failing check makes the answer 503, except the
replica's: then the answer is 200 "degraded" (reads go to the primary meanwhile, config/replicas.py).

The body holds no secrets: check names, ok, milliseconds, the replica's lag, and on failure the
error's class name only (a database error message names hosts and users); the full error is
logged (with the request id, config/logs.py).
"""

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger("loupe.health")

REPLICA_ALIAS = "replica"


class HealthError(Exception):
    """A check that ran but found the part unfit (as opposed to one that raised)."""


def database_check(alias: str = "default") -> dict:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {}


def cache_check() -> dict:
    # A key of this thread's own: several processes and nodes check one shared Redis at once, and
    # one shared key would let another's value answer (a false failure seen with two nodes).
    key, value = f"loupe-healthz:{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}", uuid.uuid4().hex
    cache.set(key, value, timeout=30)
    if cache.get(key) != value:
        raise HealthError("the cache did not keep a value")
    return {}


def storage_check(storage=None) -> dict:
    storage = storage if storage is not None else default_storage
    bucket = getattr(storage, "bucket_name", None)
    if bucket:  # django-storages' S3: one HEAD on the bucket checks address, keys and bucket
        storage.connection.meta.client.head_bucket(Bucket=bucket)
        return {}
    if isinstance(storage, FileSystemStorage):
        # The folder is created by the first upload; until then its nearest existing parent must be writable.
        folder = Path(storage.location)
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            raise HealthError("the file folder is not writable")
        return {}
    storage.exists("loupe-healthz")
    return {}


def replica_lag_seconds(alias: str = REPLICA_ALIAS) -> float:
    """Seconds the replica is behind the primary (0 when it has replayed all it received, or when
    the server is not in recovery at all). PostgreSQL only: other engines have no replica here."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() "
            "THEN 0 ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END")
        return float(cursor.fetchone()[0])


def replica_check() -> dict:
    lag = replica_lag_seconds()
    limit = settings.LOUPE_REPLICA_MAX_LAG_SECONDS
    if lag > limit:
        raise HealthError(f"replica lag {lag:.1f} s exceeds {limit} s")
    return {"lagSeconds": round(lag, 3)}


def _run(name: str, check: Callable[[], dict]) -> dict:
    started = time.perf_counter()
    try:
        result = {"ok": True, **check()}
    except Exception as error:  # any failure of a part is an answer, never a 500
        logger.warning("health check %s failed: %s: %s", name, type(error).__name__, error)
        result = {"ok": False, "error": type(error).__name__}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def health_checks() -> dict[str, Callable[[], dict]]:
    checks = {"database": database_check, "cache": cache_check, "storage": storage_check}
    if REPLICA_ALIAS in settings.DATABASES:
        checks["replica"] = replica_check
    return checks


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    results = {name: _run(name, check) for name, check in health_checks().items()}
    # A replica that fails is not this node's failure: its reads go to the primary meanwhile
    # (config/replicas.py), and taking every node out of the balancer for it would stop the site.
    healthy = all(result["ok"] for name, result in results.items() if name != "replica")
    status = "fail" if not healthy else "ok" if all(result["ok"] for result in results.values()) else "degraded"
    return JsonResponse({"status": status, "checks": results}, status=200 if healthy else 503)
