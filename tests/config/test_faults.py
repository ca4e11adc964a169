"""Fault settings of config/settings.py: database connections are health-checked before a
request reuses them, and a Redis cache has short socket timeouts."""

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test.client import RequestFactory

from accounts.models import ApiKey

ROOT = Path(__file__).resolve().parents[2]


def _wsgi_get(path: str, headers: dict) -> tuple[int, bytes]:
    """One request through Django's WSGI handler as a server calls it: request_started and
    request_finished fire with close_old_connections connected (the test client leaves it out)."""
    environ = RequestFactory()._base_environ(PATH_INFO=path, REQUEST_METHOD="GET", **headers)
    status = []
    response = WSGIHandler()(environ, lambda s, h, exc_info=None: status.append(s))
    body = b"".join(response)
    response.close()
    return int(status[0].split()[0]), body


def test_connections_are_health_checked():
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_dropped_costs_no_request(reviewer):
    if connection.vendor != "postgresql":
        pytest.skip("pg_terminate_backend needs PostgreSQL: run with DATABASE_URL=postgres://...")
    if not connection.settings_dict.get("CONN_MAX_AGE"):
        pytest.skip("connections are not kept between requests (DB_CONN_MAX_AGE=0)")
    _, raw = ApiKey.issue(user=reviewer, name="health")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert _wsgi_get("/api/v1/auth/check", headers)[0] == 200
    backend_pid = connection.connection.info.backend_pid  # the kept connection, still open
    params = connection.get_connection_params()
    with psycopg.connect(host=params.get("host"), port=params.get("port"), user=params.get("user"),
                         dbname=params["dbname"], password=params.get("password"), autocommit=True) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [backend_pid]).fetchone()[0] is True
    status, body = _wsgi_get("/api/v1/auth/check", headers)
    assert status == 200, body[:300]
    assert connection.connection.info.backend_pid != backend_pid  # a new connection served it


@pytest.mark.once  # a subprocess with its own settings: the SQLite pass only
def test_redis_cache_calls_are_bounded_by_short_socket_timeouts(tmp_path):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("LOUPE_CACHE", "DJANGO_SETTINGS"))},
           "LOUPE_CACHE_URL": "redis://127.0.0.1:1/0", "SECRET_KEY": "x" * 50, "LOUPE_VAR_DIR": str(tmp_path)}
    code = "from django.conf import settings; import json; print(json.dumps(settings.CACHES['default']['OPTIONS']))"
    out = subprocess.run([sys.executable, "-c", "import django, os; os.environ['DJANGO_SETTINGS_MODULE']="
                          "'config.settings'; django.setup(); " + code], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=60, check=True)
    options = json.loads(out.stdout.strip().splitlines()[-1])
    assert 0 < options["socket_timeout"] <= 1 and 0 < options["socket_connect_timeout"] <= 1
