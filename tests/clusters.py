"""PostgreSQL clusters and HAProxy started by tests (the replica and two-node tests).

A primary made with initdb on a port of its own and a streaming replica copied from it with
`pg_basebackup -R`, both under a temporary folder, stopped (by their data folder) when the tests
end. Where the PostgreSQL programs or HAProxy are missing the tests are skipped with the reason,
except with LOUPE_REQUIRE_POSTGRES=1 (CI), where that is a failure. Run as root, the server
programs run as the `postgres` user (runuser), which PostgreSQL requires.

Ports: free loopback ports, or LOUPE_TEST_PORT_BASE, LOUPE_TEST_PORT_BASE + 1, ... when set (a
machine shared by several test runs gives each its own range).
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from tests.services import free_port, migrate

_NEXT_PORT = itertools.count()


def port() -> int:
    base = os.environ.get("LOUPE_TEST_PORT_BASE", "")
    return int(base) + next(_NEXT_PORT) if base else free_port()


def unavailable(reason: str):
    if os.environ.get("LOUPE_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"LOUPE_REQUIRE_POSTGRES=1 but {reason}")
    pytest.skip(reason)


def pg_bin() -> Path:
    """The newest installed PostgreSQL's program folder (Debian: /usr/lib/postgresql/N/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path is None:
        unavailable("the PostgreSQL server programs (initdb, pg_basebackup) are not installed")
    return Path(on_path).parent


def haproxy() -> str:
    found = shutil.which("haproxy") or ("/usr/sbin/haproxy" if os.path.exists("/usr/sbin/haproxy") else None)
    if found is None:
        unavailable("HAProxy is not installed (apt-get install haproxy)")
    return found


def _as_postgres(args: list) -> list:
    return ["runuser", "-u", "postgres", "--", *map(str, args)] if os.geteuid() == 0 else list(map(str, args))


class Cluster:
    """One PostgreSQL server on 127.0.0.1:port with its data in `folder`."""

    def __init__(self, folder: Path, port: int):
        self.folder, self.port, self.bin = folder, port, pg_bin()

    def url(self, dbname: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def run(self, *args, timeout: float = 120) -> None:
        done = subprocess.run(_as_postgres([self.bin / args[0], *args[1:]]), capture_output=True, text=True,
                              timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stderr[-1500:]}")

    def start(self) -> Cluster:
        options = (f"-c port={self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.folder.parent} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=32MB "
                   "-c max_connections=150 -c wal_level=replica -c max_wal_senders=4 -c hot_standby=on")
        self.run("pg_ctl", "-D", self.folder, "-o", options, "-l", self.folder.parent / f"{self.folder.name}.log",
                 "-w", "-t", "60", "start")
        return self

    def stop(self) -> None:
        if (self.folder / "postmaster.pid").exists():
            subprocess.run(_as_postgres([self.bin / "pg_ctl", "-D", self.folder, "-m", "immediate", "-w", "stop"]),
                           capture_output=True, timeout=60)

    def sql(self, statement: str, dbname: str = "postgres"):
        with psycopg.connect(self.url(dbname), autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(statement)
            return cursor.fetchall() if cursor.description else None


class Clusters:
    """A primary and, on demand, a streaming replica of it, under one temporary folder."""

    def __init__(self):
        pg_bin()
        self.root = Path(tempfile.mkdtemp(prefix="loupe-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self.primary = Cluster(self.root / "primary", port())
        self.primary.run("initdb", "-D", self.primary.folder, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                         "--locale=C.UTF-8", "--no-sync")
        self.primary.start()
        self.replica: Cluster | None = None

    def add_replica(self) -> Cluster:
        replica = Cluster(self.root / "replica", port())
        replica.run("pg_basebackup", "-h", "127.0.0.1", "-p", self.primary.port, "-U", "postgres", "-D",
                    replica.folder, "-R", "-X", "stream", "-c", "fast", "--no-sync")
        self.replica = replica.start()
        return replica

    def wait_replayed(self, timeout: float = 30.0) -> None:
        """Until the replica has replayed everything the primary wrote so far."""
        target = self.primary.sql("SELECT pg_current_wal_insert_lsn()::text")[0][0]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.replica.sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")[0][0]:
                return
            time.sleep(0.05)
        raise RuntimeError("the replica did not catch up")

    def close(self) -> None:
        for cluster in (self.replica, self.primary):
            if cluster is not None:
                cluster.stop()
        shutil.rmtree(self.root, ignore_errors=True)


TEMPLATE = "loupe_template"


@pytest.fixture(scope="session")
def pg_clusters():
    """A primary with a streaming replica, and a migrated Loupe database `loupe_template` on it
    (made once per session; `database_from_template` copies it in a moment)."""
    clusters = Clusters()
    try:
        clusters.add_replica()
        clusters.primary.sql(f"CREATE DATABASE {TEMPLATE}")
        migrate(clusters.primary.url(TEMPLATE))
        yield clusters
    finally:
        clusters.close()


def database_from_template(clusters: Clusters, name: str) -> str:
    """A new migrated database on the primary (a copy of the template); its URL."""
    clusters.primary.sql(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    return clusters.primary.url(name)
