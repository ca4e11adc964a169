"""HTTP to the upstream EigenPal API: one pooled httpx.Client per backend instance (so per
process), explicit timeouts, retries, and one error family (backends.base) for every transport
error and upstream status, with messages written for the page that shows them.

Retries (docs/api-feedback.md#retries says what the SDK retries; Loupe is stricter about writes):
- a connection that could not be made (refused, DNS, connect timeout) is retried for every
  method: the request never reached the upstream;
- 5xx, read timeouts and broken connections are retried only for idempotent requests (GET, PUT,
  DELETE, and POSTs the caller marks idempotent, e.g. promote, which upserts by name): a PATCH
  rename that timed out may have happened, and repeating it would fail or rename twice;
- 429 is a refusal before any work, so it is retried for every method, after waiting out its
  Retry-After when that is at most EIGENPAL_RETRY_AFTER_MAX seconds; longer, the page says when
  to try again.

Bounded reads (docs/security.md#proxy-reads): an answer is read as a stream and refused with a
502 naming the limit once it passes EIGENPAL_MAX_RESPONSE_MB as sent or as expanded (gzip and
deflate are expanded here, a bounded step at a time, so a gzip bomb never expands past the cap),
once the whole read passes EIGENPAL_READ_DEADLINE seconds (a drip of one byte a second ends
there, not at gunicorn's timeout), or when its JSON nests past LOUPE_MAX_JSON_DEPTH (+ the
envelope's levels). File downloads stream with the same per-step expansion bound and the
EIGENPAL_DOWNLOAD_DEADLINE; they are never held in memory whole.
"""

import contextvars
import json as jsonlib
import platform
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx

from backends.base import BackendError, ChangeRefused, Misconfigured, NotFound, Unavailable
from runs import jsonbounds

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({500, 502, 503, 504})
ENVELOPE_DEPTH = 16  # levels an answer may nest around the documents it carries (a run's output)
RAW_STEP = 16 * 1024  # bytes of a compressed body expanded at a time
ACCEPT_ENCODING = "gzip, deflate"
USER_AGENT = f"loupe-proxy/0.1 (python-{platform.python_version()}; httpx-{httpx.__version__})"


# --- metering: how many upstream calls a page made, and how long they took -----------------


@dataclass
class Meter:
    calls: int = 0
    seconds: float = 0.0
    requests: list[str] = field(default_factory=list)


_meter: contextvars.ContextVar[Meter | None] = contextvars.ContextVar("eigenpal_meter", default=None)


@contextmanager
def metered() -> Iterator[Meter]:
    """Count the upstream requests (attempts, retries included) made inside the block."""
    meter = Meter()
    token = _meter.set(meter)
    try:
        yield meter
    finally:
        _meter.reset(token)


def _record(method: str, url: str, seconds: float) -> None:
    meter = _meter.get()
    if meter is not None:
        meter.calls += 1
        meter.seconds += seconds
        meter.requests.append(f"{method} {url}")


# --- paths ---------------------------------------------------------------------------------


def seg(value: str) -> str:
    """A path segment holding an id: fully percent-encoded (docs/api-feedback.md#ids-and-paths)."""
    if str(value) in ("", ".", ".."):
        raise NotFound(f"No such object {value!r}.")
    return quote(str(value), safe="")


def file_path(value: str) -> str:
    """A path parameter holding a file path: each segment encoded, the slashes kept. Dot
    segments are refused: URL normalisation would turn them into another upstream endpoint,
    fetched with Loupe's key."""
    parts = str(value).split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise NotFound(f"No file {value!r}.")
    return "/".join(quote(part, safe="") for part in parts)


# --- errors --------------------------------------------------------------------------------


def _first_issue(response: httpx.Response) -> tuple[str, str, str | None]:
    """(message, field, request id) from the error envelope, tolerating any body."""
    try:
        body = parse_json(response.content, jsonbounds.max_depth() + ENVELOPE_DEPTH)
    except ValueError:
        body = None
    request_id = response.headers.get("x-request-id")
    if isinstance(body, dict):
        request_id = body.get("requestId") or request_id
        issues = body.get("issues")
        if isinstance(issues, list) and issues and isinstance(issues[0], dict):
            return str(issues[0].get("message") or ""), str(issues[0].get("field") or "<root>"), request_id
    return "", "<root>", request_id


def retry_after_seconds(response: httpx.Response) -> int | None:
    raw = response.headers.get("Retry-After", "").strip()
    return int(raw) if raw.isdigit() else None


