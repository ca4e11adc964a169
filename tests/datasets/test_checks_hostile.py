"""Assertions written by users run on every ingest: no backtracking regex, no fetched schema."""

import http.server
import threading

import pytest

from datasets.checks import (
    BLOCKED,
    FAILED,
    PASSED,
    REGEX_MAX_CHARS,
    AssertionDefinitionError,
    evaluate_assertion,
    validate_assertions,
)
from web.forms.datasets import ExampleForm

CATASTROPHIC = r"^(a+)+$"  # exponential on Python's backtracking re for "aaa…ab"


def _within(seconds, fn):
    """Run fn in a daemon thread; the result, or a failure when it has not finished in time."""
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("value", fn()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    return box["value"]


def test_catastrophic_regex_finishes_on_a_long_input():
    output = {"code": "a" * 5000 + "b"}
    result = _within(10, lambda: evaluate_assertion(
        {"path": "code", "condition": {"kind": "matches_regex", "pattern": CATASTROPHIC}}, output))
    assert result.outcome == FAILED


def test_catastrophic_pattern_inside_a_json_schema_finishes():
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": CATASTROPHIC}},
              "patternProperties": {CATASTROPHIC: {"type": "string"}}, "additionalProperties": False}
    output = {"code": "a" * 5000 + "b"}
    result = _within(10, lambda: evaluate_assertion(
        {"path": "", "condition": {"kind": "json_schema_valid", "schema": schema}}, output))
    assert result.outcome == FAILED and "does not match" in result.failure


def test_schema_patterns_still_match_what_they_should():
    schema = {"type": "object", "patternProperties": {"^x_": {"type": "integer"}}, "additionalProperties": False}
    condition = {"kind": "json_schema_valid", "schema": schema}
    assert evaluate_assertion({"path": "", "condition": condition}, {"x_a": 1}).outcome == PASSED
    assert evaluate_assertion({"path": "", "condition": condition}, {"x_a": "1"}).outcome == FAILED
    assert evaluate_assertion({"path": "", "condition": condition}, {"y": 1}).outcome == FAILED


@pytest.mark.parametrize("pattern, words", [
    (r"(a)\1", "backreferences"),
    (r"foo(?=bar)", "lookaround"),
    ("x" * (REGEX_MAX_CHARS + 1), "limit"),
])
def test_patterns_re2_cannot_run_are_refused_when_saved(pattern, words):
    with pytest.raises(AssertionDefinitionError, match=words):
        validate_assertions([{"path": "deep.field", "condition": {"kind": "matches_regex", "pattern": pattern}}])


def test_form_names_the_assertions_field_for_a_bad_pattern():
    form = ExampleForm({"name": "x", "assertions": '[{"path": "a.b", "condition": {"kind": "matches_regex", '
                                                   '"pattern": "(a)\\\\1"}}]'})
    assert not form.is_valid()
    assert "Assertion 1" in form.errors["assertions"][0] and "RE2" in form.errors["assertions"][0]


class _Counter(http.server.BaseHTTPRequestHandler):
    hits = []

    def do_GET(self):  # noqa: N802
        _Counter.hits.append(self.path)
        body = b'{"type": "string"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def schema_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Counter.hits.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("where", ["top", "nested", "id-relative"])
def test_remote_ref_is_refused_when_saved_and_never_fetched_when_checked(schema_server, where):
    url = f"{schema_server}/schema.json"
    schema = {
        "top": {"$ref": url},
        "nested": {"type": "object", "properties": {"total": {"$ref": url}}},
        "id-relative": {"$id": f"{schema_server}/base/", "properties": {"total": {"$ref": "schema.json"}}},
    }[where]
    assertion = {"path": "", "condition": {"kind": "json_schema_valid", "schema": schema}}
    if where != "id-relative":  # a relative $ref is refused too, but by its text, not the URL
        with pytest.raises(AssertionDefinitionError, match="only references inside the schema"):
            validate_assertions([assertion])
    # Stored some other way (an old row, a direct database write): checking never fetches it.
    result = evaluate_assertion(assertion, {"total": 5})
    assert result.outcome == BLOCKED
    assert _Counter.hits == []


def test_local_refs_still_resolve():
    schema = {"$defs": {"money": {"type": "number", "minimum": 0}}, "properties": {"total": {"$ref": "#/$defs/money"}}}
    validate_assertions([{"path": "", "condition": {"kind": "json_schema_valid", "schema": schema}}])
    condition = {"kind": "json_schema_valid", "schema": schema}
    assert evaluate_assertion({"path": "", "condition": condition}, {"total": 5}).outcome == PASSED
    assert evaluate_assertion({"path": "", "condition": condition}, {"total": -5}).outcome == FAILED
