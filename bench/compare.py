"""`benchmark --databases URL,URL`: the same benchmark against several databases (a child
process each, DATABASE_URL set to it, figures passed back as JSON), printed side by side: each
page as its ratio to the bare page measured in the same run (and its median), ingest in runs/s,
and the run tables' sizes. What docs/scale.md's curves come from."""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from django.conf import settings

from runs.sizes import megabytes

PAGES = ("queue, one automation, sampled", "queue, all automations, all runs",
         "open a run: the pane and the fragments it loads", "backlog page",
         "backlog, one automation (per-version estimates)", "sampling page",
         "combined save: verdict, note, correction (htmx)")
RATES = ("ingest API, new runs/s", "import_runs, new runs/s")


def _measure(url: str, *, repeat: int, ingest_batches: int, import_runs: int, extra: list[str]) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        path = Path(handle.name)
    try:
        subprocess.run([sys.executable, "manage.py", "benchmark", "--repeat", str(repeat), "--ingest-batches",
                        str(ingest_batches), "--import-runs", str(import_runs), "--json", str(path), *extra],
                       cwd=settings.BASE_DIR, env={**os.environ, "DATABASE_URL": url}, check=True)
        return json.loads(path.read_text())
    finally:
        path.unlink(missing_ok=True)


def _size(figures: dict, table: str) -> str:
    heap, index = figures.get("sizes", {}).get(table, (0, 0))
    return f"{megabytes(heap)} + {megabytes(index)}"


def _page(cell: dict | None) -> str:
    """Ratio and median of all the page's requests; with fragments, first the page's own ratio."""
    if not cell:
        return "-"
    whole = f"{cell['ratio']:.2f}x ({cell['median']:.0f} ms)"
    return f"{cell['first_ratio']:.2f}x / {whole}" if cell.get("requests", 1) > 1 and "first_ratio" in cell else whole


def side_by_side(results: list[dict]) -> list[str]:
    """The lines of the comparison table, one column per database."""
    return [_line("figure", [format(r.get("runs", 0), ",") + " runs" for r in results]),
            *_page_lines(results), *_rate_lines(results),
            _line("reviews", [format(r.get("reviews", 0), ",") for r in results]),
            *_size_lines(results)]


def _page_lines(results: list[dict]) -> list[str]:
    """One row per page: its ratio and median on each database."""
    return [_line(label, [_page(r.get(label)) for r in results]) for label in PAGES]


def _rate_lines(results: list[dict]) -> list[str]:
    """One row per rate figure (RATES: runs stored per second)."""
    return [_line(label, [_rate(r, label) for r in results]) for label in RATES]


def _size_lines(results: list[dict]) -> list[str]:
    """One row per table any database reported the size of."""
    tables = sorted({table for r in results for table in r.get("sizes", {})})
    return [_line(table + " (table + indexes)", [_size(r, table) for r in results]) for table in tables]


def _line(label: str, cells: list[str], width: int = 30) -> str:
    """One row of the table: its label, then one right-aligned cell per database."""
    return f"{label:<50}" + "".join(f"{c:>{width}}" for c in cells)


def _rate(result: dict, label: str) -> str:
    """A rate figure of one database, '-' when it has none."""
    return f"{result[label]:,.0f}" if label in result else "-"


def compare_databases(out, urls: list[str], *, repeat: int, ingest_batches: int, import_runs: int,
                      extra: list[str] = ()) -> None:
    """`extra`: more arguments for each child benchmark (the inbox and dataset review sizes)."""
    results = [_measure(url, repeat=repeat, ingest_batches=ingest_batches, import_runs=import_runs, extra=list(extra))
               for url in urls]
    out.write("\nSide by side (each page: its ratio to the bare page of the same run and its median; a page that "
              "loads fragments: the page alone / with its fragments, as in the table above):")
    for line in side_by_side(results):
        out.write(line)