class AnswerTooDeep(ValueError):
    pass


def parse_json(body: bytes, limit: int):
    """json.loads, refusing (AnswerTooDeep, a ValueError) a document nested past `limit`
    without ever recursing past Python's limit."""
    try:
        value = jsonlib.loads(body)
    except RecursionError:
        raise AnswerTooDeep(limit) from None
    if jsonbounds.json_depth(value, limit) > limit:
        raise AnswerTooDeep(limit)
    return value


class _Expander:
    """A body's Content-Encoding undone a bounded step at a time: each step's output is at most
    `step` bytes, so a gzip bomb costs memory in steps, counted as it expands."""

    def __init__(self, encoding: str, step: int):
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self.inflater = None
        elif encoding in ("gzip", "x-gzip"):
            self.inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self.inflater, self.first = zlib.decompressobj(), True
        else:
            raise Unavailable(f"The EigenPal API answered with Content-Encoding {encoding[:40]!r}, which Loupe does "
                              f"not read (it asks for {ACCEPT_ENCODING}).")
        self.encoding, self.step = encoding, step

    def _sniff(self, raw: bytes) -> None:
        """A deflate body's first bytes tell a zlib stream from a raw deflate one."""
        if self.encoding == "deflate" and self.first and raw:
            self.first = False
            if (raw[0] & 0x0F) != 8:  # no zlib header: a raw deflate stream
                self.inflater = zlib.decompressobj(-zlib.MAX_WBITS)

    def feed(self, raw: bytes) -> Iterator[bytes]:
        if self.inflater is None:
            if raw:
                yield raw
            return
        try:
            self._sniff(raw)
            data = raw
            while data:
                out = self.inflater.decompress(data, self.step)
                data = self.inflater.unconsumed_tail
                if out:
                    yield out
                elif not data:
                    break
        except zlib.error as exc:
            raise Unavailable(f"The EigenPal API sent a {self.encoding} body that does not expand ({exc}).") from None


def _misconfigured(response: httpx.Response, detail: str, kwargs: dict) -> Misconfigured:
    """A redirect, 401 or 403: a setting an administrator has to fix."""
    status = response.status_code
    if status == 401:
        return Misconfigured("The EigenPal API refused Loupe's API key (401 Unauthorized). An administrator "
                             "needs to set EIGENPAL_API_KEY to a valid, unrevoked key." + detail, **kwargs)
    if status == 403:
        return Misconfigured("The EigenPal API key may not do this (403 Forbidden). An administrator needs to "
                             "give the key's user the needed role, or set EIGENPAL_API_KEY to a key that has "
                             "it." + detail, **kwargs)
    return Misconfigured(f"The EigenPal API redirected to {response.headers.get('location', '?')}. "
                         "Set EIGENPAL_BASE_URL to the API's root URL exactly (scheme and host, "
                         "no trailing path).", **kwargs)


def _refused(status: int, message: str | None, field_name: str, detail: str, kwargs: dict) -> BackendError:
    """A 404 (NotFound) or a refused change (400, 409, 413, 422)."""
    if status == 404:
        return NotFound(message or "The EigenPal API has no such object (404).", field=field_name, **kwargs)
    if status == 413:
        return ChangeRefused("The EigenPal API refused the upload as too large (413). Send a smaller file."
                             + detail, field="file", **kwargs)
    return ChangeRefused(message or f"The EigenPal API refused the change (HTTP {status}).",
                         field=field_name, **kwargs)


