"""The plumbing every JSON endpoint under /api/v1/ shares: the error envelope (docs/api-feedback.md#errors),
request ids, bearer-key authentication, the per-key rate limit, role checks, body and query
parsing, and the 404/500 handlers that answer API paths in JSON.

Endpoints raise `ApiError`; `api_view` turns it into the envelope. `route()` maps HTTP methods
to endpoint functions for one URL pattern, so the URL conf (and the OpenAPI test) can see
which methods every path serves.
"""

import logging
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from accounts.models import ApiKey
from accounts.roles import has_role
from accounts.throttle import client_ip
from runs import jsonbounds
from runs.files import StorageFull
from runs.ids import BIGINT_MAX
from runs.models import Run

logger = logging.getLogger("loupe.api")

API_PREFIX = "/api/"
# The reviews generation (SDK 0.20) calls the same API at the root: /v1/ (docs/api-reviews.md).
API_PREFIXES = (API_PREFIX, "/v1/")
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
# last_used_at is written at most this often per key, so reads stay read-only.
_LAST_USED_EVERY_SECONDS = 60


# --- errors -------------------------------------------------------------------------------


def issue(field: str, message: str, code: str = "invalid_value", severity: str = "error") -> dict:
    return {"field": field or "<root>", "message": message, "code": code, "severity": severity}


class ApiError(Exception):
    """An answer in the error envelope: raise it anywhere below an `api_view`."""

    def __init__(self, status: int, message: str = "", *, field: str = "<root>", code: str = "invalid_value",
                 issues: list[dict] | None = None, hint: str | None = None, headers: dict | None = None,
                 extra: dict | None = None):
        super().__init__(message)
        self.extra = extra or {}  # more keys of the envelope (a 409's current `task`)
        self.status = status
        self.issues = issues if issues is not None else [issue(field, message, code)]
        self.hint = hint
        self.headers = headers or {}


def bad_request(field: str, message: str, code: str = "invalid_value") -> ApiError:
    return ApiError(400, message, field=field, code=code)


def not_found(message: str, field: str = "<root>") -> ApiError:
    return ApiError(404, message, field=field, code="not_found")


def request_id(request: HttpRequest) -> str:
    """The id of this request: the caller's X-Request-Id when sane, else a new one."""
    rid = getattr(request, "api_request_id", None)
    if rid is None:
        incoming = request.headers.get("X-Request-Id", "")
        rid = incoming if _REQUEST_ID_RE.match(incoming) else f"req_{uuid.uuid4().hex[:24]}"
        request.api_request_id = rid
    return rid


def error_response(request: HttpRequest, status: int, issues: list[dict], *, hint: str | None = None,
                   headers: dict | None = None, extra: dict | None = None) -> JsonResponse:
    """The one builder of the error envelope: {issues, requestId, hint?}, JSON, x-request-id."""
    rid = request_id(request)
    body = {"issues": issues, "requestId": rid}
    if hint:
        body["hint"] = hint
    body.update(extra or {})
    response = JsonResponse(body, status=status)
    response["x-request-id"] = rid
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def api_response(request: HttpRequest, data, status: int = 200) -> JsonResponse:
    response = JsonResponse(data, status=status, safe=False, json_dumps_params={"ensure_ascii": False})
    response["x-request-id"] = request_id(request)
    return response


def empty_response(request: HttpRequest, status: int = 204) -> HttpResponse:
    response = HttpResponse(status=status)
    response["x-request-id"] = request_id(request)
    return response


# --- authentication, rate limit, roles ----------------------------------------------------


def _authenticate(request: HttpRequest) -> ApiKey:
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


def _rate_limit(key: ApiKey) -> None:
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


def require_role(request: HttpRequest, *roles: str, action: str) -> None:
    if roles and not has_role(request.user, *roles):
        raise ApiError(403, f"You need the {' or '.join(roles)} role to {action}.", code="forbidden")


def check_params(request: HttpRequest, params) -> None:
    """A filter never silently does nothing: a query parameter the endpoint does not take is a
    400 naming it (docs/api-reviews.md, decision 4). `params` is the names it takes (None: any)."""
    if params is None:
        return
    for name in request.GET:
        if name not in params:
            takes = ", ".join(sorted(p for p in params if "_" not in p)) or "no query parameters"
            raise ApiError(400, f"Unknown query parameter {name!r}; this endpoint takes {takes}.", field=name,
                           code="unknown_parameter")


