"""Numbers behind the sampling page: traffic, the pass rate of the traffic estimated from the
reviewed sample (weighted by the sampling rate in effect, with its interval: docs/estimates.md),
and the step-down suggestion (15 % → 5 % → off). `wilson_interval` stays for the per-day chart
and the reviews-health API."""

import math
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Case, Count, F, IntegerField, Q, Sum, Value, When, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from insights.estimates import Estimate, Stratum, weighted_pass_rate
from insights.periods import day_start, edge_counts, period_counts
from insights.queries import window_bounds
from insights.strata_counts import cell_counts, stratum_traffic
from review.models import ReviewTally
from runs.chips import Rating, estimate_reviewed_q
from runs.models import Automation, Run, RunDayCount, SamplingRateChange, rate_schedules
from runs.sampling import BUCKETS, RateSchedule
from runs.strata import describe

TRAFFIC_DAYS = 7
PASS_RATE_DAYS = 30
HISTORY_ROWS = 10
# The rates ops steps down through once the sample keeps passing; "off" is 0.
STEP_LADDER_BP = (1500, 500, 0)
Z_95 = 1.959963984540054


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def wilson_interval(passed: int, total: int, z: float = Z_95) -> Interval | None:
    """The Wilson score interval of a proportion (95 % by default); None without data.

    Chosen over the normal approximation because it stays inside [0, 1] and behaves at
    small samples and at rates near 100 %, which is exactly where step-downs happen."""
    if total <= 0:
        return None
    if not 0 <= passed <= total:
        raise ValueError("passed must be between 0 and total")
    p = passed / total
    z2 = z * z
    centre = (p + z2 / (2 * total)) / (1 + z2 / total)
    margin = z / (1 + z2 / total) * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total))
    return Interval(low=max(0.0, centre - margin), high=min(1.0, centre + margin))


def next_step_down(rate_bp: int) -> int | None:
    """The next lower rate on the ladder: 100 % → 15 %, 15 % → 5 %, 8 % → 5 %, 5 % → off."""
    lower = [step for step in STEP_LADDER_BP if step < rate_bp]
    return max(lower) if lower else None


def step_down_suggestion(*, rate_bp: int, interval: Interval | None, threshold: float) -> int | None:
    """Suggest the next lower rate when the pass rate's lower bound clears the threshold."""
    if interval is None or interval.low < threshold:
        return None
    return next_step_down(rate_bp)


def reviews_per_day(runs_per_day: float, rate_bp: int) -> float:
    return runs_per_day * rate_bp / BUCKETS


@dataclass
class StratumRow:
    """One stratum of an automation that samples by risk (runs/strata.py), on the sampling page."""

    name: str  # "" the default rate's runs
    description: str
    rate_bp: int
    runs_recent: int = 0  # runs of the last TRAFFIC_DAYS the stratum took
    estimate: Estimate | None = None  # of the stratum's runs of the last PASS_RATE_DAYS
    suggestion_bp: int | None = None

    @property
    def label(self) -> str:
        return self.name or "everything else (default rate)"

    @property
    def reviewed_share(self) -> float | None:
        e = self.estimate
        return e.reviewed / e.sampled if e and e.sampled else None

    @property
    def runs_per_day(self) -> float:
        return self.runs_recent / TRAFFIC_DAYS


@dataclass
class SamplingStats:
    runs_recent: int = 0  # runs created in the last TRAFFIC_DAYS
    sampled_recent: int | None = 0  # None: not known (the upstream's health does not say)
    from_upstream: bool = False  # figures from an upstream API's review health (proxy mode)
    passed: int = 0  # reviewed sampled runs of the last PASS_RATE_DAYS that passed
    rated: int = 0  # ... that have a rating at all
    interval: Interval | None = None  # of the weighted estimate (Clopper-Pearson, effective n)
    suggestion_bp: int | None = None
    estimate: Estimate | None = None
    strata: list[StratumRow] | None = None  # sampling by risk: one row per stratum, default last

    @property
    def pooled_rate(self) -> float | None:
        return self.passed / self.rated if self.rated else None

    @property
    def runs_per_day(self) -> float:
        return self.runs_recent / TRAFFIC_DAYS

    @property
    def pass_rate(self) -> float | None:
        """The weighted estimate (local); the upstream's unweighted rate in proxy mode."""
        return self.estimate.estimate if self.estimate else self.pooled_rate


