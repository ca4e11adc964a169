"""Proxy mode in tests: settings that point Loupe's backend at a live Loupe's API, faults injected
into that traffic, and the marks of page tests that need no proxy variants."""

import httpx
import pytest
from django.contrib.auth.models import Group, User

from accounts.models import ApiKey

# Proxy variants only where the behaviour depends on the backend (docs/testing.md). The page tests
# that check what a page decides without it run against the local backend only; where they read
# through the backend (a run, an example, the queue), another test of the page checks that read in
# every mode.
DECIDED_BEFORE_THE_BACKEND = pytest.mark.backends(
    "local", reason="refused by the login, role or method check, or by a form or backends/saves.py before "
                    "anything is stored: the same whatever the backend")
RENDERED_FROM_WHAT_WAS_READ = pytest.mark.backends(
    "local", reason="the page's or template's work (roles, htmx fragments, escaping) on what the backend read")
# What a page shows only where Loupe keeps the data itself: local or proxy matters, not which API
# generation the proxy speaks.
LOCAL_OR_PROXY = pytest.mark.backends(
    "local", "eigenpal", reason="checks only whether the backend is local; both API generations answer alike")


def service_key() -> str:
    """A bearer key for the upstream: its user holds the reviewer and lead roles, as the
    operator's key would."""
    user, _ = User.objects.get_or_create(username="loupe-proxy", defaults={"email": "proxy@example.com"})
    for role in ("reviewer", "lead"):
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return ApiKey.issue(user=user, name="proxy")[1]


def proxy_settings(settings, base_url: str, generation: str = "feedback") -> None:
    """Proxy mode against `base_url` speaking `generation`. For "reviews" the upstream (a live
    Loupe in this process) serves only that generation: its feedback routes are switched off."""
    settings.LOUPE_BACKEND = "backends.eigenpal.EigenpalBackend"
    settings.EIGENPAL_BASE_URL = base_url
    settings.EIGENPAL_API_KEY = service_key()
    settings.EIGENPAL_RETRY_BACKOFF = 0
    settings.EIGENPAL_API_GENERATION = generation
    if generation == "reviews":
        settings.LOUPE_API_GENERATIONS = ["reviews"]


class Faults(httpx.BaseTransport):
    """A transport that forwards to the real upstream over HTTP, except for the requests a test
    told it to break: `fail("PUT", "/feedback", 503, 503)` answers the next two PUTs whose path
    contains /feedback with 503, then lets them through; `always=True` never lets them through.
    A fault is a status code (with an error envelope), (status, headers), or an exception class."""

    # Path parts of the feedback generation and their reviews-generation counterparts.
    REVIEWS_PATHS = (("/api/v1/", "/v1/"), ("/feedback", "/reviews"))

    def __init__(self, generation: str = "feedback"):
        self.generation = generation
        self.real = httpx.HTTPTransport()
        self.rules: list[dict] = []
        self.log: list[str] = []

    def fail(self, method: str, path_part: str, *faults, always: bool = False) -> "Faults":
        """`path_part` in the feedback generation's words; translated when the proxy speaks reviews."""
        if self.generation == "reviews":
            for old, new in self.REVIEWS_PATHS:
                path_part = path_part.replace(old, new)
        self.rules.append({"method": method, "path": path_part, "faults": list(faults), "always": always})
        return self

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.log.append(f"{request.method} {request.url.path}")
        for rule in self.rules:
            if rule["method"] == request.method and rule["path"] in request.url.path and rule["faults"]:
                fault = rule["faults"][0] if rule["always"] else rule["faults"].pop(0)
                return self._break(fault, request)
        return self.real.handle_request(request)

    @staticmethod
    def _break(fault, request: httpx.Request) -> httpx.Response:
        if isinstance(fault, type) and issubclass(fault, Exception):
            raise fault("injected fault", request=request)
        status, headers = fault if isinstance(fault, tuple) else (fault, {})
        body = {"issues": [{"field": "<root>", "message": f"Injected {status}.", "code": "injected",
                            "severity": "error"}], "requestId": "req_injected"}
        return httpx.Response(status, json=body, headers=headers, request=request)

    def close(self) -> None:
        self.real.close()


def install_backend(backend) -> None:
    """Make `backend` the process's backend (after the settings it reads are in place)."""
    import backends

    backends.reset_backend()
    backends._instance = backend
