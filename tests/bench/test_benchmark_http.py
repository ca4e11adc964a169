"""`manage.py benchmark` over HTTP: its own gunicorn on a free loopback port against a seeded
database file, the bare page interleaved with each case; ratios, SQL counts, ingest rates."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.once  # runs in the SQLite pass only (tests/conftest.py)

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_serves_over_http_and_prints_ratios_sql_counts_and_ingest_rates(tmp_path):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "LOUPE_CACHE"))},
           "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": f"sqlite:///{tmp_path / 'bench.sqlite3'}",
           "LOUPE_VAR_DIR": str(tmp_path), "LOUPE_BENCH_TOOLS": "1"}
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=ROOT, check=True, timeout=300)
    subprocess.run([*manage, "seed_runs", "--runs", "400", "--seed", "1", "-v0"], env=env, cwd=ROOT, check=True,
                   timeout=300)
    done = subprocess.run([*manage, "benchmark", "--repeat", "2", "--ingest-batches", "1", "--import-runs", "500",
                           "--inbox-tasks", "60,300"],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert re.search(r"gunicorn, 1 sync worker, http://127\.0\.0\.1:\d+; sqlite3; 400 runs", out)
    lines = {line[:50].strip(): line for line in out.splitlines()}
    for case in ("bare page, one indexed 50-row query", "queue, one automation, sampled", "review pane",
                 "save verdict + note (htmx)", "save a correction (htmx)", "promote (htmx)", "backlog page",
                 "sampling page"):
        ratio, sql = re.search(r"([\d.]+)x\s+(\d+)$", lines[case]).groups()
        assert float(ratio) > 0 and int(sql) >= 1, lines[case]
    assert lines["bare page, one indexed 50-row query"].split()[-2] == "1.00x"
    for case in ("waiting inbox, 60 pending tasks", "waiting inbox, 300 pending tasks",
                 "waiting nav count, 300 pending"):
        ratio, sql = re.search(r"([\d.]+)x\s+(\d+)$", lines[case]).groups()
        assert float(ratio) > 0 and int(sql) >= 1, lines[case]
    assert re.search(r"waiting inbox, 300 pending tasks .* 4$", out, re.M)  # the pinned budget, at scale
    assert re.search(r"ingest API, 1 batches of 1,000 new runs: median [\d,]+ runs/s", out)
    assert re.search(r"import_runs, 500 runs from a JSON Lines file: [\d,]+ runs/s", out)