class Upstream:
    """The upstream API and the one client that talks to it. Paths are relative to `prefix`, the
    generation's API root under EIGENPAL_BASE_URL (`/api/v1` for feedback, `/v1` for reviews;
    backends.eigenpal.dialects sets it once the generation is known)."""

    prefix = "/api/v1"

    def __init__(self, *, base_url: str, api_key: str, timeout: httpx.Timeout, max_retries: int = 2,
                 backoff: float = 0.25, retry_after_max: float = 5.0, max_connections: int = 20,
                 transport: httpx.BaseTransport | None = None, sleep=time.sleep,
                 max_response_bytes: int = 50 * 1024 * 1024, read_deadline: float = 20.0,
                 download_deadline: float = 300.0, max_download_bytes: int = 600 * 1024 * 1024):
        self.base_url = base_url.rstrip("/")
        self.max_response_bytes = max_response_bytes
        self.read_deadline = read_deadline
        self.download_deadline = download_deadline
        self.max_download_bytes = max_download_bytes
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.retry_after_max = retry_after_max
        self.sleep = sleep
        self.http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": USER_AGENT, "Accept": "application/json",
                     "Accept-Encoding": ACCEPT_ENCODING},
            timeout=timeout,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections,
                                keepalive_expiry=30.0),
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self.http.close()

    # -- the one way out ---------------------------------------------------------------------

    def request(self, method: str, path: str, *, params=None, json=None, data=None, files=None,
                idempotent: bool | None = None, stream: bool = False, prefix: str | None = None,
                headers: dict | None = None) -> httpx.Response:
        """One logical request, retried as the module docstring says; a 2xx/3xx-free response or
        a BackendError. With `stream=True` the caller must close the response."""
        if not self.base_url:
            raise Misconfigured("Proxy mode needs EIGENPAL_BASE_URL: the root URL of the EigenPal API "
                                "(for example https://studio.eigenpal.com).")
        if not self.api_key:
            raise Misconfigured("Proxy mode needs EIGENPAL_API_KEY: an API key of the EigenPal API.")
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        attempt = 0
        while True:
            url = (self.prefix if prefix is None else prefix) + path
            request = self.http.build_request(method, url, params=params, json=json, data=data, files=files,
                                              headers=headers)
            started = time.perf_counter()
            try:
                response = self.http.send(request, stream=True)
                if not stream or response.status_code >= 300:
                    response = self._buffered(response, started, path)
            except BackendError:
                _record(method, str(request.url), time.perf_counter() - started)
                raise
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                _record(method, str(request.url), time.perf_counter() - started)
                if attempt < self.max_retries:
                    attempt = self._wait(attempt)
                    continue
                raise self._transport_error(exc) from exc
            except httpx.TransportError as exc:  # read/write timeouts, dropped connections
                _record(method, str(request.url), time.perf_counter() - started)
                if idempotent and attempt < self.max_retries:
                    attempt = self._wait(attempt)
                    continue
                # Only a write that reached the upstream leaves its outcome unknown; a read changes nothing.
                raise self._transport_error(exc, sent=method not in ("GET", "HEAD")) from exc
            _record(method, str(request.url), time.perf_counter() - started)
            status = response.status_code
            if status < 300:
                return response
            if status == 429 and attempt < self.max_retries:
                wait = retry_after_seconds(response)
                if wait is None or wait <= self.retry_after_max:
                    attempt = self._wait(attempt, wait)
                    continue
            elif status in RETRY_STATUSES and idempotent and attempt < self.max_retries:
                attempt = self._wait(attempt)
                continue
            raise self._status_error(response)

    # -- bounded reads ----------------------------------------------------------------------

    def _limit_text(self, limit: int) -> str:
        return f"{limit / 1_048_576:g} MB"

    def body_chunks(self, response: httpx.Response, started: float, path: str, *, download: bool = False
                    ) -> Iterator[bytes]:
        """The body of a streamed `response`, expanded, in chunks; Unavailable (naming the limit)
        once it passes the size cap as sent or as expanded, or the read passes its deadline.
        The caller closes the response."""
        cap = self.max_download_bytes if download else self.max_response_bytes
        deadline_s = self.download_deadline if download else self.read_deadline
        setting = ("EIGENPAL_MAX_DOWNLOAD_MB", "EIGENPAL_DOWNLOAD_DEADLINE") if download else (
            "EIGENPAL_MAX_RESPONSE_MB", "EIGENPAL_READ_DEADLINE")
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > cap:
            raise Unavailable(f"The EigenPal API's answer to {path} is {int(length) / 1_048_576:.1f} MB; Loupe reads "
                              f"at most {self._limit_text(cap)} ({setting[0]}).")
        try:  # a response read already (an in-process transport's): its content is expanded
            whole = response.content
        except httpx.ResponseNotRead:
            # iter_raw() without a size: each piece as the network delivers it, so a drip is seen.
            expander, raws = _Expander(response.headers.get("content-encoding", ""), RAW_STEP * 64), \
                response.iter_raw()
        else:
            expander, raws = _Expander("", RAW_STEP), (whole[i:i + RAW_STEP] for i in range(0, len(whole), RAW_STEP))
        sent = expanded = 0
        for raw in raws:
            sent += len(raw)
            if sent > cap:
                raise Unavailable(f"The EigenPal API's answer to {path} is larger than {self._limit_text(cap)} "
                                  f"({setting[0]}); Loupe stopped reading it.")
            for piece in expander.feed(raw):
                expanded += len(piece)
                if expanded > cap:
                    raise Unavailable(f"The EigenPal API's answer to {path} expands to more than "
                                      f"{self._limit_text(cap)} ({setting[0]}); Loupe stopped reading it.")
                yield piece
            if time.perf_counter() - started > deadline_s:
                raise Unavailable(f"The EigenPal API took longer than {deadline_s:g} s to send its answer to {path} "
                                  f"({setting[1]}); Loupe stopped reading it. Try again shortly.")

    def _buffered(self, response: httpx.Response, started: float, path: str) -> httpx.Response:
        """The whole (bounded) body of a streamed response, as a plain response."""
        try:
            body = b"".join(self.body_chunks(response, started, path))
        finally:
            response.close()
        headers = [(k, v) for k, v in response.headers.multi_items()
                   if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
        return httpx.Response(response.status_code, headers=headers, content=body, request=response.request,
                              extensions=response.extensions)

    def json(self, method: str, path: str, **kwargs):
        """A request whose success body is JSON (None for 204 or an empty body)."""
        response = self.request(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        content_type = response.headers.get("content-type", "")
        if content_type and "json" not in content_type:
            raise Unavailable(f"The EigenPal API answered {path} with {content_type.split(';')[0]}, not JSON. "
                              "Check that EIGENPAL_BASE_URL is the API's root URL.", status=response.status_code)
        limit = jsonbounds.max_depth() + ENVELOPE_DEPTH
        try:
            return parse_json(response.content, limit)
        except AnswerTooDeep:
            raise Unavailable(f"The EigenPal API answered {path} with JSON nested more than {limit} levels deep; "
                              f"Loupe reads at most LOUPE_MAX_JSON_DEPTH + {ENVELOPE_DEPTH} levels.") from None
        except ValueError:
            raise Unavailable(f"The EigenPal API answered {path} with a body that is not valid JSON.",
                              status=response.status_code) from None

    def _wait(self, attempt: int, seconds: float | None = None) -> int:
        self.sleep(seconds if seconds is not None else self.backoff * (2 ** attempt))
        return attempt + 1

    # -- errors for pages ----------------------------------------------------------------------

    def _transport_error(self, exc: httpx.TransportError, *, sent: bool = False) -> BackendError:
        where = f"the EigenPal API at {self.base_url}"
        if isinstance(exc, httpx.ConnectTimeout):
            return Unavailable(f"Could not connect to {where} within {self.timeout.connect:g} s. "
                               "Check EIGENPAL_BASE_URL and the network, then try again.")
        if isinstance(exc, httpx.PoolTimeout):
            return Unavailable(f"Too many requests to {where} are in flight; try again in a moment.")
        if isinstance(exc, httpx.ConnectError):
            return Unavailable(f"Could not connect to {where} (connection refused or host unreachable). "
                               "Check EIGENPAL_BASE_URL and that the server is up, then try again.")
        if isinstance(exc, httpx.TimeoutException):
            seconds = self.timeout.read if isinstance(exc, httpx.ReadTimeout) else self.timeout.write
            return Unavailable(f"{where[0].upper()}{where[1:]} did not answer within {seconds:g} s"
                               + (" (the change may or may not have been made; reload to check)" if sent else "")
                               + ". Try again shortly.")
        return Unavailable(f"The connection to {where} broke off ({type(exc).__name__}). Try again shortly.")

    def _status_error(self, response: httpx.Response) -> BackendError:
        status = response.status_code
        message, field_name, request_id = _first_issue(response)
        detail = f" It said: {message}" if message else ""
        kwargs = {"status": status, "request_id": request_id}
        if status in (301, 302, 303, 307, 308, 401, 403):
            return _misconfigured(response, detail, kwargs)
        if status in (400, 404, 409, 413, 422):
            return _refused(status, message, field_name, detail, kwargs)
        if status == 429:
            wait = retry_after_seconds(response)
            when = f"in {wait} s" if wait is not None else "in a minute"
            return Unavailable(f"The EigenPal API is rate limiting Loupe (429 Too Many Requests); try again {when}.",
                               retry_after=wait, **kwargs)
        if status >= 500:
            return Unavailable(f"The EigenPal API failed (HTTP {status}); try again shortly." + detail
                               + (f" Request id: {request_id}." if request_id else ""), **kwargs)
        return BackendError(f"The EigenPal API answered HTTP {status}." + detail, **kwargs)
