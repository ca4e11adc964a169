"""Counting by rate period from the rollups (insights.stats, insights.strata_counts): a period's
whole local days come from a daily rollup; its partial days (a rate change inside a day, the
window's edges) from the hourly per-version rollup (runs.VersionHourCount) for their whole UTC
hours and from the sampled runs only for the parts of an hour; the longest part of a day split
by rate changes is that day's total less its other parts. Counts are Counters keyed by estimate
cell (stratum, rate, what)."""

from collections import Counter
from datetime import date, datetime, time, timedelta

from django.db.models import Case, Count, IntegerField, OuterRef, Q, Subquery, Sum, Value, When
from django.utils import timezone

from review.models import Review
from runs.chips import estimate_verdict
from runs.counters import run_hour
from runs.models import Run, VersionHourCount
from runs.sql import values_once

HOUR = timedelta(hours=1)
# Where each kind of the hourly rollup goes in a (sampled, reviewed, passed) count.
KIND_POSITION = {VersionHourCount.Kind.SAMPLED: 0, VersionHourCount.Kind.RATED: 1, VersionHourCount.Kind.PASSED: 2}


def day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def whole_days(low: datetime, high: datetime) -> tuple[tuple[date, date] | None, list[tuple[datetime, datetime]]]:
    """[low, high) as a run of whole local days (first, last) plus the partial days at its edges."""
    first = timezone.localdate(low)
    if day_start(first) < low:
        first += timedelta(days=1)
    end_day = timezone.localdate(high)
    last = end_day - timedelta(days=1)
    if first > last:
        return None, [(low, high)]
    partials = []
    if low < day_start(first):
        partials.append((low, day_start(first)))
    if day_start(end_day) < high:
        partials.append((day_start(end_day), high))
    return (first, last), partials


def whole_hours(low: datetime, high: datetime) -> tuple[tuple[datetime, datetime] | None, list[tuple]]:
    """[low, high) as whole UTC hours [first, end) plus the parts of an hour at its edges."""
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


def split_periods(periods: dict[int, list[tuple]]):
    """Each (automation, period) as its whole local days (for the daily rollups) and the partial
    days at its edges (rate changes, the window's ends), which only the source rows can answer."""
    spans, partials = {}, []
    for pk, rows in periods.items():
        for index, (low, high, _) in enumerate(rows):
            days, edges = whole_days(low, high)
            if days:
                spans[(pk, index)] = days
            partials += [(pk, index, a, b) for a, b in edges]
    return spans, partials


def derivable(partials: list[tuple]) -> dict[int, tuple[int, date]]:
    """{partial's position: (automation, day)} for the longest part of each day that the
    partials of one automation cover exactly (a rate changed during the day): that part is the
    day's rollup total less the other parts, so only the shorter parts read source rows."""
    groups: dict[tuple[int, date], list[tuple]] = {}
    for position, (pk, _, low, high) in enumerate(partials):
        groups.setdefault((pk, timezone.localdate(low)), []).append((low, high, position))
    derived = {}
    for (pk, day), parts in groups.items():
        parts.sort()
        contiguous = all(parts[k][1] == parts[k + 1][0] for k in range(len(parts) - 1))
        if contiguous and parts[0][0] == day_start(day) and parts[-1][1] == day_start(day + timedelta(days=1)):
            derived[max(parts, key=lambda part: part[1] - part[0])[2]] = (pk, day)
    return derived


def add(counts: dict, key, values: Counter, sign: int = 1) -> None:
    total = counts.setdefault(key, Counter())
    (total.update if sign > 0 else total.subtract)(values)


def period_counts(periods: dict[int, list[tuple]], *, day_rows, edge_rows) -> dict[tuple[int, int], Counter]:
    """Counts per (automation, period), each a Counter: whole days from a daily rollup,
    `day_rows(automation_ids, first, last)` yielding (automation_id, day, Counter); the partial
    days from the source rows, `edge_rows(partials)` yielding (position, Counter), and the longest
    part of a day split by rate changes as that day's total less its other parts."""
    spans, partials = split_periods(periods)
    derived = derivable(partials)
    counts: dict[tuple[int, int], Counter] = {}
    day_totals = _add_whole_days(counts, spans, derived, list(periods), day_rows)
    queried = [position for position in range(len(partials)) if position not in derived]
    by_day_read = _add_read_edges(counts, [partials[position] for position in queried], edge_rows)
    for position, key in derived.items():
        pk, index, _, _ = partials[position]
        add(counts, (pk, index), day_totals.get(key, Counter()))
        add(counts, (pk, index), by_day_read.get(key, Counter()), sign=-1)
    return counts


def _add_whole_days(counts: dict, spans: dict, derived: dict, automation_ids: list[int], day_rows) -> dict:
    """Add each period's whole days from the daily rollup to `counts`; returns the total of each
    day a rate change split (`derived`'s days), {(automation_id, day): values}."""
    days = [d for span in spans.values() for d in span] + [day for _, day in derived.values()]
    day_totals: dict[tuple[int, date], Counter] = {}
    if not days:
        return day_totals
    wanted_totals = set(derived.values())  # only the days a rate change split need their total
    by_automation: dict[int, list[tuple]] = {}
    for (pk, index), (first, last) in spans.items():
        by_automation.setdefault(pk, []).append((index, first, last))
    for automation_id, day, values in day_rows(automation_ids, min(days), max(days)):
        if (automation_id, day) in wanted_totals:
            add(day_totals, (automation_id, day), values)
        for index, first, last in by_automation.get(automation_id, ()):
            if first <= day <= last:
                add(counts, (automation_id, index), values)
    return day_totals


