"""Numbers behind the sampling page: traffic, the pass rate of the traffic estimated from the
reviewed sample (weighted by the sampling rate in effect, with its interval: docs/estimates.md),
and the step-down suggestion (15 % → 5 % → off). `wilson_interval` stays for the per-day chart
and the reviews-health API."""

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Case, Count, F, IntegerField, Q, Sum, Value, When, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from insights.estimates import Estimate, Stratum, weighted_pass_rate
from review.models import Review
from runs.chips import Rating
from runs.models import Automation, Run, RunDayCount, SamplingRateChange, rate_schedules
from runs.sampling import BUCKETS, RateSchedule

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
class SamplingStats:
    runs_recent: int = 0  # runs created in the last TRAFFIC_DAYS
    sampled_recent: int | None = 0  # None: not known (the upstream's health does not say)
    from_upstream: bool = False  # figures from an upstream API's review health (proxy mode)
    passed: int = 0  # reviewed sampled runs of the last PASS_RATE_DAYS that passed
    rated: int = 0  # ... that have a rating at all
    interval: Interval | None = None  # of the weighted estimate (Clopper-Pearson, effective n)
    suggestion_bp: int | None = None
    estimate: Estimate | None = None

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
    traffic = (
        RunDayCount.objects.filter(automation_id__in=ids, day__gte=first_day)
        .order_by().values("automation_id")
        .annotate(n=Sum("count"), sampled=Sum("count", filter=Q(sampled=True)))
    )
    for row in traffic:
        stats[row["automation_id"]].runs_recent = row["n"]
        stats[row["automation_id"]].sampled_recent = row["sampled"] or 0  # SUM of no rows is NULL
    estimates = pass_rate_estimates(automations, start=now - timedelta(days=PASS_RATE_DAYS), end=now)
    for automation in automations:
        item = stats[automation.pk]
        item.estimate = estimate = estimates[automation.pk]
        item.rated, item.passed = estimate.reviewed, estimate.passed
        item.interval = None if estimate.low is None else Interval(estimate.low, estimate.high)
        item.suggestion_bp = step_down_suggestion(
            rate_bp=automation.sampling_rate_bp, interval=item.interval, threshold=automation.step_down_threshold
        )
    return stats


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
    """Sampled, reviewed and passed runs per (automation, [version,] rate period): one grouped
    query over the sampled runs of the window (the run_queue index)."""
    schedules = rate_schedules(automations)
    periods = {a.pk: rate_periods(schedules[a.pk], start, end) for a in automations}
    whens = [When(Q(automation_id=pk, created_at__gte=low, created_at__lt=high), then=Value(index))
             for pk, rows in periods.items() for index, (low, high, _) in enumerate(rows)]
    counts: dict[tuple, dict[int, tuple]] = {}
    if not whens:
        return periods, counts
    runs = Run.objects.filter(automation_id__in=list(periods), sampled=True, created_at__gte=start, created_at__lt=end)
    if version is not None:
        runs = runs.filter(version=version)
    keys = ("automation_id", "version", "period") if by_version else ("automation_id", "period")
    rows = (runs.annotate(period=Case(*whens, default=Value(-1), output_field=IntegerField()))
            .order_by().values(*keys)
            .annotate(sampled_n=Count("pk"), reviewed_n=Count("pk", filter=Q(review__rating__isnull=False)),
                      passed_n=Count("pk", filter=Q(review__rating=Rating.PASS))))
    for row in rows:
        key = (row["automation_id"], row["version"]) if by_version else (row["automation_id"],)
        counts.setdefault(key, {})[row["period"]] = (row["sampled_n"], row["reviewed_n"], row["passed_n"])
    return periods, counts


def _estimate(rows: list[tuple], counts: dict[int, tuple]) -> Estimate:
    strata = []
    for index, (_, _, rate) in enumerate(rows):
        sampled, reviewed, passed = counts.get(index, (0, 0, 0))
        # A rate of 0 samples nothing; a sampled run there predates a history edit: skip it.
        if sampled and rate > 0:
            strata.append(Stratum(rate, sampled, reviewed, passed))
    return weighted_pass_rate(strata)


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _whole_days(low: datetime, high: datetime) -> tuple[tuple[date, date] | None, list[tuple[datetime, datetime]]]:
    """[low, high) as a run of whole local days (first, last) plus the partial days at its edges."""
    first = timezone.localdate(low)
    if _day_start(first) < low:
        first += timedelta(days=1)
    end_day = timezone.localdate(high)
    last = end_day - timedelta(days=1)
    if first > last:
        return None, [(low, high)]
    partials = []
    if low < _day_start(first):
        partials.append((low, _day_start(first)))
    if _day_start(end_day) < high:
        partials.append((_day_start(end_day), high))
    return (first, last), partials


