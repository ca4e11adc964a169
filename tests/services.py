"""Real services for tests: a local S3 API (moto in server mode), free loopback ports, copies
of one migrated SQLite database for the servers and commands tests start, and the migrated
PostgreSQL template the test databases are made from.

The S3 tests use LOUPE_TEST_S3_ENDPOINT when set; otherwise they start `moto.server` on a free
loopback port. Where neither is possible they are skipped with the reason printed, except when
LOUPE_REQUIRE_S3=1 (CI), where that is a failure."""

import fcntl
import hashlib
import importlib.util
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, *, process: subprocess.Popen | None = None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args[:3]} exited with {process.returncode} before answering at {url}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"Nothing answered at {url} within {timeout:.0f} s")


def stop(process: subprocess.Popen) -> None:
    """Stop a process this test started (by its own handle, never by name)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _unavailable(reason: str):
    if os.environ.get("LOUPE_REQUIRE_S3") == "1":
        pytest.fail(f"LOUPE_REQUIRE_S3=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def s3_endpoint():
    """The URL of a real S3-compatible API for this test session."""
    given = os.environ.get("LOUPE_TEST_S3_ENDPOINT", "")
    if given:
        yield given.rstrip("/")
        return
    if importlib.util.find_spec("moto") is None or importlib.util.find_spec("flask") is None:
        _unavailable("S3 tests skipped: moto[server] is not installed and LOUPE_TEST_S3_ENDPOINT is not set "
                     "(pip install -r requirements-dev.txt)")
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(url, process=process)
        yield url
    finally:
        stop(process)


def s3_client(endpoint: str):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="loupe-test", aws_secret_access_key="loupe-test")


def s3_bucket(endpoint: str, name: str) -> str:
    """Create (or reuse) a bucket on the test S3 API."""
    client = s3_client(endpoint)
    try:
        client.create_bucket(Bucket=name)
    except client.exceptions.BucketAlreadyOwnedByYou:
        pass
    return name


def s3_keys(endpoint: str, bucket: str, prefix: str = "") -> list[str]:
    listing = s3_client(endpoint).list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def s3_env(endpoint: str, bucket: str, prefix: str) -> dict[str, str]:
    """The environment that puts Loupe's files on that S3 API."""
    return {"LOUPE_S3_BUCKET": bucket, "LOUPE_S3_ENDPOINT_URL": endpoint, "LOUPE_S3_REGION": "us-east-1",
            "LOUPE_S3_ACCESS_KEY_ID": "loupe-test", "LOUPE_S3_SECRET_ACCESS_KEY": "loupe-test",
            "LOUPE_S3_PREFIX": prefix}


ROOT = Path(__file__).resolve().parents[1]


def sqlite_copy(source: Path, target: Path) -> Path:
    """A consistent copy of a SQLite database (the backup API reads through its write-ahead log)."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return target


TEMPLATES = Path(tempfile.gettempdir()) / "loupe-test-templates"
# The key the test settings give the servers tests start (config/settings_test.py), for the
# templates' migrate when bin/test makes them outside pytest.
TEST_SECRET_KEY = os.environ.get("SECRET_KEY", "loupe-tests-only-not-a-secret-" + "x" * 30)


def migrate(database_url: str) -> None:
    """`manage.py migrate` of the database at that URL, in a process of its own with the
    production settings (what an install runs), none of this process's database or cache
    variables, and a temporary data folder."""
    with tempfile.TemporaryDirectory() as var:
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("LOUPE_CACHE", "DATABASE_", "LOUPE_DB_"))},
               "DJANGO_SETTINGS_MODULE": "config.settings", "LOUPE_VAR_DIR": var, "SECRET_KEY": TEST_SECRET_KEY,
               "DATABASE_URL": database_url}
        subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], env=env, cwd=ROOT, check=True,
                       timeout=300)


def migrated_sqlite_template(folder: Path = TEMPLATES) -> Path:
    """A SQLite file that `manage.py migrate` made, for the test databases and the subprocess
    tests to copy (sqlite_copy) instead of migrating their own: a migrate took 5 s alone and 7-10 s
    beside the other workers here. Made once for a state of the migrations (migrations_digest)
    by whichever process comes first (the others wait on a lock file), kept for later runs; a
    template of an older state is deleted when a new one is made. bin/test makes it before the
    passes, beside the PostgreSQL one."""
    folder.mkdir(parents=True, exist_ok=True)
    template = folder / f"migrated-{migrations_digest()}.sqlite3"
    with open(folder / "sqlite.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not template.exists():
            for old in folder.glob("migrated-*.sqlite3"):
                old.unlink(missing_ok=True)
            with tempfile.TemporaryDirectory(dir=folder) as building:
                migrate(f"sqlite:///{Path(building) / 'db.sqlite3'}")
                sqlite_copy(Path(building) / "db.sqlite3", Path(building) / "copy.sqlite3")
                (Path(building) / "copy.sqlite3").rename(template)
    return template


def migrations_digest() -> str:
    """Names the state the migrations make: every migration file of the project, Django's version,
    and the month (the run table's migration makes the partitions of the month it runs in)."""
    import django

    digest = hashlib.sha256(f"{django.__version__} {time.strftime('%Y-%m', time.gmtime())}".encode())
    for path in sorted(ROOT.glob("*/migrations/*.py")):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def migrated_postgres_template(params: dict) -> str:
    """The name of a database on the test server that `manage.py migrate` made, for the test
    databases to be copied from (CREATE DATABASE ... TEMPLATE; Django then finds every migration
    applied). Made once for a state of the migrations, by whichever test process comes first
    (the others wait on an advisory lock), and kept for later runs; a template of an older state
    is dropped when a new one is made. A worker's test database took 6.7 s to migrate beside the
    other workers here and 1-2 s to copy and check."""
    import psycopg

    name = f"loupe_test_template_{migrations_digest()}"
    server = {"host": params.get("HOST") or "127.0.0.1", "port": params.get("PORT") or 5432,
              "user": params.get("USER") or "postgres", "password": params.get("PASSWORD") or None}
    with psycopg.connect(dbname=params["NAME"], autocommit=True, **server) as admin:
        admin.execute("SELECT pg_advisory_lock(hashtext('loupe test template'))")
        made = {row[0] for row in admin.execute("SELECT datname FROM pg_database WHERE datname LIKE 'loupe_test_template_%'")}
        if name not in made:
            for old in made:  # older states (a template in use by another run stays)
                try:
                    admin.execute(f'DROP DATABASE "{old}"')
                except psycopg.Error:
                    pass
            partial = f"{name}_partial"
            admin.execute(f'DROP DATABASE IF EXISTS "{partial}"')  # an attempt that failed
            admin.execute(f'CREATE DATABASE "{partial}"')
            password = f":{server['password']}" if server["password"] else ""
            migrate(f"postgres://{server['user']}{password}@{server['host']}:{server['port']}/{partial}")
            admin.execute(f'ALTER DATABASE "{partial}" RENAME TO "{name}"')
    return name


if __name__ == "__main__":
    # bin/test makes the templates side by side before the passes:
    #   python -m tests.services sqlite | python -m tests.services postgres URL
    if sys.argv[1:2] == ["sqlite"]:
        print(migrated_sqlite_template())
    else:
        import dj_database_url

        print(migrated_postgres_template(dj_database_url.parse(sys.argv[2])))
