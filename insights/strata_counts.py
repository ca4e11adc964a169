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

DEFAULT = ("", 0)  # the default rate's cell: its rate is the period's
SAMPLED, REVIEWED, PASSED = "s", "r", "p"
Kind = ReviewTally.Kind
_TALLY = {Kind.RATED: (None, REVIEWED), Kind.PASSED: (None, PASSED),
          Kind.CELL_RATED: (True, REVIEWED), Kind.CELL_PASSED: (True, PASSED)}


def _cell(path: str) -> tuple[str, int]:
    rate, _, stratum = path.partition("|")
    return stratum, int(rate)


def _moves(cell: tuple[str, int], what: str, n: int) -> Counter:
    """n runs of a stratum's cell, taken from the day's total (which counts them too)."""
    return Counter({(*cell, what): n, (*DEFAULT, what): -n})


class DayRollups:
    """The daily run rollups (RunDayCount, StratumDayCount; sampled runs and the rest) of some
    automations over the local days [first, last], read once: the sampling page's traffic, its
    strata's traffic and the estimates' whole days all come from these two reads."""

    def __init__(self, ids: list[int], first: date, last: date):
        self.ids, self.first, self.last = set(ids), first, last
        days = {"automation_id__in": ids, "day__gte": first, "day__lte": last}
        self.runs = list(RunDayCount.objects.filter(**days).values_list("automation_id", "day", "sampled", "count"))
        self.strata = list(StratumDayCount.objects.filter(**days)
                           .values_list("automation_id", "day", "sampled", "stratum", "inclusion_bp", "count"))

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
        """cell_counts' whole days: the sampled runs of each day, what each stratum took and the
        reviews' tallies (read here), for days these rollups cover."""
        wanted = set(ids)
        for a, day, sampled, n in self.runs:
            if sampled and a in wanted and first <= day <= last:
                yield a, day, Counter({(*DEFAULT, SAMPLED): n})
        for a, day, sampled, stratum, rate, n in self.strata:
            if sampled and a in wanted and first <= day <= last:
                yield a, day, _moves((stratum, rate), SAMPLED, n)
        tallies = (ReviewTally.objects.filter(kind__in=list(_TALLY), automation_id__in=ids, sampled=True,
                                              day__gte=first, day__lte=last)
                   .values_list("automation_id", "day", "kind", "path", "count"))
        for a, day, kind, path, n in tallies:
            in_cell, what = _TALLY[kind]
            yield a, day, _moves(_cell(path), what, n) if in_cell else Counter({(*DEFAULT, what): n})


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

    counts = period_counts(periods, day_rows=day_rows, edge_rows=_edge_rows, width=0)
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