def sampling_stats(automations: list[Automation], now=None) -> dict[int, SamplingStats]:
    """Stats for these automations in a fixed number of grouped queries (traffic, and the four of
    pass_rate_estimates), whatever their number."""
    now = now or timezone.now()
    ids = [a.pk for a in automations]
    stats = {pk: SamplingStats() for pk in ids}
    # The last TRAFFIC_DAYS calendar days, today included, from the daily rollup (a handful of
    # rows, where counting a week of runs took over 100 ms at a million runs).
    first_day = timezone.localdate(now) - timedelta(days=TRAFFIC_DAYS - 1)
    _set_traffic(stats, ids, first_day)
    # Whole local days, today included (window_bounds): the daily rollups answer them.
    start, end = window_bounds(timezone.localdate(now), PASS_RATE_DAYS)
    cells: dict[int, dict] = {}  # the strata's cells, counted once for the estimate and the strata table
    estimates = pass_rate_estimates(automations, start=start, end=end, cells=cells)
    for automation in automations:
        _set_estimate(stats[automation.pk], automation, estimates[automation.pk])
    risky = [a for a in automations if a.sampling_strata]
    if risky:
        totals = {pk: item.runs_recent for pk, item in stats.items()}
        rows = strata_rows(risky, traffic_since=day_start(first_day), start=start, end=end, cells=cells,
                           totals=totals)
        for automation in risky:
            stats[automation.pk].strata = rows[automation.pk]
    return stats


def _set_traffic(stats: dict[int, SamplingStats], ids: list[int], first_day) -> None:
    """Set each automation's runs and sampled runs since `first_day` from the daily rollup."""
    traffic = (
        RunDayCount.objects.filter(automation_id__in=ids, day__gte=first_day)
        .order_by().values("automation_id")
        .annotate(n=Sum("count"), sampled=Sum("count", filter=Q(sampled=True)))
    )
    for row in traffic:
        stats[row["automation_id"]].runs_recent = row["n"]
        stats[row["automation_id"]].sampled_recent = row["sampled"] or 0  # SUM of no rows is NULL


def _set_estimate(item: SamplingStats, automation: Automation, estimate: Estimate) -> None:
    """Set an automation's estimate, its interval and the step-down advice on its rate."""
    item.estimate = estimate
    item.rated, item.passed = estimate.reviewed, estimate.passed
    item.interval = None if estimate.low is None else Interval(estimate.low, estimate.high)
    item.suggestion_bp = step_down_suggestion(
        rate_bp=automation.sampling_rate_bp, interval=item.interval, threshold=automation.step_down_threshold
    )


def strata_rows(automations: list[Automation], *, traffic_since, start, end, cells: dict | None = None,
                totals: dict[int, int] | None = None) -> dict[int, list[StratumRow]]:
    """Per automation that samples by risk, its current strata and the default rate's runs: the
    traffic each took since the day of `traffic_since`, the weighted estimate of its runs in
    [start, end) and step-down advice on its own rate. From the daily rollups
    (insights.strata_counts): a fixed number of small queries for all of them."""
    ids = [a.pk for a in automations]
    since = timezone.localdate(traffic_since)
    if totals is None:  # the runs of those days, when the caller has not read them
        totals = {r["automation_id"]: r["n"] for r in RunDayCount.objects.filter(automation_id__in=ids, day__gte=since)
                  .order_by().values("automation_id").annotate(n=Sum("count"))}
    traffic = stratum_traffic(ids, since, totals)
    missing = [a for a in automations if a.pk not in (cells or {})]
    counts = {**(cells or {}), **(_cells(missing, start=start, end=end) if missing else {})}
    return {a.pk: _automation_strata(a, counts.get(a.pk, {}), traffic) for a in automations}


def _automation_strata(automation: Automation, cells: dict, traffic: dict) -> list[StratumRow]:
    """One automation's strata and its default rate, each with its traffic, estimate and advice."""
    rows = [StratumRow(s["name"], describe(s["when"]), s["rate_bp"]) for s in automation.sampling_strata]
    rows.append(StratumRow("", "no stratum's condition holds", automation.sampling_rate_bp))
    for row in rows:
        row.runs_recent = traffic.get((automation.pk, row.name), 0)
        row.estimate = _estimate(cells, row.name)
        interval = None if row.estimate.low is None else Interval(row.estimate.low, row.estimate.high)
        row.suggestion_bp = step_down_suggestion(rate_bp=row.rate_bp, interval=interval,
                                                 threshold=automation.step_down_threshold)
    return rows


def rate_periods(schedule: RateSchedule, start, end) -> list[tuple]:
    """(from, to, rate_bp) of each rate period overlapping [start, end), clipped to it."""
    bounds = [(None, schedule.initial_bp), *schedule.changes]
    periods = []
    for index, (since, rate) in enumerate(bounds):
        until = bounds[index + 1][0] if index + 1 < len(bounds) else None
        low = start if since is None or since < start else since
        high = end if until is None or until > end else until
        if low < high:
            periods.append((low, high, rate))
    return periods


