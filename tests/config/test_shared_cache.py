"""LOUPE_CACHE_URL: two gunicorn worker processes share the API rate limit through Redis.

Needs Redis at LOUPE_TEST_REDIS_URL (default redis://127.0.0.1:6379/0): skipped with the reason
where none answers, a failure when LOUPE_REQUIRE_REDIS=1 (CI starts one)."""

import os
import secrets
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.services import free_port, stop, wait_for_http

pytestmark = pytest.mark.once  # runs in the SQLite pass only (tests/conftest.py)

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("LOUPE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
LIMIT = 12


@pytest.fixture(scope="module")
def redis_url():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("LOUPE_REQUIRE_REDIS") == "1":
            pytest.fail(f"LOUPE_REQUIRE_REDIS=1 but Redis at {REDIS_URL} does not answer: {exc}")
        pytest.skip(f"Shared-cache tests skipped: Redis at {REDIS_URL} does not answer ({exc})")
    return REDIS_URL


@pytest.fixture(scope="module")
def site(tmp_path_factory, migrated_sqlite):
    """A migrated SQLite database with an ops user's API key, for servers started by the tests."""
    folder = tmp_path_factory.mktemp("shared-cache")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("LOUPE_CACHE", "DATABASE_"))},
           "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
           "LOUPE_VAR_DIR": str(folder), "LOUPE_API_RATE_LIMIT": str(LIMIT)}
    manage = [sys.executable, str(ROOT / "manage.py")]
    migrated_sqlite(folder / "db.sqlite3")
    made = subprocess.run([*manage, "shell", "-c",
                           "from django.contrib.auth.models import User; from accounts.models import ApiKey; "
                           "print(ApiKey.issue(user=User.objects.create_user('ops-bot'), name='t')[1])"],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    return folder, env, made.stdout.strip().splitlines()[-1]


def _hammer(site, extra_env: dict) -> tuple[list[int], set[str]]:
    """Start gunicorn with two sync workers, send 3 x LIMIT concurrent API requests; the status
    codes and the worker pids that answered (from gunicorn's access log)."""
    folder, env, key = site
    port, log = free_port(), folder / f"access-{secrets.token_hex(3)}.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--workers", "2", "--bind",
         f"127.0.0.1:{port}", "--access-logfile", str(log), "--access-logformat", "%(p)s %(s)s"],
        env={**env, **extra_env}, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/api/v1/automations"
        wait_for_http(url, process=server)
        if time.time() % 60 > 45:  # the limit counts per clock minute: start the burst inside one
            time.sleep(60 - time.time() % 60 + 0.5)
        started_minute = int(time.time() // 60)

        def call(_):
            with httpx.Client(timeout=20) as client:  # a connection of its own: any worker may take it
                return client.get(url, headers={"Authorization": f"Bearer {key}"}).status_code

        with ThreadPoolExecutor(max_workers=6) as pool:
            statuses = list(pool.map(call, range(3 * LIMIT)))
        assert int(time.time() // 60) == started_minute, "the burst crossed a minute boundary; run again"
    finally:
        stop(server)
    pids = {line.split()[0] for line in log.read_text().splitlines() if line.strip()}
    return statuses, pids


def test_two_workers_share_the_rate_limit_through_redis(site, redis_url):
    statuses, pids = _hammer(site, {"LOUPE_CACHE_URL": redis_url,
                                    "LOUPE_CACHE_KEY_PREFIX": f"loupe-test-{secrets.token_hex(4)}"})
    assert len(pids) == 2, "both workers answered requests"
    assert (statuses.count(200), statuses.count(429)) == (LIMIT, 2 * LIMIT)


def test_without_a_shared_cache_each_worker_counts_alone(site):
    statuses, pids = _hammer(site, {})
    assert len(pids) == 2
    assert statuses.count(200) > LIMIT
