"""Counts by estimate cell (rate period, stratum, inclusion rate) of automations, whether they
sample by risk (runs/strata.py) or not (then only the default rate's cells), from the daily
rollups alone on whole days: RunDayCount and ReviewTally (rated, passed) give every sampled run
of a day, StratumDayCount and ReviewTally's stratum cells (srated, spassed) the runs a stratum
took; the default rate's runs are the difference. Only the partial days at a rate change or the
window's edges read runs (docs/estimates.md#strata)."""

from collections import Counter
from datetime import date

from insights.periods import edge_counts, period_counts
from review.models import ReviewTally
from runs.models import RunDayCount, StratumDayCount
from runs.sql import values_over

DEFAULT = ("", 0)  # the default rate's cell: its rate is the period's
SAMPLED, REVIEWED, PASSED = "s", "r", "p"
Kind = ReviewTally.Kind
_TALLY = {Kind.RATED: (None, REVIEWED), Kind.PASSED: (None, PASSED),
          Kind.CELL_RATED: (True, REVIEWED), Kind.CELL_PASSED: (True, PASSED)}


def _cell(path: str) -> tuple[str, int]:
    rate, _, stratum = path.partition("|")
    return stratum, int(rate)


class DayRollups:
    """The daily run rollups (RunDayCount, StratumDayCount; sampled runs and the rest) of some
    automations over the local days [first, last], read once: the sampling page's traffic, its
    strata's traffic and the estimates' whole days all come from these two reads."""

    def __init__(self, ids: list[int], first: date, last: date):
        self.ids, self.first, self.last = set(ids), first, last
        self.runs = values_over("day rollup", lambda first, last, *ids: (
            RunDayCount.objects.filter(automation_id__in=ids, day__gte=first, day__lte=last)
            .values_list("automation_id", "day", "sampled", "count")), ids, first, last)
        self.strata = values_over("stratum day rollup", lambda first, last, *ids: (
            StratumDayCount.objects.filter(automation_id__in=ids, day__gte=first, day__lte=last)
            .values_list("automation_id", "day", "sampled", "stratum", "inclusion_bp", "count")), ids, first, last)

    def covers(self, ids, first: date, last: date) -> bool:
        return self.ids.issuperset(ids) and self.first <= first and last <= self.last

    def traffic(self, since: date) -> dict[int, tuple[int, int]]:
        """{automation_id: (runs, sampled runs)} recorded since the day `since`."""
        totals: dict[int, tuple[int, int]] = {pk: (0, 0) for pk in self.ids}
        for pk, day, sampled, n in self.runs:
            if day >= since:
                runs, taken = totals[pk]
                totals[pk] = (runs + n, taken + (n if sampled else 0))
        return totals

    def stratum_traffic(self, since: date) -> dict[tuple[int, str], int]:
        """{(automation_id, stratum): runs recorded since the day `since`} ("" the default rate's):
        each automation's runs of those days less what each stratum took."""
        traffic: Counter = Counter({(pk, ""): runs for pk, (runs, _) in self.traffic(since).items()})
        for pk, day, _, stratum, _, n in self.strata:
            if day >= since:
                traffic[(pk, stratum)] += n
                traffic[(pk, "")] -= n
        return dict(traffic)

    def day_rows(self, ids, first: date, last: date):
        """cell_counts' whole days, one Counter per automation and day: the day's sampled runs,
        what each stratum took and the reviews' tallies (read here), for days these rollups cover.
        (A Counter per rollup row cost 3 ms a page in Counter arithmetic.)"""
        wanted, per_day = set(ids), {}

        def bump(a, day, cell: tuple[str, int] | None, what: str, n: int) -> None:
            """n runs of the day's total (cell None) or of a stratum's cell, which the day's
            total counts too (so they leave the default rate's cell)."""
            counter = per_day.get((a, day))
            if counter is None:
                counter = per_day[(a, day)] = Counter()
            counter[(*DEFAULT, what)] += -n if cell else n
            if cell:
                counter[(*cell, what)] += n

        for a, day, sampled, n in self.runs:
            if sampled and a in wanted and first <= day <= last:
                bump(a, day, None, SAMPLED, n)
        for a, day, sampled, stratum, rate, n in self.strata:
            if sampled and a in wanted and first <= day <= last:
                bump(a, day, (stratum, rate), SAMPLED, n)
        tallies = values_over("estimate tallies", lambda first, last, *ids: (
            ReviewTally.objects.filter(kind__in=list(_TALLY), automation_id__in=ids, sampled=True,
                                       day__gte=first, day__lte=last)
            .values_list("automation_id", "day", "kind", "path", "count")), ids, first, last)
        for a, day, kind, path, n in tallies:
            in_cell, what = _TALLY[kind]
            bump(a, day, _cell(path) if in_cell else None, what, n)
        for (a, day), counter in per_day.items():
            yield a, day, counter


def _edge_rows(partials):
    for row_slot, stratum, rate, sampled, reviewed, passed in edge_counts(partials, "stratum", "inclusion_bp"):
        cell = (stratum, rate) if stratum else DEFAULT
        yield row_slot, Counter({(*cell, SAMPLED): sampled, (*cell, REVIEWED): reviewed, (*cell, PASSED): passed})


def cell_counts(periods: dict[int, list[tuple]], rollups: DayRollups | None = None) -> dict[int, dict[tuple, tuple]]:
    """{automation_id: {(period, stratum, rate_bp): (sampled, reviewed, passed)}} for the
    periods (insights.stats.rate_periods) of each automation: a handful of rollup queries (the
    daily run rollups from `rollups` when given and covering them) and one over the runs of
    partial days."""
    def day_rows(ids, first: date, last: date):
        read = rollups if rollups is not None and rollups.covers(ids, first, last) else DayRollups(ids, first, last)
        yield from read.day_rows(ids, first, last)

    counts = period_counts(periods, day_rows=day_rows, edge_rows=_edge_rows)
    result: dict[int, dict[tuple, tuple]] = {pk: {} for pk in periods}
    for (pk, index), counter in counts.items():
        period_rate = periods[pk][index][2]
        cells: dict[tuple, list] = {}
        for (stratum, rate, what), n in counter.items():
            values = cells.setdefault((index, stratum, rate or period_rate), [0, 0, 0])
            values[(SAMPLED, REVIEWED, PASSED).index(what)] += n
        # The rollups and the runs can disagree for a moment (a run recorded between the
        # queries): never fewer sampled than reviewed, never below zero.
        result[pk].update({cell: (max(s, r, 0), max(r, 0), max(p, 0)) for cell, (s, r, p) in cells.items()})
    return result
