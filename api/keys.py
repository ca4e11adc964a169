"""Who a request acts as: the bearer key (authentication), and the per-key rate limit and the
per-address limit on bad keys, counted in the default cache and failing open when it fails."""

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import ApiKey
from accounts.throttle import client_ip
from api.errors import ApiError

logger = logging.getLogger("loupe.api")
# last_used_at is written at most this often per key, so reads stay read-only.
_LAST_USED_EVERY_SECONDS = 60


def authenticate(request: HttpRequest) -> ApiKey:
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    raw = raw.strip()
    if scheme.lower() != "bearer" or not raw:
        raise ApiError(401, "Missing API key: send it as 'Authorization: Bearer <key>'.", code="unauthorized",
                       hint="Create a key in the admin or with `python manage.py create_api_key USER`.")
    _bad_key_guard(request)
    key = ApiKey.objects.find_active(raw)
    if key is None or not key.user.is_active:
        _bad_key_count(request)
        raise ApiError(401, "The API key is not valid, or it was revoked.", code="unauthorized")
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > _LAST_USED_EVERY_SECONDS:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


# Counters live in the default cache (Redis when LOUPE_CACHE_URL is set, bounded by its socket
# timeouts). A cache that fails must not take the API down with it: every limit here fails open,
# with a warning in the log (docs/deploy.md#shared-cache-redis).


def _window() -> tuple[int, float]:
    now = time.time()
    return int(now // 60), now


def _retry_after(window: int, now: float) -> str:
    return str(max(1, int((window + 1) * 60 - now)))


class CacheBreaker:
    """After a cache failure this process leaves the cache alone for LOUPE_CACHE_RETRY_SECONDS:
    a hung Redis then costs one request its socket timeout, not every request."""

    open_until = 0.0

    @classmethod
    def skip(cls) -> bool:
        return time.monotonic() < cls.open_until

    @classmethod
    def trip(cls, what: str, exc: Exception) -> None:
        cls.open_until = time.monotonic() + settings.LOUPE_CACHE_RETRY_SECONDS
        logger.warning("The cache failed (%s: %s); the %s and the other API limits fail open for %g s.",
                       type(exc).__name__, exc, what, settings.LOUPE_CACHE_RETRY_SECONDS)

    @classmethod
    def reset(cls) -> None:
        cls.open_until = 0.0


def _cached(what: str, call):
    """call() against the cache; None when the cache failed or is being left alone (fails open)."""
    if CacheBreaker.skip():
        return None
    try:
        return call()
    except Exception as exc:  # noqa: BLE001 - any cache backend's failure (redis.RedisError, OSError, ...)
        CacheBreaker.trip(what, exc)
        return None


def _count(cache_key: str, what: str) -> int | None:
    """Add one to a per-minute counter; None when the cache failed (logged)."""

    def add_one() -> int:
        cache.add(cache_key, 0, timeout=120)
        try:
            return cache.incr(cache_key)
        except ValueError:  # evicted between add and incr
            cache.set(cache_key, 1, timeout=120)
            return 1

    return _cached(what, add_one)


def client_address(request: HttpRequest) -> str:
    """The address the per-address limits count by: the one sign-ins are counted by
    (accounts.throttle.client_ip, LOUPE_CLIENT_IP_HEADER behind a proxy)."""
    return client_ip(request) or "unknown"


def _bad_key_cache_key(request: HttpRequest, window: int) -> str:
    return f"loupe-api-badkey:{client_address(request)}:{window}"


def _bad_key_guard(request: HttpRequest) -> None:
    """An address that sent LOUPE_API_BAD_KEY_LIMIT bad keys this minute is refused (429) before
    any key is looked up, a right one included: guessing keys costs a minute per attempt batch."""
    limit = settings.LOUPE_API_BAD_KEY_LIMIT
    if not limit:
        return
    window, now = _window()
    failures = _cached("bad API key limit", lambda: cache.get(_bad_key_cache_key(request, window))) or 0
    if failures >= limit:
        raise ApiError(429, f"Too many invalid API keys from this address ({limit} per minute); try again later.",
                       code="rate_limited", headers={"Retry-After": _retry_after(window, now)})


def _bad_key_count(request: HttpRequest) -> None:
    if settings.LOUPE_API_BAD_KEY_LIMIT:
        window, _ = _window()
        _count(_bad_key_cache_key(request, window), "bad API key limit")


def rate_limit(key: ApiKey) -> None:
    """A fixed one-minute window per key in the default cache. With several worker processes,
    configure a shared cache (e.g. Redis) so the limit is global rather than per process."""
    limit = settings.LOUPE_API_RATE_LIMIT
    if not limit:
        return
    window, now = _window()
    count = _count(f"loupe-api-rate:{key.pk}:{window}", "API rate limit")
    if count is not None and count > limit:
        raise ApiError(429, f"Rate limit of {limit} requests per minute for this key exceeded.",
                       code="rate_limited", headers={"Retry-After": _retry_after(window, now)})
