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


def test_the_benchmark_serves_over_http_and_prints_ratios_sql_counts_and_ingest_rates(tmp_path, migrated_sqlite):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "LOUPE_CACHE"))},
           "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": f"sqlite:///{tmp_path / 'bench.sqlite3'}",
           "LOUPE_VAR_DIR": str(tmp_path), "LOUPE_BENCH_TOOLS": "1"}
    manage = [sys.executable, str(ROOT / "manage.py")]
    migrated_sqlite(tmp_path / "bench.sqlite3")
    subprocess.run([*manage, "seed_runs", "--runs", "400", "--seed", "1", "-v0"], env=env, cwd=ROOT, check=True,
                   timeout=300)
    done = subprocess.run([*manage, "benchmark", "--repeat", "2", "--ingest-batches", "1", "--import-runs", "500",
                           "--inbox-tasks", "60,300", "--dataset-review", "50"],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert re.search(r"gunicorn, 1 sync worker, http://127\.0\.0\.1:\d+; sqlite3; 400 runs", out)
    lines = {line[:50].strip(): line for line in out.splitlines()}
    parsed = {}
    for case in ("bare page, one indexed 50-row query", "queue, one automation, sampled",
                 "open a run: the pane and the fragments it loads", "save verdict + note (htmx)",
                 "save a correction (htmx)", "promote (htmx)", "backlog page", "sampling page", "calibration page",
                 "dataset reviews inbox", "dataset review item page", "waiting inbox, 60 pending tasks", "waiting inbox, 300 pending tasks",
                 "waiting nav count, 300 pending"):
        found = re.search(r"([\d.]+)x\s+(\d+)\s+(\d+)(?:\s+([\d.]+)x\s+(\d+))?$", lines[case])
        assert found, lines[case]
        ratio, sql, requests = float(found[1]), int(found[2]), int(found[3])
        assert ratio > 0 and sql >= 1 and requests >= 1, lines[case]
        parsed[case] = requests, found[4]
    assert lines["bare page, one indexed 50-row query"].split()[-3] == "1.00x"
    # Opening a run is the pane and the fragments it loads (at least the scores), the first
    # request's own ratio beside; a save is one request: the loaded fragments stay (hx-preserve).
    opened = parsed["open a run: the pane and the fragments it loads"]
    assert opened[0] >= 2 and opened[1] is not None, opened
    assert parsed["save verdict + note (htmx)"] == (1, None) and parsed["save a correction (htmx)"] == (1, None)
    # The inbox's pinned budget, at scale: the page alone (the first request of its case).
    inbox = re.search(r"waiting inbox, 300 pending tasks .*?(\d+)$", out, re.M)
    assert inbox and inbox[1] == "4", inbox
    assert re.search(r"ingest API, 1 batches of 1,000 new runs: median [\d,]+ runs/s", out)
    assert re.search(r"import_runs, 500 runs from a JSON Lines file: [\d,]+ runs/s", out)
