"""`manage.py loadtest_claims` over real HTTP on PostgreSQL, with reviewers who ignore claims
(a stale tab, an API client): acknowledged saves are never lost (docs/rules.md#concurrent-writes)."""

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from bench.management.commands.loadtest_claims import Command

ROOT = Path(__file__).resolve().parents[2]


def test_lost_saves_are_acknowledged_saves_from_one_version_or_without_audit(db):
    saves = [("r1", "a", "note a", 3), ("r1", "b", "note b", 3), ("r2", "a", "note c", 1)]
    # Two acknowledged saves from version 3 of r1: one replaced the other; none has an audit event.
    assert Command.lost_stale(saves) == 1 + 3


@pytest.mark.skipif(connection.vendor != "postgresql", reason="claims and row locks under load need PostgreSQL")
def test_reviewers_ignoring_claims_lose_no_acknowledged_save(tmp_path):
    params = connection.settings_dict
    name = f"loupe_loadtest_{uuid.uuid4().hex[:8]}"
    admin = f"host={params['HOST'] or '127.0.0.1'} port={params['PORT'] or 5432} user={params['USER']} dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:  # migrated: a copy of the test databases' template
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{params["TEST"]["TEMPLATE"]}"')
    try:
        url = f"postgres://{params['USER']}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{name}"
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "LOUPE_CACHE"))},
               "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": url, "LOUPE_VAR_DIR": str(tmp_path), "LOUPE_BENCH_TOOLS": "1"}
        manage = [sys.executable, str(ROOT / "manage.py")]
        done = subprocess.run([*manage, "loadtest_claims", "--reviewers", "2", "--stale", "4", "--seconds", "6",
                               "--runs", "40", "--workers", "2", "--threads", "2"],
                              env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        out = done.stdout
        acknowledged = int(re.search(r"claim-ignoring saves acknowledged: (\d+)", out).group(1))
        assert acknowledged > 0, out
        assert "on the runs they saved, acknowledged saves lost or overwritten: 0" in out, out
        assert "lost or overwritten saves: 0\n" in out, out
        assert "server errors (5xx): 0" in out, out
        assert "reviewer errors" not in out, out
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
