"""Read replicas (config/replicas.py) against a real streaming replica started here: a primary
cluster made with initdb and a replica copied from it with `pg_basebackup -R` (tests/clusters.py),
Loupe served by gunicorn with LOUPE_DATABASE_REPLICA_URL. Replay on the replica is paused, so a
read from it is provably stale; the writer's own reads are fresh for the read-your-writes window,
then go back to the replica."""

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from django.db import transaction

from bench.http import gunicorn_start, gunicorn_stop, wait_until_serving
from config import replicas
from tests.clusters import database_from_template, pg_clusters, port  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[2]
AUTOMATION = "workflows.replica-check"
WINDOW = 2.0  # LOUPE_READ_YOUR_WRITES_SECONDS of the server under test
SETUP = """
import json
from django.contrib.auth.models import Group, User
from accounts.models import ApiKey
from runs.services import automation_ensure
automation_ensure(kind="workflow", slug="replica-check", rate_bp=10_000)
keys = {}
for name, roles in (("ann", ("ops", "reviewer")), ("bob", ("reviewer",))):
    user = User.objects.create_user(name, password="pw")
    user.groups.add(*[Group.objects.get_or_create(name=role)[0] for role in roles])
    keys[name] = ApiKey.issue(user=user, name="t")[1]
print(json.dumps(keys))
"""


@pytest.fixture(scope="module")
def site(pg_clusters, tmp_path_factory):  # noqa: F811
    """(clusters, base URL, API keys by user) with gunicorn reading the replica."""
    clusters, server = pg_clusters, None
    try:
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("LOUPE_CACHE", "DATABASE_", "LOUPE_DB_"))},
               "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": database_from_template(clusters, "loupe"),
               "LOUPE_DATABASE_REPLICA_URL": clusters.replica.url("loupe"),
               "LOUPE_VAR_DIR": str(tmp_path_factory.mktemp("replica")), "LOUPE_READ_YOUR_WRITES_SECONDS": str(WINDOW)}
        made = subprocess.run([sys.executable, str(ROOT / "manage.py"), "shell", "-c", SETUP], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=120, check=True)
        keys = json.loads(made.stdout.strip().splitlines()[-1])
        clusters.wait_replayed()
        server, url = gunicorn_start(workers=1, threads=4, env=env, port=port())
        wait_until_serving(server, f"{url}/healthz")
        yield clusters, url, keys
    finally:
        gunicorn_stop(server)


def _signed_in(url: str, name: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=20)
    page = client.get("/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    assert client.post("/accounts/login/", data={"username": name, "password": "pw",
                                                 "csrfmiddlewaretoken": token}).status_code == 302
    return client


def _api(url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=20, headers={"Authorization": f"Bearer {key}"})


def _in_queue(client: httpx.Client, run_id: str) -> tuple[bool, str]:
    page = client.get(f"/queue/?automation={AUTOMATION}&chip=unreviewed")
    assert page.status_code == 200
    return f"/runs/{run_id}/" in page.text, page.headers["x-loupe-reads"]


@pytest.mark.once
@pytest.mark.postgres
def test_reads_go_to_the_replica_and_the_writer_reads_its_own_writes_for_the_window(site):
    clusters, url, keys = site
    ann_api, bob_api = _api(url, keys["ann"]), _api(url, keys["bob"])
    ann_pages, bob_pages = _signed_in(url, "ann"), _signed_in(url, "bob")
    time.sleep(WINDOW + 0.2)  # signing in is a write: its window passes first
    assert bob_api.get("/api/v1/automations").headers["x-loupe-reads"] == "replica"

    clusters.replica.sql("SELECT pg_wal_replay_pause()")
    try:
        run_id = f"run_replica_{uuid.uuid4().hex[:8]}"
        written = ann_api.post("/api/v1/ingest/runs", json={
            "id": run_id, "automation": AUTOMATION, "status": "completed", "input": {"n": 1}, "output": {"n": 2}})
        assert written.status_code == 200 and written.json()["created"] == [run_id], written.text

        # The writer, through the same key and in their browser: the primary, so the run is there.
        mine = ann_api.get(f"/api/v1/runs/{run_id}")
        assert (mine.status_code, mine.headers["x-loupe-reads"]) == (200, "primary")
        assert _in_queue(ann_pages, run_id) == (True, "primary")
        # Everyone else reads the replica, which has not replayed the write: stale, provably from there.
        other = bob_api.get(f"/api/v1/runs/{run_id}")
        assert (other.status_code, other.headers["x-loupe-reads"]) == (404, "replica")
        assert _in_queue(bob_pages, run_id) == (False, "replica")
        # The lag shows on /healthz once the replica has received the write it does not replay
        # (web/health.py reads 0 while what it received is replayed; streaming takes a moment
        # on a busy machine).
        deadline = time.monotonic() + 10
        while (health := httpx.get(f"{url}/healthz").json()["checks"]["replica"])["lagSeconds"] == 0:
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert health["ok"] is True and health["lagSeconds"] > 0

        time.sleep(WINDOW + 0.3)  # the window ends: the writer reads the (stale) replica again
        expired = ann_api.get(f"/api/v1/runs/{run_id}")
        assert (expired.status_code, expired.headers["x-loupe-reads"]) == (404, "replica")
        assert _in_queue(ann_pages, run_id) == (False, "replica")
        # Pages outside the replica paths (the review pane) read the primary whoever asks.
        pane = bob_pages.get(f"/runs/{run_id}/")
        assert (pane.status_code, pane.headers["x-loupe-reads"]) == (200, "primary")
    finally:
        clusters.replica.sql("SELECT pg_wal_replay_resume()")
    clusters.wait_replayed()
    assert bob_api.get(f"/api/v1/runs/{run_id}").status_code == 200  # replayed: the replica has it now
    for client in (ann_api, bob_api, ann_pages, bob_pages):
        client.close()


