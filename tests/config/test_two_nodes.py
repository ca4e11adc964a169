"""Two nodes, one dies (`manage.py loadtest_nodes`, docs/deploy.md#two-nodes): two gunicorns behind
a real HAProxy, sharing a PostgreSQL started here (tests/clusters.py), Redis and moto's S3 server;
six reviewers work for ten seconds while one node is killed with SIGKILL and restarted. Nothing
acknowledged is lost, no run is worked twice, sessions survive, every upload is served by both
nodes, and only requests in flight on the dead node fail (and are retried).

Needs the PostgreSQL server programs, HAProxy and Redis (LOUPE_TEST_REDIS_URL): skipped with the
reason where one is missing, a failure with LOUPE_REQUIRE_POSTGRES=1 (CI)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.clusters import database_from_template, haproxy, pg_clusters, port, unavailable  # noqa: F401 (fixture)
from tests.services import s3_endpoint  # noqa: F401 (fixture)

pytestmark = [pytest.mark.once, pytest.mark.postgres]  # its own PostgreSQL: the SQLite pass runs it (tests/conftest.py)

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("LOUPE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        unavailable(f"Redis at {REDIS_URL} does not answer ({exc})")
    return REDIS_URL


def _ports() -> str:
    """The first of four consecutive ports when LOUPE_TEST_PORT_BASE is set; else 0 (free ports)."""
    if not os.environ.get("LOUPE_TEST_PORT_BASE"):
        return "0"
    first = port()
    for _ in range(3):
        port()
    return str(first)


def test_one_node_killed_and_restarted_loses_nothing(pg_clusters, s3_endpoint, tmp_path):  # noqa: F811
    haproxy()
    redis_url = _redis()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("LOUPE_CACHE", "DATABASE_", "LOUPE_DB_"))},
           "DJANGO_SETTINGS_MODULE": "config.settings", "LOUPE_BENCH_TOOLS": "1", "LOUPE_VAR_DIR": str(tmp_path),
           "DATABASE_URL": database_from_template(pg_clusters, "loupe_two_nodes")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "loadtest_nodes", "--reviewers", "6", "--seconds", "10",
         "--runs", "200", "--workers", "2", "--threads", "2", "--kill-at", "3", "--down-for", "2",
         "--redis-url", redis_url, "--s3-endpoint", s3_endpoint, "--port-base", _ports()],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=240)
    out = done.stdout
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search(r"node killed \(SIGKILL .*\) at [\d.]+ s, serving again at [\d.]+ s", out), out
    saves = int(re.search(r"^saves (\d+)", out, re.M).group(1))
    assert saves >= 6, out  # the reviewers got work done, across the kill
    assert "runs worked by two at once: 0" in out and "lost or overwritten saves: 0\n" in out, out
    assert "server errors (5xx): 0" in out and "reviewer errors" not in out, out  # only the balancer's 502s, retried
    assert "given up: 0" in out and "sessions lost: 0" in out, out
    assert "of them outside the node's death and return: 0;" in out, out  # only the dead node's requests failed
    uploads, same = map(int, re.search(r"uploads acknowledged (\d+); the same bytes from both nodes: (\d+)", out).groups())
    assert uploads > 0 and same == uploads, out
