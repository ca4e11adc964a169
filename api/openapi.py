"""The OpenAPI 3.1 document of /api/v1/ and the human-readable page built from it.

One source: ENDPOINTS lists every path and method the URL conf serves (a test checks both
directions against api/urls.py), assembled from the modules of its parts (api/openapi_*.py,
each with its PATHS; the schemas in api/openapi_schemas.py), and the docs page renders the same
list. A test answer that differs from it fails the test (tests/openapi_conformance.py)."""

import json
import re

from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import render

from api import openapi_automations, openapi_calibration, openapi_double, openapi_review_requests, openapi_runs
from api.openapi_parts import TAGS
from api.openapi_schemas import SCHEMAS
from api.support import api_response, api_view

ENDPOINTS: dict[str, dict] = {**openapi_runs.PATHS, **openapi_automations.PATHS, **openapi_review_requests.PATHS,
                              **openapi_double.PATHS, **openapi_calibration.PATHS}
SCHEMAS.update(openapi_double.SCHEMAS)
SCHEMAS.update(openapi_calibration.SCHEMAS)


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Loupe API", "version": "1.0",
                 "description": "The review subset of the EigenPal API over Loupe's own data, in both "
                                "generations (feedback: SDK 0.9.1; reviews: SDK 0.20), plus run recording. Every "
                                "path is served under /api/v1/ and, identically, under /v1/ (docs/api-reviews.md). "
                                "Errors use the envelope {issues, requestId, hint?}."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}, "schemas": SCHEMAS},
        "tags": [{"name": t} for t in TAGS],
        "paths": ENDPOINTS,
    }


@api_view(session_ok=True)
def openapi_json(request: HttpRequest):
    return api_response(request, document())


def _examples(contents: list[dict]) -> list[tuple[str, str]]:
    return [(ct, json.dumps(c["example"], indent=2)) for content in contents for ct, c in content.items()
            if "example" in c]


def _entry(path: str, method: str, operation: dict) -> dict:
    """One operation as the docs page lists it."""
    return {"method": method.upper(), "path": path, "op": operation,
            "anchor": re.sub(r"[/.]", "-", f"{method}-{path}").replace("{", "").replace("}", ""),
            "status": next(iter(operation["responses"])),
            "request_examples": _examples([operation.get("requestBody", {}).get("content", {})]),
            "response_examples": _examples([r.get("content", {}) for r in operation["responses"].values()])}


def api_docs(request: HttpRequest):
    """The readable reference, for signed-in users (login is enforced globally)."""
    groups: dict[str, list] = {}
    for path, methods in ENDPOINTS.items():
        for method, operation in methods.items():
            groups.setdefault(operation["tags"][0], []).append(_entry(path, method, operation))
    order = TAGS + [tag for tag in groups if tag not in TAGS]  # a group no one placed is still listed
    return render(request, "api/docs.html", {
        "nav": "api", "groups": [(t, groups[t]) for t in order if t in groups],
        "rate_limit": settings.LOUPE_API_RATE_LIMIT, "max_upload_mb": settings.LOUPE_MAX_UPLOAD_BYTES / 1024 / 1024,
        "base_url": request.build_absolute_uri("/").rstrip("/"),
    })
