"""LOUPE_DB_POOL (config/settings.py, docs/deploy.md#connection-pool): psycopg's pool through
Django's settings. Forty requests' worth of queries from eight threads of one process share at
most the pool's connections; without the pool, closing a connection really closes it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
CODE = """
import json
from concurrent.futures import ThreadPoolExecutor
from django.db import connection

def query(_):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    connection.close()  # the end of a request: back to the pool, or closed
    return pid

with ThreadPoolExecutor(8) as pool:
    pids = set(pool.map(query, range(40)))
print(json.dumps([connection.settings_dict["OPTIONS"].get("pool"), len(pids)]))
"""


def _backends(tmp_path, pool: str) -> tuple[dict | None, int]:
    params = connection.settings_dict
    url = f"postgres://{params['USER']}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{params['NAME']}"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "LOUPE_DB_"))},
           "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": url, "LOUPE_VAR_DIR": str(tmp_path),
           "LOUPE_DB_POOL": pool}
    done = subprocess.run([sys.executable, str(ROOT / "manage.py"), "shell", "-c", CODE], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    options, count = json.loads(done.stdout.strip().splitlines()[-1])
    return options, count


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the connection pool is PostgreSQL's (psycopg)")
@pytest.mark.postgres
@pytest.mark.django_db
def test_the_pool_bounds_the_connections_of_a_process(tmp_path):
    options, pooled = _backends(tmp_path, "3")
    assert options == {"min_size": 2, "max_size": 3, "timeout": 10} and 1 <= pooled <= 3
    options, unpooled = _backends(tmp_path, "0")
    assert options is None and unpooled > 3
