"""The plumbing every JSON endpoint under /api/v1/ shares: the error envelope (docs/api-feedback.md#errors),
request ids, bearer-key authentication, the per-key rate limit, role checks, body and query
parsing, and the 404/500 handlers that answer API paths in JSON.

Endpoints raise `ApiError`; `api_view` turns it into the envelope. `route()` maps HTTP methods
to endpoint functions for one URL pattern, so the URL conf (and the OpenAPI test) can see
which methods every path serves.
"""

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from accounts.roles import has_role
from api.errors import (
    ApiError,
    api_response,
    bad_request,
    empty_response,
    error_response,
    issue,
    not_found,
    request_id,
)
from api.keys import CacheBreaker, authenticate, client_address, rate_limit
from runs import jsonbounds
from runs.files import StorageFull
from runs.ids import BIGINT_MAX
from runs.models import Run

logger = logging.getLogger("loupe.api")

API_PREFIX = "/api/"
# The reviews generation (SDK 0.20) calls the same API at the root: /v1/ (docs/api-reviews.md).
API_PREFIXES = (API_PREFIX, "/v1/")
# The errors and answers (api/errors.py) and the key checks (api/keys.py) are imported from
# here by every endpoint, as before they had modules of their own.
__all__ = ["ApiError", "CacheBreaker", "api_response", "bad_request", "client_address", "empty_response",
           "error_response", "issue", "not_found", "request_id"]


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
                    key = authenticate(request)
                    request.user, request.api_key = key.user, key
                    rate_limit(key)
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
    if content_type.startswith(_FORMS) or not request.body.strip():  # a form's body is not read
        return _no_json_body(request, content_type, kind, allow_empty)
    if content_type and "json" not in content_type:
        raise bad_request("<root>", f"Expected Content-Type application/json, got {content_type}.")
    data = _parse_json(request.body)
    if not isinstance(data, kind):
        raise bad_request("<root>", f"Expected {_KIND_NAMES.get(kind, 'JSON')} as the JSON body.")
    return data


_FORMS = ("multipart/", "application/x-www-form-urlencoded")


def _no_json_body(request: HttpRequest, content_type: str, kind, allow_empty: bool):
    """A form post or an empty body: nothing where that is allowed, else a 400 saying what to send."""
    if content_type.startswith(_FORMS):
        if allow_empty and not request.POST and not request.FILES:
            return {}  # an empty form post (curl -X POST, Django's test client) carries no fields
        raise bad_request("<root>", f"Expected Content-Type application/json, got {content_type}.")
    if allow_empty:
        return kind() if isinstance(kind, type) else {}
    raise bad_request("<root>", "Send a JSON body.")


_KIND_NAMES = {dict: "an object", list: "a list"}


def _parse_json(raw: bytes):
    try:
        return jsonbounds.loads(raw)
    except jsonbounds.JsonRefused as exc:
        raise bad_request(exc.field, exc.reason) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request("<root>", f"The body is not valid JSON: {exc}.") from None


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
