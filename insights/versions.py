"""The backlog page's per-version estimates of one automation, from the per-version rollup
(runs.models.VersionHourCount: sampled, reviewed and passed runs per hour of creation, version,
stratum and inclusion rate) instead of a month of its sampled runs: at 1 M runs the scan made the
page 17-28x the bare page. An hour a rate change splits (and the edges of a window that does not
start or end on an hour) is read from its runs: at most an hour of runs per change."""

from datetime import datetime, timedelta

from django.db.models import Case, Count, IntegerField, OuterRef, Subquery, Sum, Value, When

from insights.estimates import Estimate
from insights.periods import edge_slots
from insights.stats import _estimate, rate_periods
from review.models import Review
from runs.chips import estimate_verdict
from runs.counters import run_hour
from runs.models import Automation, Run, VersionHourCount, rate_schedules

Kind = VersionHourCount.Kind
HOUR = timedelta(hours=1)


def _add(counts: dict, version: str, cell: tuple, values: tuple) -> None:
    cells = counts.setdefault(version, {})
    old = cells.get(cell, (0, 0, 0))
    cells[cell] = tuple(a + b for a, b in zip(old, values, strict=True))


def _whole_hours(low: datetime, high: datetime) -> tuple[tuple[datetime, datetime] | None, list[tuple]]:
    """[low, high) as whole UTC hours [first, end) plus the partial hours at its edges."""
    first = run_hour(low)
    if first < low:
        first += HOUR
    end = run_hour(high)
    if first >= end:
        return None, [(low, high)]
    edges = [(low, first)] if low < first else []
    if end < high:
        edges.append((end, high))
    return (first, end), edges


def _rollup_cells(automation: Automation, periods: list[tuple], counts: dict) -> list[tuple]:
    """Add the whole hours of each rate period from the rollup (one query); returns the partial
    hours left for the runs, as (period index, low, high)."""
    spans, partials = {}, []
    for index, (low, high, _) in enumerate(periods):
        hours, edges = _whole_hours(low, high)
        if hours:
            spans[index] = hours
        partials += [(index, a, b) for a, b in edges]
    if not spans:
        return partials
    first, end = min(a for a, _ in spans.values()), max(b for _, b in spans.values())
    # Summed by rate period in the database: a few dozen rows, not one per hour.
    period = Case(*[When(hour__gte=a, hour__lt=b, then=Value(i)) for i, (a, b) in spans.items()],
                  default=Value(-1), output_field=IntegerField())
    rows = (VersionHourCount.objects.filter(automation=automation, hour__gte=first, hour__lt=end)
            .annotate(period=period).order_by().values_list("period", "version", "stratum", "inclusion_bp", "kind")
            .annotate(n=Sum("count")))
    position = {Kind.SAMPLED: 0, Kind.RATED: 1, Kind.PASSED: 2}
    for index, version, stratum, rate, kind, n in rows:
        if index < 0 or not n:
            continue
        values = [0, 0, 0]
        values[position[kind]] = n
        _add(counts, version, (index, stratum, rate or periods[index][2]), tuple(values))
    return partials


def _edge_cells(automation: Automation, periods: list[tuple], partials: list[tuple], counts: dict) -> None:
    """Add the partial days from their sampled runs (one grouped query; each run's review looked
    up by its unique run_id, as insights.stats does for the same days)."""
    edge_filter, slot = edge_slots([(automation.pk, index, low, high) for index, low, high in partials])
    review = Review.objects.filter(run_id=OuterRef("pk"))
    rows = (Run.objects.filter(edge_filter, sampled=True)
            .annotate(slot=slot, rating=Subquery(review.values("rating")[:1]),
                      review_status=Subquery(review.values("status")[:1]))
            .order_by().values_list("slot", "version", "stratum", "inclusion_bp", "rating", "review_status")
            .annotate(n=Count("pk")))
    for row_slot, version, stratum, rate, rating, status, n in rows:
        if row_slot < 0:
            continue
        index = partials[row_slot][0]
        verdict = estimate_verdict(rating, status)
        _add(counts, version or "", (index, stratum, rate or periods[index][2]),
             (n, 0 if verdict is None else n, n if verdict else 0))


def version_estimates(automation: Automation, *, start, end) -> list[tuple[str | None, Estimate]]:
    """The weighted estimate of each version of one automation seen in [start, end), newest
    version name last (versions sort as text; runs without a version last). Two queries (the
    rate schedule, the rollup), a third when a rate change or the window splits an hour."""
    periods = rate_periods(rate_schedules([automation])[automation.pk], start, end)
    counts: dict[str, dict[tuple, tuple]] = {}
    partials = _rollup_cells(automation, periods, counts)
    if partials:
        _edge_cells(automation, periods, partials, counts)
    versions = sorted(counts, key=lambda v: (v == "", v))
    return [(v or None, _estimate(counts[v])) for v in versions]