def _stratum_counts(automations: list[Automation], *, start, end, version: str | None, by_version: bool):
    """Sampled, reviewed and passed runs per (automation, [version,]) and cell: (rate period,
    stratum, inclusion rate) (runs/strata.py: a run stores the rate it was sampled at; runs
    recorded before that have 0 there and take their period's rate). One grouped query over the
    sampled runs of the window (the run_queue index). Returns periods and
    {key: {(period, stratum, rate_bp): (sampled, reviewed, passed)}}."""
    schedules = rate_schedules(automations)
    periods = {a.pk: rate_periods(schedules[a.pk], start, end) for a in automations}
    whens = [When(Q(automation_id=pk, created_at__gte=low, created_at__lt=high), then=Value(index))
             for pk, rows in periods.items() for index, (low, high, _) in enumerate(rows)]
    counts: dict[tuple, dict[tuple, tuple]] = {}
    if not whens:
        return periods, counts
    rows = _sampled_cell_rows(list(periods), whens, start=start, end=end, version=version, by_version=by_version)
    for row in rows:
        if row["period"] < 0:
            continue
        key = (row["automation_id"], row["version"]) if by_version else (row["automation_id"],)
        rate = row["inclusion_bp"] or periods[row["automation_id"]][row["period"]][2]
        cell = (row["period"], row["stratum"], rate)
        old = counts.setdefault(key, {}).get(cell, (0, 0, 0))
        counts[key][cell] = (old[0] + row["sampled_n"], old[1] + row["reviewed_n"], old[2] + row["passed_n"])
    return periods, counts


def _sampled_cell_rows(ids: list[int], whens: list, *, start, end, version: str | None, by_version: bool):
    """The sampled runs of [start, end) (of one version, when given) counted by automation,
    [version,] rate period (`whens`' index, -1: none), stratum and inclusion rate."""
    runs = Run.objects.filter(automation_id__in=ids, sampled=True, created_at__gte=start, created_at__lt=end)
    if version is not None:
        runs = runs.filter(version=version)
    keys = ("automation_id", "version", "period") if by_version else ("automation_id", "period")
    return (runs.annotate(period=Case(*whens, default=Value(-1), output_field=IntegerField()))
            .order_by().values(*keys, "stratum", "inclusion_bp")
            .annotate(sampled_n=Count("pk"), reviewed_n=Count("pk", filter=estimate_reviewed_q("review__")),
                      passed_n=Count("pk", filter=Q(review__rating=Rating.PASS))))


def _estimate(cells: dict[tuple, tuple], stratum: str | None = None) -> Estimate:
    """The weighted estimate over cells {(period, stratum, rate_bp): (sampled, reviewed, passed)}
    (of one stratum when given)."""
    strata = []
    for (_, name, rate), (sampled, reviewed, passed) in sorted(cells.items()):
        # A rate of 0 samples nothing; a sampled run there predates a history edit: skip it.
        if sampled and rate > 0 and (stratum is None or name == stratum):
            strata.append(Stratum(rate, max(sampled, reviewed), reviewed, passed))
    return weighted_pass_rate(strata)


def _period_cells(rows: list[tuple], counts: dict[int, tuple]) -> dict[tuple, tuple]:
    """Cells of the rollup path: one per rate period (no strata)."""
    return {(index, "", rate): counts.get(index, (0, 0, 0)) for index, (_, _, rate) in enumerate(rows)}


def _strata_counts(periods: dict[int, list[tuple]]) -> dict[tuple[int, int], tuple[int, int, int]]:
    """(sampled, reviewed, passed) runs per (automation, period): whole days from the daily
    rollups (RunDayCount's sampled runs, ReviewTally's rated and passed, by run day), the partial
    days from their sampled runs in one query. Three small queries where counting a month of
    sampled runs took 80 ms at 500k runs, and joining its reviews 140 ms at 100k reviews."""
    def day_rows(ids, first, last):
        runs = RunDayCount.objects.filter(automation_id__in=ids, sampled=True, day__gte=first, day__lte=last)
        yield from ((a, day, (count, 0, 0)) for a, day, count in runs.values_list("automation_id", "day", "count"))
        reviews = ReviewTally.objects.filter(automation_id__in=ids, sampled=True, day__gte=first, day__lte=last,
                                             kind__in=(ReviewTally.Kind.RATED, ReviewTally.Kind.PASSED))
        yield from ((a, day, (0, count, 0) if kind == ReviewTally.Kind.RATED else (0, 0, count))
                    for a, day, kind, count in reviews.values_list("automation_id", "day", "kind", "count"))

    def edge_rows(partials):
        for row_slot, *values in edge_counts(partials):
            yield row_slot, tuple(values)

    return period_counts(periods, day_rows=day_rows, edge_rows=edge_rows, width=3)