@pytest.mark.once
@pytest.mark.postgres
def test_a_lagging_replica_is_left_alone_and_shown_on_the_health_check(site, tmp_path):
    """A process with LOUPE_REPLICA_MAX_LAG_SECONDS=0.5 while replay is paused and the primary has
    written since: /healthz answers 200 "degraded" with the replica check failed (no address or
    user shown, one SQL statement on each database), and reads stay on the primary."""
    clusters, url, _keys = site
    clusters.replica.sql("SELECT pg_wal_replay_pause()")
    try:
        clusters.primary.sql("CREATE TABLE lag_probe (x int); INSERT INTO lag_probe VALUES (1)", "loupe")
        time.sleep(1.0)
        code = ("from django.test import Client; from django.test.utils import CaptureQueriesContext as C; "
                "from django.db import connections as c; import json\n"
                "with C(c['default']) as p, C(c['replica']) as r: a = Client().get('/healthz')\n"
                "counts = [len(p), len(r)]\n"  # before the next request resets the query logs
                "reads = Client().get('/api/v1/automations')['x-loupe-reads']\n"
                "print(json.dumps([a.status_code, a.json(), *counts, reads]))")
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("LOUPE_CACHE", "DATABASE_"))},
               "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": clusters.primary.url("loupe"),
               "LOUPE_DATABASE_REPLICA_URL": clusters.replica.url("loupe"), "LOUPE_VAR_DIR": str(tmp_path),
               "LOUPE_REPLICA_MAX_LAG_SECONDS": "0.5"}
        done = subprocess.run([sys.executable, str(ROOT / "manage.py"), "shell", "-c", code], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        status, body, primary_queries, replica_queries, reads = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        clusters.replica.sql("SELECT pg_wal_replay_resume()")
        clusters.primary.sql("DROP TABLE lag_probe", "loupe")
    assert status == 200 and body["status"] == "degraded"  # the node serves: its reads go to the primary
    assert body["checks"]["replica"] == {"ok": False, "error": "HealthError", "ms": body["checks"]["replica"]["ms"]}
    assert reads == "primary"  # an API read, which would go to the replica, stays on the primary
    assert body["checks"]["database"]["ok"] and str(clusters.replica.port) not in json.dumps(body)
    assert (primary_queries, replica_queries) == (1, 1)  # cheap: one statement on each database


# --- The router's rules, without a server --------------------------------------------------------

class _Model:
    class _meta:  # noqa: N801 - the shape of a model's _meta the router reads
        app_label = "runs"


class _Auth:
    class _meta:  # noqa: N801
        app_label = "auth"


def _routed(replica_ok: bool, model=_Model) -> str:
    token = replicas._STATE.set(replicas.ReadState(replica_ok=replica_ok))
    try:
        return replicas.ReplicaRouter().db_for_read(model)
    finally:
        replicas._STATE.reset(token)


def test_reads_of_an_allowed_request_go_to_the_replica_but_never_identity_or_outside_requests():
    router = replicas.ReplicaRouter()
    assert _routed(True) == "replica" and _routed(False) == "default"
    assert _routed(True, _Auth) == "default"  # sessions, users, API keys: always the primary
    assert router.db_for_read(_Model) == "default"  # no request (commands, workers): the primary


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_reads_go_to_the_primary_and_a_write_ends_replica_reads():
    with transaction.atomic():
        assert _routed(True) == "default"
    state = replicas.ReadState(replica_ok=True)
    token = replicas._STATE.set(state)
    try:
        assert replicas.ReplicaRouter().db_for_write(_Model) == "default"
        assert state.wrote and replicas.ReplicaRouter().db_for_read(_Model) == "default"
    finally:
        replicas._STATE.reset(token)


def test_migrations_run_on_the_primary_only():
    router = replicas.ReplicaRouter()
    assert router.allow_migrate("default", "runs") is True and router.allow_migrate("replica", "runs") is False
