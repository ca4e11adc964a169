"""/healthz (web/health.py): 200 or 503 with JSON, one SQL statement, no secrets, no sign-in."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage
from django.db import connection

from tests.services import s3_bucket, s3_endpoint  # noqa: F401 (fixture)
from web import health

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("LOUPE_TEST_REDIS_URL", "redis://127.0.0.1:6379/10")


@pytest.fixture
def redis_url():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("LOUPE_REQUIRE_REDIS") == "1":
            pytest.fail(f"LOUPE_REQUIRE_REDIS=1 but Redis at {REDIS_URL} does not answer: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} does not answer ({exc})")
    return REDIS_URL


def _redis_cache(url):
    return {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url,
                        "KEY_PREFIX": "loupe-health-test", "OPTIONS": {"socket_connect_timeout": 1}}}


@pytest.mark.django_db
def test_healthy_is_200_json_signed_out_with_one_sql_statement(client, django_assert_num_queries):
    with django_assert_num_queries(1):
        answer = client.get("/healthz")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/json"
    body = answer.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "storage"}  # no replica configured: omitted
    assert all(check["ok"] and check["ms"] >= 0 for check in body["checks"].values())
    assert "no-cache" in answer["Cache-Control"] and answer["x-request-id"].startswith("req_")


@pytest.mark.django_db
def test_a_shared_redis_cache_is_checked(client, settings, redis_url):
    settings.CACHES = _redis_cache(redis_url)
    answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.json()["checks"]["cache"]["ok"] is True


@pytest.mark.django_db
def test_a_cache_that_does_not_answer_is_503_naming_it_without_its_address(client, settings):
    settings.CACHES = _redis_cache("redis://:hunter2-secret@127.0.0.1:1/0")  # nothing listens on port 1
    answer = client.get("/healthz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "fail" and body["checks"]["cache"] == {
        "ok": False, "error": "ConnectionError", "ms": body["checks"]["cache"]["ms"]}
    assert body["checks"]["database"]["ok"] and body["checks"]["storage"]["ok"]
    assert "hunter2" not in answer.content.decode() and "127.0.0.1" not in answer.content.decode()


@pytest.mark.django_db
def test_a_file_folder_that_cannot_be_written_is_503(client, settings, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings.MEDIA_ROOT = str(blocker / "media")
    answer = client.get("/healthz")
    assert answer.status_code == 503 and answer.json()["checks"]["storage"]["ok"] is False


def test_a_file_folder_not_made_yet_is_fine_when_its_parent_is_writable(tmp_path):
    assert health.storage_check(FileSystemStorage(location=tmp_path / "not" / "yet")) == {}


def test_s3_storage_is_checked_with_a_head_of_the_bucket(s3_endpoint):  # noqa: F811
    from storages.backends.s3 import S3Storage

    options = {"endpoint_url": s3_endpoint, "region_name": "us-east-1", "access_key": "loupe-test",
               "secret_key": "loupe-test", "addressing_style": "path"}
    assert health.storage_check(S3Storage(bucket_name=s3_bucket(s3_endpoint, "loupe-health"), **options)) == {}
    with pytest.raises(Exception, match="404|Not Found|NoSuchBucket"):
        health.storage_check(S3Storage(bucket_name="loupe-no-such-bucket", **options))


@pytest.mark.django_db
def test_a_database_that_does_not_answer_fails_its_check():
    """A second connection to a database that cannot be opened (a SQLite file in a missing
    folder, or a PostgreSQL port nobody listens on), through the same check."""
    from django.db import connections

    broken = dict(connections.settings["default"])
    if connection.vendor == "postgresql":
        broken.update(PORT="1", HOST="127.0.0.1")
    else:
        broken.update(NAME="/nonexistent-folder/loupe.sqlite3")
    connections.settings["broken"] = broken
    try:
        with pytest.raises(Exception, match="connect|open"):
            health.database_check("broken")
    finally:
        connections["broken"].close()
        del connections.settings["broken"]


def _healthz_in_a_process(**env) -> tuple[int, dict]:
    """/healthz answered by a fresh Loupe process configured by `env` (settings are read at start)."""
    code = ("from django.test import Client; import json; a = Client().get('/healthz'); "
            "print(json.dumps([a.status_code, a.json()]))")
    done = subprocess.run([sys.executable, str(ROOT / "manage.py"), "shell", "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env})
    assert done.returncode == 0, done.stderr
    status, body = json.loads(done.stdout.strip().splitlines()[-1])
    return status, body


@pytest.mark.django_db
def test_replica_lag_is_shown_and_checked_when_a_replica_is_configured(tmp_path):
    """LOUPE_DATABASE_REPLICA_URL adds the replica check with its lag. The query works whether or
    not the server is in recovery (the primary used as a stand-in here reports 0); a replica that
    does not answer fails its check, and the node answers 200 "degraded"."""
    if connection.vendor != "postgresql":
        pytest.skip("replica lag is read on PostgreSQL")
    url = os.environ["DATABASE_URL"]
    env = {"DATABASE_URL": url, "LOUPE_VAR_DIR": str(tmp_path)}
    status, body = _healthz_in_a_process(**env, LOUPE_DATABASE_REPLICA_URL=url)
    assert status == 200 and body["checks"]["replica"]["ok"] is True and body["checks"]["replica"]["lagSeconds"] == 0.0
    status, body = _healthz_in_a_process(**env, LOUPE_DATABASE_REPLICA_URL="postgres://postgres:s3cret@127.0.0.1:1/none")
    # The node still serves (its reads go to the primary, config/replicas.py): 200, "degraded".
    assert status == 200 and body["status"] == "degraded" and body["checks"]["database"]["ok"]
    assert body["checks"]["replica"]["ok"] is False and body["checks"]["replica"]["error"] == "OperationalError"
    assert "s3cret" not in json.dumps(body)
    assert health.replica_lag_seconds("default") == 0.0


def test_healthz_answers_only_get(client):
    assert client.post("/healthz").status_code == 405


def test_concurrent_cache_checks_sharing_one_cache_do_not_fail_each_other(monkeypatch):
    """Several processes and nodes check one Redis at once: both threads store their value, then
    both read back; each must find its own (one shared key made one of them fail)."""
    import threading

    from django.core.cache import cache

    both_stored = threading.Barrier(2, timeout=10)

    class SharedCache:  # the process's cache; reading waits until both threads have stored
        set = staticmethod(cache.set)

        @staticmethod
        def get(key, *args, **kwargs):
            both_stored.wait()
            return cache.get(key, *args, **kwargs)

    monkeypatch.setattr(health, "cache", SharedCache)
    results = []
    threads = [threading.Thread(target=lambda: results.append(health._run("cache", health.cache_check)["ok"]))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert results == [True, True]
