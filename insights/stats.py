"""Numbers behind the sampling page: traffic, the pass rate of the traffic estimated from the
reviewed sample (weighted by the sampling rate in effect, with its interval: docs/estimates.md),
and the step-down suggestion (15 % → 5 % → off). `wilson_interval` stays for the per-day chart
and the reviews-health API."""

import math
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.utils import timezone

from insights.estimates import Estimate, Stratum, weighted_pass_rate
from insights.queries import window_bounds
from insights.strata_counts import DayRollups, cell_counts
from runs.chips import Rating, estimate_reviewed_q
from runs.models import Automation, Run, SamplingRateChange, rate_schedules
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
    """Stats for these automations in a fixed number of grouped queries whatever their number:
    the daily run rollups of the estimate's window read once (traffic, the strata's traffic and
    the estimate's whole days: insights.strata_counts.DayRollups), and the rest of
    pass_rate_estimates."""
    now = now or timezone.now()
    ids = [a.pk for a in automations]
    stats = {pk: SamplingStats() for pk in ids}
    # Whole local days, today included (window_bounds): the daily rollups answer them. The
    # traffic's last TRAFFIC_DAYS calendar days (a handful of rollup rows, where counting a week
    # of runs took over 100 ms at a million runs) lie inside the estimate's PASS_RATE_DAYS.
    today = timezone.localdate(now)
    first_day = today - timedelta(days=TRAFFIC_DAYS - 1)
    start, end = window_bounds(today, PASS_RATE_DAYS)
    rollups = DayRollups(ids, min(first_day, timezone.localdate(start)), today)
    for pk, (runs, sampled) in rollups.traffic(first_day).items():
        stats[pk].runs_recent, stats[pk].sampled_recent = runs, sampled
    cells: dict[int, dict] = {}  # the strata's cells, counted once for the estimate and the strata table
    estimates = pass_rate_estimates(automations, start=start, end=end, cells=cells, rollups=rollups)
    for automation in automations:
        _set_estimate(stats[automation.pk], automation, estimates[automation.pk])
    risky = [a for a in automations if a.sampling_strata]
    if risky:
        traffic = rollups.stratum_traffic(first_day)
        for automation in risky:
            stats[automation.pk].strata = _automation_strata(automation, cells[automation.pk], traffic)
    return stats


def _set_estimate(item: SamplingStats, automation: Automation, estimate: Estimate) -> None:
    """Set an automation's estimate, its interval and the step-down advice on its rate."""
    item.estimate = estimate
    item.rated, item.passed = estimate.reviewed, estimate.passed
    item.interval = None if estimate.low is None else Interval(estimate.low, estimate.high)
    item.suggestion_bp = step_down_suggestion(
        rate_bp=automation.sampling_rate_bp, interval=item.interval, threshold=automation.step_down_threshold
    )


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


def pass_rate_estimates(automations: list[Automation], *, start, end, version: str | None = None,
                        cells: dict | None = None, rollups: DayRollups | None = None) -> dict[int, Estimate]:
    """The weighted pass-rate estimate of each automation's runs created in [start, end) (and of
    one version, when given), weighted by insights.estimates.

    Without a version: by cell (rate period, stratum, inclusion rate) from the daily rollups,
    the same few queries for every automation whether it samples by risk or not
    (insights.strata_counts; an automation without strata has only its default cells). The
    rollups have no version, so with one the sampled runs are counted. `rollups`: the daily run
    rollups when the caller has read them; `cells` receives the counts by cell."""
    if version is not None:
        _, counts = _stratum_counts(automations, start=start, end=end, version=version, by_version=False)
        return {a.pk: _estimate(counts.get((a.pk,), {})) for a in automations}
    counts = _cells(automations, start=start, end=end, rollups=rollups)
    if cells is not None:
        cells.update(counts)  # the caller's strata table reads them too
    return {a.pk: _estimate(counts[a.pk]) for a in automations}


def _cells(automations: list[Automation], *, start, end, rollups: DayRollups | None = None) -> dict[int, dict]:
    schedules = rate_schedules(automations)
    return cell_counts({a.pk: rate_periods(schedules[a.pk], start, end) for a in automations}, rollups)


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
    """The latest `rows` rate changes of each automation, in one plain query: the page that shows
    them reads every change of these automations for their rate schedules anyway
    (runs.models.rate_schedules), and a window function cost twice the time to compile and run
    (2.7 ms against 1.1 here) for the few rows an automation's history has."""
    changes = (SamplingRateChange.objects.filter(automation_id__in=[a.pk for a in automations])
               .select_related("changed_by").order_by("automation_id", "-effective_at", "-id"))
    history: dict[int, list[SamplingRateChange]] = {a.pk: [] for a in automations}
    for change in changes:
        if len(history[change.automation_id]) < rows:
            history[change.automation_id].append(change)
    return history