def _sampled_counts(periods: dict[int, list[tuple]]) -> dict[tuple[int, int], int]:
    """Sampled runs per (automation, period) from the daily rollup for whole days, and from the
    run_queue index only for the partial days at the edges (rate changes, the window's ends):
    two small queries where counting a month of sampled runs took 80 ms at 500k runs."""
    spans, partials = {}, []
    for pk, rows in periods.items():
        for index, (low, high, _) in enumerate(rows):
            days, edges = _whole_days(low, high)
            if days:
                spans[(pk, index)] = days
            partials += [(pk, index, a, b) for a, b in edges]
    counts: dict[tuple[int, int], int] = {}
    if spans:
        first, last = min(d[0] for d in spans.values()), max(d[1] for d in spans.values())
        rollup = (RunDayCount.objects.filter(automation_id__in=list(periods), sampled=True, day__gte=first, day__lte=last)
                  .values_list("automation_id", "day", "count"))
        for automation_id, day, count in rollup:
            for (pk, index), (a, b) in spans.items():
                if pk == automation_id and a <= day <= b:
                    counts[(pk, index)] = counts.get((pk, index), 0) + count
    if partials:
        whens = [When(Q(automation_id=pk, created_at__gte=a, created_at__lt=b), then=Value(slot))
                 for slot, (pk, _, a, b) in enumerate(partials)]
        edge_filter = Q()
        for pk, _, a, b in partials:
            edge_filter |= Q(automation_id=pk, created_at__gte=a, created_at__lt=b)
        rows = (Run.objects.filter(edge_filter, sampled=True)
                .annotate(slot=Case(*whens, default=Value(-1), output_field=IntegerField()))
                .order_by().values("slot").annotate(n=Count("pk")))
        for row in rows:
            if row["slot"] >= 0:
                pk, index, _, _ = partials[row["slot"]]
                counts[(pk, index)] = counts.get((pk, index), 0) + row["n"]
    return counts


def pass_rate_estimates(automations: list[Automation], *, start, end, version: str | None = None,
                        ) -> dict[int, Estimate]:
    """The weighted pass-rate estimate of each automation's runs created in [start, end) (and of
    one version, when given), weighted by insights.estimates.

    Without a version: four small queries (rate schedules, the daily rollup, the partial days,
    the reviews); the rollup has no version, so with one the sampled runs are counted (two)."""
    if version is not None:
        periods, counts = _stratum_counts(automations, start=start, end=end, version=version, by_version=False)
        return {pk: _estimate(rows, counts.get((pk,), {})) for pk, rows in periods.items()}
    schedules = rate_schedules(automations)
    periods = {a.pk: rate_periods(schedules[a.pk], start, end) for a in automations}
    sampled = _sampled_counts(periods)
    whens = [When(Q(run__automation_id=pk, run__created_at__gte=low, run__created_at__lt=high), then=Value(index))
             for pk, rows in periods.items() for index, (low, high, _) in enumerate(rows)]
    verdicts: dict[tuple[int, int], tuple[int, int]] = {}
    if whens:
        rows = (Review.objects.filter(run__automation_id__in=list(periods), run__sampled=True, rating__isnull=False,
                                      run__created_at__gte=start, run__created_at__lt=end)
                .annotate(period=Case(*whens, default=Value(-1), output_field=IntegerField()))
                .order_by().values("run__automation_id", "period")
                .annotate(reviewed_n=Count("pk"), passed_n=Count("pk", filter=Q(rating=Rating.PASS))))
        verdicts = {(r["run__automation_id"], r["period"]): (r["reviewed_n"], r["passed_n"]) for r in rows}
    result = {}
    for pk, rows in periods.items():
        counts = {index: (sampled.get((pk, index), 0), *verdicts.get((pk, index), (0, 0))) for index in range(len(rows))}
        # The rollup and the runs can disagree for a moment (a run recorded between the queries):
        # never fewer sampled than reviewed.
        counts = {i: (max(s, r), r, p) for i, (s, r, p) in counts.items()}
        result[pk] = _estimate(rows, counts)
    return result


def version_estimates(automation: Automation, *, start, end) -> list[tuple[str | None, Estimate]]:
    """The weighted estimate of each version of one automation seen in the window, newest
    version name last (versions sort as text). Two queries."""
    periods, counts = _stratum_counts([automation], start=start, end=end, version=None, by_version=True)
    versions = sorted((key[1] for key in counts), key=lambda v: (v is None, v or ""))
    return [(v, _estimate(periods[automation.pk], counts[(automation.pk, v)])) for v in versions]


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