def api_view(*, roles: tuple[str, ...] = (), action: str = "do this", session_ok: bool = False,
             params: tuple[str, ...] | frozenset | None = ()):
    """Authenticate the bearer key (it acts as its user), apply the rate limit and the role
    check, refuse query parameters not in `params`, and answer every ApiError in the
    envelope. `session_ok` also lets a signed-in browser session in (the OpenAPI document,
    linked from the docs page)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            request_id(request)
            try:
                if session_ok and "Authorization" not in request.headers and request.user.is_authenticated:
                    request.api_key = None
                else:
                    key = _authenticate(request)
                    request.user, request.api_key = key.user, key
                    _rate_limit(key)
                require_role(request, *roles, action=action)
                check_params(request, params)
                response = view(request, *args, **kwargs)
            except ApiError as exc:
                return error_response(request, exc.status, exc.issues, hint=exc.hint, headers=exc.headers,
                                      extra=exc.extra)
            except RequestDataTooBig:
                return error_response(request, 413, [issue("<root>", "The request body is too large.",
                                                           "payload_too_large")])
            except TooManyFilesSent:
                limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
                return error_response(request, 400, [issue(
                    "<root>", f"The request has more than {limit} file parts (DATA_UPLOAD_MAX_NUMBER_FILES); "
                    "send the files in several requests.", "too_many_files")])
            except TooManyFieldsSent:
                limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
                return error_response(request, 400, [issue(
                    "<root>", f"The request has more than {limit} fields (DATA_UPLOAD_MAX_NUMBER_FIELDS).",
                    "too_many_fields")])
            except MultiPartParserError as exc:
                return error_response(request, 400, [issue("<root>", f"The multipart body is malformed: {exc}")])
            except StorageFull:
                return error_response(request, 507, [issue(
                    "<root>", "The file store is full; nothing of this request was stored. Try again once "
                    "space was freed.", "insufficient_storage")], headers={"Retry-After": "60"})
            response.setdefault("x-request-id", request_id(request))
            return response

        return wrapped

    return decorator


def route(generation: str | None = None, **handlers: Callable) -> Callable:
    """One URL pattern, one function per HTTP method: route(GET=runs_list, POST=run_start).
    Bearer-only, so CSRF-exempt; authentication is the endpoint's own (not the login page).
    `generation` marks a pattern only one API generation has; it answers 404 when
    settings.LOUPE_API_GENERATIONS leaves that generation out."""
    allowed = ", ".join(sorted(handlers))

    @csrf_exempt
    @login_not_required
    def dispatch(request: HttpRequest, *args, **kwargs):
        if generation is not None and generation not in settings.LOUPE_API_GENERATIONS:
            return error_response(request, 404, [issue("<root>", f"The {generation} generation of the API is "
                                                       "switched off here (LOUPE_API_GENERATIONS).", "not_found")])
        handler = handlers.get(request.method)
        if handler is None:
            return error_response(request, 405, [issue("<root>", f"Use {allowed} on this path.",
                                                       "method_not_allowed")], headers={"Allow": allowed})
        return handler(request, *args, **kwargs)

    dispatch.methods = dict(handlers)
    dispatch.generation = generation
    return dispatch


# --- request parsing ----------------------------------------------------------------------


def json_body(request: HttpRequest, *, kind: type | tuple = dict, allow_empty: bool = False):
    """The parsed JSON body, refused with a field-named 400 when it is not JSON of `kind`."""
    content_type = request.content_type or ""
    if content_type.startswith(("multipart/", "application/x-www-form-urlencoded")):
        if allow_empty and not request.POST and not request.FILES:
            return {}  # an empty form post (curl -X POST, Django's test client) carries no fields
        raise bad_request("<root>", f"Expected Content-Type application/json, got {content_type}.")
    raw = request.body
    if not raw.strip():
        if allow_empty:
            return kind() if isinstance(kind, type) else {}
        raise bad_request("<root>", "Send a JSON body.")
    if content_type and "json" not in content_type:
        raise bad_request("<root>", f"Expected Content-Type application/json, got {content_type}.")
    try:
        data = jsonbounds.loads(raw)
    except jsonbounds.JsonRefused as exc:
        raise bad_request(exc.field, exc.reason) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request("<root>", f"The body is not valid JSON: {exc}.") from None
    if not isinstance(data, kind):
        expected = "an object" if kind is dict else "a list" if kind is list else "JSON"
        raise bad_request("<root>", f"Expected {expected} as the JSON body.")
    return data


def reject_unknown(data: dict, allowed: set[str]) -> None:
    for key in data:
        if key not in allowed:
            raise bad_request(key, f"Unknown field; expected one of {', '.join(sorted(allowed))}.")


def check_upload_size(request: HttpRequest, *, files: int = 1, limit: int | None = None) -> None:
    """Refuse an oversize multipart body before Django spools it to disk."""
    limit = limit or settings.LOUPE_MAX_UPLOAD_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit * files + 1024 * 1024:
        raise _too_large(limit)


def uploaded_files(request: HttpRequest, field: str = "file", *, limit: int | None = None) -> list:
    """The multipart parts named `field` (at least one), each within the upload limit (413)."""
    limit = limit or settings.LOUPE_MAX_UPLOAD_BYTES
    check_upload_size(request, files=10, limit=limit)
    uploads = request.FILES.getlist(field)
    if not uploads:
        raise bad_request(field, f"Attach the file as a multipart part named {field!r}.")
    for upload in uploads:
        if upload.size > limit:
            raise _too_large(limit, name=upload.name)
    return uploads


def _too_large(limit: int, name: str = "") -> ApiError:
    what = f"The file {name!r}" if name else "The upload"
    return ApiError(413, f"{what} is larger than the limit of {limit / 1024 / 1024:g} MB.", field="file",
                    code="payload_too_large")


def is_multipart(request: HttpRequest) -> bool:
    return (request.content_type or "").startswith("multipart/form-data")


_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


class Query:
    """Query parameters by wire name, with snake_case aliases; an empty value counts as absent
    (the SDK sends None as `key=`), a repeated key is a list (the SDK sends lists that way)."""

    def __init__(self, querydict, aliases: dict[str, str] | None = None):
        self._values: dict[str, list[str]] = {}
        aliases = aliases or {}
        for key, values in querydict.lists():
            name = aliases.get(key, key)
            kept = [v for v in values if v != ""]
            if kept:
                self._values.setdefault(name, []).extend(kept)

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def get(self, name: str) -> str | None:
        values = self._values.get(name)
        return values[-1] if values else None

    def csv(self, name: str) -> list[str]:
        """A comma list, also accepting the key repeated."""
        out = []
        for value in self._values.get(name, []):
            out.extend(part.strip() for part in value.split(",") if part.strip())
        return out

    def flag(self, name: str) -> bool | None:
        value = self.get(name)
        if value is None:
            return None
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise bad_request(name, "Expected true or false.")

    def number(self, name: str, *, default: int | None = None, minimum: int = 0,
               maximum: int | None = None) -> int | None:
        value = self.get(name)
        if value is None:
            return default
        text = value.strip()
        if not (text.lstrip("-").isascii() and text.lstrip("-").isdigit()) or len(text) > 20:
            raise bad_request(name, "Expected a whole number.")
        number = int(text)
        maximum = BIGINT_MAX if maximum is None else maximum  # what a database column holds
        if number < minimum or number > maximum:
            bounds = f"between {minimum} and {maximum}"
            raise bad_request(name, f"Must be {bounds}.")
        return number

    def choice(self, name: str, choices) -> str | None:
        value = self.get(name)
        if value is not None and value not in choices:
            raise bad_request(name, f"Expected one of {', '.join(choices)}.")
        return value


def iso(value: datetime | None) -> str | None:
    """Timestamps on the wire: ISO-8601 in UTC with milliseconds, `2025-01-31T12:00:00.000Z`."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def limit_and_offset(query: Query, *, default_limit: int = 50) -> tuple[int, int]:
    return (query.number("limit", default=default_limit, minimum=1, maximum=100),
            query.number("offset", default=0, minimum=0))


# --- handlers for paths that reach no endpoint -------------------------------------------


def handler404(request: HttpRequest, exception=None):
    if request.path.startswith(API_PREFIXES):
        return error_response(request, 404, [issue("<root>", f"No API endpoint at {request.path}.", "not_found")],
                              hint="See /api/v1/docs for the list of endpoints.")
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest):
    if request.path.startswith(API_PREFIXES):
        logger.error("API request %s failed with a server error (request id %s).", request.path, request_id(request))
        return error_response(request, 500, [issue("<root>", "Internal server error; the request id identifies "
                                                   "it in the server log.", "internal_error")])
    return defaults.server_error(request)


def get_run(run_id: str) -> Run:
    """The run a route names, with its automation; 404 naming `id` when there is none (the one
    run lookup of every API module)."""
    run = Run.objects.select_related("automation").filter(pk=run_id).first()
    if run is None:
        raise not_found(f"No run {run_id!r}.", field="id")
    return run
