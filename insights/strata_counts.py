"""Counts by estimate cell (rate period, stratum, inclusion rate) for automations that sample by
risk (runs/strata.py), from the daily rollups alone on whole days: RunDayCount and ReviewTally
(rated, passed) give every sampled run of a day, StratumDayCount and ReviewTally's stratum cells
(srated, spassed) the runs a stratum took; the default rate's runs are the difference. Only the
partial days at a rate change or the window's edges read runs (docs/estimates.md#strata)."""

from collections import Counter
from datetime import date

from django.db.models import Sum

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


def _day_rows(ids, first: date, last: date):
    days = {"automation_id__in": ids, "sampled": True, "day__gte": first, "day__lte": last}
    for a, day, n in RunDayCount.objects.filter(**days).values_list("automation_id", "day", "count"):
        yield a, day, Counter({(*DEFAULT, SAMPLED): n})
    for a, day, stratum, rate, n in (StratumDayCount.objects.filter(**days)
                                     .values_list("automation_id", "day", "stratum", "inclusion_bp", "count")):
        yield a, day, _moves((stratum, rate), SAMPLED, n)
    tallies = ReviewTally.objects.filter(kind__in=list(_TALLY), **days).values_list("automation_id", "day", "kind",
                                                                                     "path", "count")
    for a, day, kind, path, n in tallies:
        in_cell, what = _TALLY[kind]
        yield a, day, _moves(_cell(path), what, n) if in_cell else Counter({(*DEFAULT, what): n})


def _edge_rows(partials):
    for row_slot, stratum, rate, sampled, reviewed, passed in edge_counts(partials, "stratum", "inclusion_bp"):
        cell = (stratum, rate) if stratum else DEFAULT
        yield row_slot, Counter({(*cell, SAMPLED): sampled, (*cell, REVIEWED): reviewed, (*cell, PASSED): passed})


def cell_counts(periods: dict[int, list[tuple]]) -> dict[int, dict[tuple, tuple]]:
    """{automation_id: {(period, stratum, rate_bp): (sampled, reviewed, passed)}} for the
    periods (insights.stats.rate_periods) of each automation: a handful of rollup queries and
    one over the runs of partial days."""
    counts = period_counts(periods, day_rows=_day_rows, edge_rows=_edge_rows, width=0)
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


def stratum_traffic(ids: list[int], since: date, totals: dict[int, int]) -> dict[tuple[int, str], int]:
    """{(automation_id, stratum): runs recorded since the day `since`} ("" the default rate's):
    the automations' `totals` of those days (RunDayCount, which the caller read) less what
    StratumDayCount gives each stratum (one grouped query)."""
    traffic: Counter = Counter({(pk, ""): totals.get(pk, 0) for pk in ids})
    for row in (StratumDayCount.objects.filter(automation_id__in=ids, day__gte=since).order_by()
                .values("automation_id", "stratum").annotate(n=Sum("count"))):
        traffic[(row["automation_id"], row["stratum"])] += row["n"]
        traffic[(row["automation_id"], "")] -= row["n"]
    return dict(traffic)
