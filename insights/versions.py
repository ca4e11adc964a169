"""The backlog page's per-version estimates of one automation, from the per-version rollup
(runs.models.VersionHourCount: sampled, reviewed and passed runs per hour of creation, version,
stratum and inclusion rate) instead of a month of its sampled runs: at 1 M runs the scan made the
page 17-28x the bare page. An hour a rate change splits (and the edges of a window that does not
start or end on an hour) is read from its runs: at most an hour of runs per change."""

from insights.estimates import Estimate
from insights.periods import hour_counts, run_counts, whole_hours
from insights.stats import _estimate, rate_periods
from runs.models import Automation, rate_schedules


def _add(counts: dict, version: str, cell: tuple, values: tuple) -> None:
    cells = counts.setdefault(version, {})
    old = cells.get(cell, (0, 0, 0))
    cells[cell] = tuple(a + b for a, b in zip(old, values, strict=True))


def _rollup_cells(automation: Automation, periods: list[tuple], counts: dict) -> list[tuple]:
    """Add the whole hours of each rate period from the rollup (one query); returns the partial
    hours left for the runs, as (period index, low, high)."""
    spans, partials = _hour_spans(periods)
    if spans:
        _add_rollup_rows(automation, periods, spans, counts)
    return partials


def _hour_spans(periods: list[tuple]) -> tuple[dict, list[tuple]]:
    """The whole hours of each rate period, {period index: (first hour, end)}, and the parts of an
    hour at their ends, [(period index, low, high)]."""
    spans, partials = {}, []
    for index, (low, high, _) in enumerate(periods):
        hours, edges = whole_hours(low, high)
        if hours:
            spans[index] = hours
        partials += [(index, a, b) for a, b in edges]
    return spans, partials


def _add_rollup_rows(automation: Automation, periods: list[tuple], spans: dict, counts: dict) -> None:
    """Add the rollup's counts of the hours in `spans` to `counts`, by version and cell: summed by
    rate period in the database, a few dozen rows, not one per hour (insights.periods.hour_counts)."""
    hours = [(automation.pk, index, a, b) for index, (a, b) in spans.items()]
    for index, version, stratum, rate, *values in hour_counts(hours, "version", "stratum", "inclusion_bp"):
        _add(counts, version, (index, stratum, rate or periods[index][2]), tuple(values))


def _edge_cells(periods: list[tuple], partials: list[tuple], counts: dict) -> None:
    """Add the parts of an hour from their sampled runs (one grouped query; each run's review
    looked up by its unique run_id, as insights.periods does for the same hours)."""
    for row_slot, version, stratum, rate, *values in run_counts(partials, "version", "stratum", "inclusion_bp"):
        index = partials[row_slot][1]
        _add(counts, version or "", (index, stratum, rate or periods[index][2]), tuple(values))


def version_estimates(automation: Automation, *, start, end) -> list[tuple[str | None, Estimate]]:
    """The weighted estimate of each version of one automation seen in [start, end), newest
    version name last (versions sort as text; runs without a version last). Two queries (the
    rate schedule, the rollup), a third when a rate change or the window splits an hour."""
    periods = rate_periods(rate_schedules([automation])[automation.pk], start, end)
    counts: dict[str, dict[tuple, tuple]] = {}
    partials = _rollup_cells(automation, periods, counts)
    if partials:
        _edge_cells(periods, [(automation.pk, index, low, high) for index, low, high in partials], counts)
    versions = sorted(counts, key=lambda v: (v == "", v))
    return [(v or None, _estimate(counts[v])) for v in versions]
