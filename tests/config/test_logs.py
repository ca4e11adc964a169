"""Logs carry the request id the API's error envelope shows; LOUPE_LOG_FORMAT=json writes JSON
lines (config/logs.py, config/middleware.py)."""

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.logs import REQUEST_ID, JsonFormatter, RequestIdFilter

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def json_lines():
    """Records of the `loupe` loggers, formatted as production formats them with LOUPE_LOG_FORMAT=json."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("loupe")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def test_a_json_line_has_time_level_logger_message_request_id_extra_fields_and_the_traceback():
    token = REQUEST_ID.set("req_abc")
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("loupe.test").makeRecord(
            "loupe.test", logging.ERROR, __file__, 1, "failed %s", ("x",), sys.exc_info(), extra={"runId": "r1"})
    RequestIdFilter().filter(record)
    REQUEST_ID.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "ERROR" and line["logger"] == "loupe.test" and line["message"] == "failed x"
    assert line["requestId"] == "req_abc" and line["runId"] == "r1" and line["time"].endswith("+00:00")
    assert "ValueError: boom" in line["exception"]
    assert REQUEST_ID.get() == ""


@pytest.mark.django_db
def test_the_api_error_envelope_and_the_log_line_carry_the_same_request_id(client, json_lines):
    answer = client.get("/api/v1/no-such-route")
    envelope_id = answer.json()["requestId"]
    assert answer.status_code == 404 and answer["x-request-id"] == envelope_id
    lines = [line for line in json_lines() if line["logger"] == "loupe.request"]
    assert lines == [{**lines[0], "requestId": envelope_id, "method": "GET", "path": "/api/v1/no-such-route",
                      "status": 404}]
    assert lines[0]["durationMs"] >= 0


@pytest.mark.django_db
def test_a_callers_request_id_is_kept_on_pages_too(client, json_lines):
    answer = client.get("/accounts/login/", headers={"X-Request-Id": "lb-42.a"})
    assert answer.status_code == 200 and answer["x-request-id"] == "lb-42.a"
    assert [line["requestId"] for line in json_lines() if line["logger"] == "loupe.request"] == ["lb-42.a"]
    # An id that is not sane is replaced, not logged as sent.
    answer = client.get("/accounts/login/", headers={"X-Request-Id": "bad id\n{}"})
    assert answer["x-request-id"].startswith("req_")


def _run(code: str, **env) -> subprocess.CompletedProcess:
    command = ["shell", "-c", code] if code else ["check"]
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), *command], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env})


def test_loupe_log_format_json_makes_every_line_json_with_the_envelopes_request_id(tmp_path):
    code = ("from django.test import Client; a = Client().get('/api/v1/no-such-route'); "
            "print(a.json()['requestId'])")
    done = _run(code, LOUPE_LOG_FORMAT="json", LOG_LEVEL="INFO", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
                LOUPE_VAR_DIR=str(tmp_path))
    assert done.returncode == 0, done.stderr
    envelope_id = done.stdout.strip().splitlines()[-1]
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    assert lines, "no log lines"
    request_lines = [line for line in lines if line["logger"] == "loupe.request"]
    assert [(line["requestId"], line["status"]) for line in request_lines] == [(envelope_id, 404)]
    # Django's own warning about the 404 is JSON with the same id.
    assert any(line["logger"] == "django.request" and line["requestId"] == envelope_id for line in lines)


def test_an_unknown_log_format_is_refused_naming_the_variable(tmp_path):
    done = _run("", LOUPE_LOG_FORMAT="xml", LOUPE_VAR_DIR=str(tmp_path))
    assert done.returncode != 0 and "LOUPE_LOG_FORMAT must be text or json" in done.stderr