def pass_rate_estimates(automations: list[Automation], *, start, end, version: str | None = None,
                        cells: dict | None = None) -> dict[int, Estimate]:
    """The weighted pass-rate estimate of each automation's runs created in [start, end) (and of
    one version, when given), weighted by insights.estimates.

    Without a version: four small queries (rate schedules; the daily run and review rollups for
    whole days, the runs of partial days); the rollups have no version, so with one the sampled
    runs are counted (two)."""
    schedules = rate_schedules(automations)
    # The rollups have no version: with one, the sampled runs are counted by cell.
    result = {}
    if version is not None:
        _, counts = _stratum_counts(automations, start=start, end=end, version=version, by_version=False)
        return {a.pk: _estimate(counts.get((a.pk,), {})) for a in automations}
    # Automations that ever sampled by risk (runs/strata.py): by cell, from the rollups.
    risky = [a for a in automations if schedules[a.pk].has_strata]
    if risky:
        counts = _cells(risky, start=start, end=end, schedules=schedules)
        if cells is not None:
            cells.update(counts)  # the caller's strata table reads them too
        result = {a.pk: _estimate(counts[a.pk]) for a in risky}
    rest = [a for a in automations if a.pk not in result]
    if not rest:
        return result
    periods = {a.pk: rate_periods(schedules[a.pk], start, end) for a in rest}
    strata = _strata_counts(periods)
    for pk, rows in periods.items():
        counts = {index: strata.get((pk, index), (0, 0, 0)) for index in range(len(rows))}
        # The rollup and the runs can disagree for a moment (a run recorded between the queries):
        # never fewer sampled than reviewed.
        counts = {i: (max(s, r), r, p) for i, (s, r, p) in counts.items()}
        result[pk] = _estimate(_period_cells(rows, counts))
    return result


def _cells(automations: list[Automation], *, start, end, schedules=None) -> dict[int, dict[tuple, tuple]]:
    schedules = schedules or rate_schedules(automations)
    return cell_counts({a.pk: rate_periods(schedules[a.pk], start, end) for a in automations})


def stratum_estimates(automation: Automation, *, start, end) -> dict[str, Estimate]:
    """The weighted estimate of each stratum of one automation ("" the default rate's runs),
    from the daily rollups (insights.strata_counts)."""
    cells = _cells([automation], start=start, end=end)[automation.pk]
    return {name: _estimate(cells, name) for name in sorted({name for _, name, _ in cells})}


def stats_from_health(automation: Automation, health, now=None) -> SamplingStats:
    """An automation's sampling figures from the review health an upstream API reports (proxy
    mode; backends.base.ReviewHealth): traffic of the last TRAFFIC_DAYS from its day buckets,
    the pass rate of its reviewed runs with the interval it sent (Wilson, recomputed if absent).
    The upstream does not say how many of them were sampled."""
    first_day = timezone.localdate(now or timezone.now()) - timedelta(days=TRAFFIC_DAYS - 1)
    stats = SamplingStats(runs_recent=health.runs_since(first_day), sampled_recent=None,
                          passed=health.correct, rated=health.reviewed_runs, from_upstream=True)
    if health.reviewed_runs and health.low is not None and health.high is not None:
        stats.interval = Interval(low=health.low, high=health.high)
    else:
        stats.interval = wilson_interval(health.correct, health.reviewed_runs)
    stats.suggestion_bp = step_down_suggestion(rate_bp=automation.sampling_rate_bp, interval=stats.interval,
                                               threshold=automation.step_down_threshold)
    return stats


def rate_history(automations: list[Automation], rows: int = HISTORY_ROWS) -> dict[int, list[SamplingRateChange]]:
    """The latest `rows` rate changes of each automation, in one query (a window function)."""
    changes = (
        SamplingRateChange.objects.filter(automation_id__in=[a.pk for a in automations])
        .select_related("changed_by")
        .annotate(position=Window(RowNumber(), partition_by=F("automation_id"),
                                  order_by=[F("effective_at").desc(), F("id").desc()]))
        .filter(position__lte=rows)
        .order_by("automation_id", "-effective_at", "-id")
    )
    history = {a.pk: [] for a in automations}
    for change in changes:
        history[change.automation_id].append(change)
    return history