def _add_read_edges(counts: dict, queried: list[tuple], edge_rows) -> dict:
    """Add the partial days read from the source rows to `counts`; returns what was read per
    day, {(automation_id, local day): values}."""
    by_day_read: dict[tuple[int, date], Counter] = {}
    if not queried:
        return by_day_read
    for slot, values in edge_rows(queried):
        pk, index, low, _ = queried[slot]
        add(counts, (pk, index), values)
        add(by_day_read, (pk, timezone.localdate(low)), values)
    return by_day_read


def edge_counts(partials: list[tuple], *group: str):
    """(slot, *group, sampled, reviewed, passed) of the sampled runs of each partial day
    (automation, period, low, high), `slot` its index, `group` fields both the runs and the
    hourly rollup have (stratum, inclusion_bp): the partial's whole UTC hours summed from
    runs.VersionHourCount in the database, the parts of an hour at its ends counted from the
    runs. At ten million runs a day's sampled runs took 16 ms to count; an hour's take one."""
    hours, pieces = [], []
    for slot, (pk, _, low, high) in enumerate(partials):
        span, edges = whole_hours(low, high)
        if span:
            hours.append((pk, slot, *span))
        pieces += [(pk, slot, a, b) for a, b in edges]
    if hours:
        yield from hour_counts(hours, *group)
    if pieces:
        for row_slot, *rest, sampled, reviewed, passed in run_counts(pieces, *group):
            yield (pieces[row_slot][1], *rest, sampled, reviewed, passed)


def _bounds(spans: list[tuple]) -> list:
    """(automation, _, low, high) spans as values_once's flat values: automation, low, high each."""
    return [value for pk, _, low, high in spans for value in (pk, low, high)]


def _spans(bounds: tuple) -> list[tuple]:
    """_bounds' values (or their markers) back as (automation, None, low, high) spans."""
    return [(bounds[i], None, bounds[i + 1], bounds[i + 2]) for i in range(0, len(bounds), 3)]


def hour_counts(hours: list[tuple], *group: str):
    """(slot, *group, sampled, reviewed, passed) summed in the database from the hourly rollup
    (runs.VersionHourCount) over each span of whole hours (automation, slot, first, end); the
    query compiled once per number of spans and grouping (runs.sql.values_once)."""
    def build(*bounds):
        spans = _spans(bounds)
        slot = Case(*[When(automation_id=pk, hour__gte=a, hour__lt=b, then=Value(i))
                      for i, (pk, _, a, b) in enumerate(spans)], default=Value(-1), output_field=IntegerField())
        where = Q()
        for pk, _, a, b in spans:
            where |= Q(automation_id=pk, hour__gte=a, hour__lt=b)
        return (VersionHourCount.objects.filter(where).annotate(slot=slot).order_by()
                .values_list("slot", *group, "kind").annotate(n=Sum("count")))

    rows = values_once(f"hour counts, {len(hours)} spans by {group}", build, *_bounds(hours))
    for position, *rest, kind, n in rows:
        if position >= 0 and n:
            values = [0, 0, 0]
            values[KIND_POSITION[kind]] = n
            yield (hours[position][1], *rest, *values)


def run_counts(partials: list[tuple], *group: str):
    """(slot, *group, sampled, reviewed, passed) counted from the sampled runs of each partial
    (automation, _, low, high), `slot` its index; reviewed and passed as the estimate counts
    them (runs.chips.estimate_verdict)."""
    for row_slot, *rest, rating, status, n in edge_runs(partials, *group):
        if row_slot >= 0:
            verdict = estimate_verdict(rating, status)
            yield (row_slot, *rest, n, 0 if verdict is None else n, n if verdict else 0)


def edge_slots(partials: list[tuple]):
    """(filter, slot expression) selecting runs of the partial days, `slot` the partial's index."""
    whens = [When(Q(automation_id=pk, created_at__gte=a, created_at__lt=b), then=Value(slot))
             for slot, (pk, _, a, b) in enumerate(partials)]
    edge_filter = Q()
    for pk, _, a, b in partials:
        edge_filter |= Q(automation_id=pk, created_at__gte=a, created_at__lt=b)
    return edge_filter, Case(*whens, default=Value(-1), output_field=IntegerField())


def edge_runs(partials: list[tuple], *group: str):
    """The sampled runs of the partial days (the run_queue index) counted by (slot, *group, rating,
    review status), `slot` the partial's index (-1: none): each run's review looked up by its
    unique run_id, as a join made the planner read every review. Compiled once per number of
    partials and grouping (runs.sql.values_once)."""
    def build(*bounds):
        edge_filter, slot = edge_slots(_spans(bounds))
        review = Review.objects.filter(run_id=OuterRef("pk"))
        return (Run.objects.filter(edge_filter, sampled=True)
                .annotate(slot=slot, rating=Subquery(review.values("rating")[:1]),
                          review_status=Subquery(review.values("status")[:1]))
                .order_by().values_list("slot", *group, "rating", "review_status").annotate(n=Count("pk")))

    return values_once(f"edge runs, {len(partials)} partials by {group}", build, *_bounds(partials))
