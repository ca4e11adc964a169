"""Sending one signed webhook request, bounded (docs/webhooks.md#sending).

- Signed with the `standardwebhooks` package: webhook-id, webhook-timestamp, webhook-signature.
- Never to a private, loopback, link-local or otherwise non-public address unless
  LOUPE_WEBHOOKS_ALLOW_PRIVATE is on (loopback also allowed when DEBUG): the host is resolved,
  every address checked, and the connection goes to the checked address (no second lookup an
  attacker's DNS could answer differently), keeping the name for TLS (SNI and certificate).
- HTTPS required unless DEBUG or LOUPE_WEBHOOKS_ALLOW_PRIVATE.
- One attempt takes at most LOUPE_WEBHOOKS_TIMEOUT_SECONDS (checked while reading), reads at
  most LOUPE_WEBHOOKS_MAX_RESPONSE_BYTES of the answer, and follows no redirect."""

import ipaddress
import json
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings
from standardwebhooks.webhooks import Webhook

USER_AGENT = "Loupe-Webhooks/1"
_SSL_CONTEXT: ssl.SSLContext | None = None


def _ssl_context() -> ssl.SSLContext:
    """Built once per process (loading the CA bundle costs a good part of a second)."""
    global _SSL_CONTEXT
    if _SSL_CONTEXT is None:
        _SSL_CONTEXT = httpx.create_ssl_context()
    return _SSL_CONTEXT


class UnsafeTarget(ValueError):
    """A URL Loupe will not send to (scheme or address); the message says why."""


def _allow_private() -> bool:
    return bool(getattr(settings, "LOUPE_WEBHOOKS_ALLOW_PRIVATE", False))


def _address_problem(address: ipaddress._BaseAddress) -> str | None:
    if _allow_private():
        return None
    if address.is_loopback and settings.DEBUG:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if not address.is_global or address.is_multicast:
        kind = "a loopback" if address.is_loopback else "a private or reserved"
        return (f"resolves to {kind} address ({address}); webhooks go only to public addresses "
                f"unless LOUPE_WEBHOOKS_ALLOW_PRIVATE is on.")
    return None


def url_scheme_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return "is not a valid URL."
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL with a host."
    if parts.username or parts.password:
        return "must not carry a user name or password."
    if parts.scheme != "https" and not (settings.DEBUG or _allow_private()):
        return "must use https:// (plain http is allowed only with DEBUG or LOUPE_WEBHOOKS_ALLOW_PRIVATE)."
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "has an invalid port."
    return None


def resolve(url: str) -> list[ipaddress._BaseAddress]:
    """Every address the URL's host resolves to; UnsafeTarget when it does not resolve or
    when any of them is not allowed."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeTarget(f"host {host!r} does not resolve ({exc}).") from None
    addresses = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        problem = _address_problem(address)
        if problem:
            raise UnsafeTarget(problem)
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnsafeTarget(f"host {host!r} does not resolve.")
    return addresses


def url_problem(url: str) -> str | None:
    """Why a subscription may not use this URL (scheme, credentials, address), or None."""
    problem = url_scheme_problem(url)
    if problem:
        return problem
    try:
        resolve(url)
    except UnsafeTarget as exc:
        return str(exc)
    return None


@dataclass
class SendResult:
    ok: bool
    status_code: int | None
    error: str
    excerpt: str
    duration_ms: int


def signed_headers(secret: str, message_id: str, body: str, when: datetime) -> dict[str, str]:
    signature = Webhook(secret).sign(message_id, when, body)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def _pinned_url(url: str, address: ipaddress._BaseAddress) -> str:
    parts = urlsplit(url)
    host = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


def _post_pinned(client: httpx.Client, url: str, addresses: list, body: bytes, headers: dict,
                 deadline: float) -> httpx.Response:
    """POST to the first address of `url` that accepts the connection (every one was checked),
    the host name kept for TLS (SNI) and the Host header; the last refusal is raised."""
    hostname = urlsplit(url).hostname
    for index, address in enumerate(addresses):
        request = client.build_request("POST", _pinned_url(url, address), content=body, headers=headers,
                                       extensions={"sni_hostname": hostname})
        try:
            return client.send(request, stream=True)
        except httpx.ConnectError:
            if index == len(addresses) - 1 or time.monotonic() > deadline:
                raise
    raise httpx.ConnectError("No address to connect to.")


def _read_capped(response: httpx.Response, cap: int, deadline: float) -> bytearray:
    """The answer's first `cap` bytes at most, read until the deadline."""
    read = bytearray()
    for chunk in response.iter_raw():
        read += chunk
        if len(read) >= cap or time.monotonic() > deadline:
            break
    return read


def send(url: str, secret: str, message_id: str, payload: dict, when: datetime) -> SendResult:
    """One POST of `payload` to `url`, signed; never raises for the receiver's faults."""
    started = time.monotonic()
    total = float(settings.LOUPE_WEBHOOKS_TIMEOUT_SECONDS)
    cap = int(settings.LOUPE_WEBHOOKS_MAX_RESPONSE_BYTES)

    def result(ok, code, error, excerpt=""):
        return SendResult(ok, code, error[:500], excerpt[:1000], int((time.monotonic() - started) * 1000))

    problem = url_scheme_problem(url)
    if problem:
        return result(False, None, f"URL {problem}")
    try:
        addresses = resolve(url)
    except UnsafeTarget as exc:
        return result(False, None, f"URL {exc}")
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    headers = signed_headers(secret, message_id, body, when)
    parts = urlsplit(url)
    headers["host"] = parts.netloc
    timeout = httpx.Timeout(total, connect=min(total, 5.0))
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False,
                          verify=_ssl_context()) as client:
            deadline = started + total
            response = _post_pinned(client, url, addresses, body.encode(), headers, deadline)
            try:
                read = _read_capped(response, cap, deadline)
                if time.monotonic() > deadline:
                    return result(False, response.status_code, f"Timed out after {total:g} s.")
            finally:
                response.close()
    except httpx.TimeoutException:
        return result(False, None, f"Timed out after {total:g} s.")
    except httpx.HTTPError as exc:
        return result(False, None, f"{type(exc).__name__}: {exc}")
    excerpt = bytes(read[:1000]).decode("utf-8", errors="replace")
    code = response.status_code
    if 200 <= code < 300:
        return result(True, code, "", excerpt)
    if 300 <= code < 400:
        return result(False, code, f"Redirect to {response.headers.get('location', '?')[:200]} not followed.", excerpt)
    return result(False, code, f"HTTP {code}", excerpt)
