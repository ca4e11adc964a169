"""`benchmark --databases`: figures of several databases printed side by side (bench/compare.py)."""

from bench.compare import side_by_side

PANE = "open a run: the pane and the fragments it loads"


def test_each_figure_is_one_line_with_one_column_per_database():
    small = {"runs": 1_000_000, "reviews": 100_000, PANE: {"median": 80.0, "ratio": 1.8, "sql": 6},
             "ingest API, new runs/s": 6200.0, "sizes": {"runs_run": [1_700_000_000, 660_000_000]}}
    large = {"runs": 10_000_000, "reviews": 1_000_000, PANE: {"median": 90.0, "ratio": 1.9, "sql": 6},
             "ingest API, new runs/s": 5100.0, "sizes": {"runs_run": [17_000_000_000, 6_600_000_000]}}
    lines = side_by_side([small, large])
    assert "1,000,000 runs" in lines[0] and "10,000,000 runs" in lines[0]
    [pane] = [line for line in lines if line.startswith(PANE)]
    assert "1.80x (80 ms)" in pane and "1.90x (90 ms)" in pane
    [ingest] = [line for line in lines if line.startswith("ingest API")]
    assert "6,200" in ingest and "5,100" in ingest
    [sizes] = [line for line in lines if line.startswith("runs_run")]
    assert "1,621 MB + 629 MB" in sizes and "16,212 MB + 6,294 MB" in sizes
    [queue] = [line for line in lines if line.startswith("queue, one automation")]
    assert queue.split()[-2:] == ["-", "-"]  # not measured: shown as such, not as zero


def test_a_page_with_fragments_shows_its_own_ratio_first():
    sampling = {"median": 40.0, "ratio": 3.6, "sql": 14, "requests": 2, "first_ratio": 2.5}
    lines = side_by_side([{"runs": 1, "sampling page": sampling}])
    [line] = [line for line in lines if line.startswith("sampling page")]
    assert "2.50x / 3.60x (40 ms)" in line
