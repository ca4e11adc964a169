"""Every API answer a test sees, checked against the OpenAPI document (api/openapi.py): the
documented operation for its path and method, the documented response for its status, the
documented media type, and, for JSON, the documented schema.

An answer the document does not describe is a problem, not something to skip: an undocumented
path, method or status, a media type the operation does not list, a body where none is
documented. The few answers the document cannot describe are listed in UNDOCUMENTED, each with
its reason, and must still carry the error envelope.

`watching()` hooks Django's request handler (so the test client, the live server and the fuzz
run's WSGI calls are all seen) and collects what it finds; the autouse fixture
`documented_answers`, imported by tests/api/conftest.py and tests/sdk020/conftest.py, fails the
test at teardown with the list."""

import json
import re
from contextlib import contextmanager
from functools import cache

import pytest
from django.core.handlers.base import BaseHandler
from django.urls import Resolver404, resolve
from jsonschema import Draft202012Validator

from api.openapi import document

API_PREFIXES = ("/api/v1/", "/v1/")
_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")
ENVELOPE = {"$ref": "#/components/schemas/ApiErrorEnvelope"}

# Answers no operation of the document can own, with why; each must be the error envelope with
# one of the statuses listed.
UNDOCUMENTED = {
    "no path": ({400, 404}, "a path under /api/v1/ that the URL conf does not serve (handler404; 400 when the "
                            "middleware refuses the path's text first, config/middleware.py)"),
    "no method": ({405}, "a method the path does not serve (api.support.route; Allow names the served ones)"),
}


def documented_path(route: str) -> str:
    """The document's path for a URL conf route: api/v1/runs/<str:run_id> and v1/runs/<str:run_id>
    are both /api/v1/runs/{run_id}."""
    rest = route.removeprefix("api/").removeprefix("v1/")
    return "/api/v1/" + _PARAM.sub(r"{\1}", rest)


@cache
def _validator(schema_json: str) -> Draft202012Validator:
    schema = json.loads(schema_json)
    return Draft202012Validator({"allOf": [schema], "components": document()["components"]})


def schema_problems(schema: dict, instance) -> list[str]:
    """Where `instance` breaks `schema`; then every key of an object the schema describes but
    does not name (a key the document leaves out is as wrong as a key of the wrong type)."""
    validator = _validator(json.dumps(schema, sort_keys=True))
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        return [f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message[:300]}" for error in errors]
    return [f"{path or '<root>'}: key {key!r} is not in the document" for path, key in _unnamed(schema, instance, "")]


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = document()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _branches(schema: dict, instance) -> list[dict]:
    """The subschemas that apply to `instance`: every allOf branch, the anyOf/oneOf ones it matches."""
    schema = _resolve(schema)
    found = [schema]
    for branch in schema.get("allOf", []):
        found += _branches(branch, instance)
    for branch in schema.get("anyOf", []) + schema.get("oneOf", []):
        if _validator(json.dumps(branch, sort_keys=True)).is_valid(instance):
            found += _branches(branch, instance)
    return found


def _unnamed(schema: dict, instance, path: str):
    """(path, key) of each object key the applying schemas do not name, at any depth."""
    branches = _branches(schema, instance)
    if isinstance(instance, dict):
        named = {k: s for b in branches for k, s in b.get("properties", {}).items()}
        extra = [b["additionalProperties"] for b in branches if isinstance(b.get("additionalProperties"), dict)]
        closed = any("properties" in b for b in branches) and not any(
            b.get("additionalProperties") is True for b in branches)
        for key, value in instance.items():
            if key in named:
                yield from _unnamed(named[key], value, f"{path}/{key}")
            elif extra:
                yield from _unnamed(extra[0], value, f"{path}/{key}")
            elif closed:
                yield path, key
    elif isinstance(instance, list):
        items = [b["items"] for b in branches if isinstance(b.get("items"), dict)]
        for n, value in enumerate(instance):
            for item in items:
                yield from _unnamed(item, value, f"{path}/{n}")


def _media_type(response) -> str:
    return (response.get("Content-Type") or "").split(";")[0].strip().lower()


def _matches(actual: str, documented: str) -> bool:
    if documented == "*/*" or documented == actual:
        return True
    return documented.endswith("/*") and actual.startswith(documented[:-1])


def _body_problems(documented: dict, response) -> list[str]:
    content = documented.get("content")
    media_type = _media_type(response)
    if not content:
        body = b"" if response.streaming else response.content
        return [f"a body ({media_type or 'no type'}) where the document says none"] if body else []
    listed = next((name for name in content if _matches(media_type, name)), None)
    if listed is None:
        return [f"media type {media_type or '(none)'} not among the documented {sorted(content)}"]
    if "json" not in listed:
        return []
    try:
        instance = json.loads(response.content)
    except ValueError:
        return ["the body is not JSON"]
    return schema_problems(content[listed].get("schema", {}), instance)


def _envelope_problems(response, statuses: set[int], reason: str) -> list[str]:
    if response.status_code not in statuses:
        return [f"status {response.status_code} is not documented ({reason} answers {sorted(statuses)} only)"]
    return _body_problems({"content": {"application/json": {"schema": ENVELOPE}}}, response)


def response_problems(method: str, route: str | None, response) -> list[str]:
    """What is wrong with one answer, given the route the URL conf matched (None: none)."""
    if route is None:
        return _envelope_problems(response, *UNDOCUMENTED["no path"])
    path = documented_path(route)
    operations = document()["paths"].get(path)
    if operations is None:
        return [f"path {path} is not in the document"]
    operation = operations.get(method.lower())
    if operation is None:
        return _envelope_problems(response, *UNDOCUMENTED["no method"])
    documented = operation["responses"].get(str(response.status_code))
    if documented is None:
        return [f"status {response.status_code} is not documented (documented: {sorted(operation['responses'])})"]
    return _body_problems(documented, response)


def check(request, response) -> list[str]:
    """Problems with the answer to one request, each naming it; [] outside the API."""
    if not request.path.startswith(API_PREFIXES):
        return []
    match = getattr(request, "resolver_match", None)
    if match is None:  # answered before routing (a middleware): the route the path would take
        try:
            match = resolve(request.path_info)
        except Resolver404:
            match = None
    problems = response_problems(request.method, match.route if match else None, response)
    return [f"{request.method} {request.path} -> {response.status_code}: {p}" for p in problems]


@contextmanager
def watching():
    """Check every answer Django's handler gives while inside; yields the list of problems."""
    found: list[str] = []
    original = BaseHandler.get_response

    def get_response(handler, request):
        response = original(handler, request)
        found.extend(check(request, response))
        return response

    BaseHandler.get_response = get_response
    try:
        yield found
    finally:
        BaseHandler.get_response = original


@pytest.fixture(autouse=True)
def documented_answers():
    """Every API answer the test gets must be the one the OpenAPI document describes: the test
    fails at teardown otherwise, listing what differs (the list is yielded, for the test of
    this check itself)."""
    with watching() as problems:
        yield problems
    if problems:
        pytest.fail("answers the OpenAPI document does not describe:\n" + "\n".join(dict.fromkeys(problems)),
                    pytrace=False)
