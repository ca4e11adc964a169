"""Numbers behind the sampling page: traffic, the pass rate of the reviewed sample with
its Wilson interval, and the step-down suggestion (15 % → 5 % → off)."""

import math
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, F, Q, Sum, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from review.models import Review
from runs.chips import Rating
from runs.models import Automation, RunDayCount, SamplingRateChange
from runs.sampling import BUCKETS

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
    interval: Interval | None = None
    suggestion_bp: int | None = None

    @property
    def runs_per_day(self) -> float:
        return self.runs_recent / TRAFFIC_DAYS

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.rated if self.rated else None


def sampling_stats(automations: list[Automation], now=None) -> dict[int, SamplingStats]:
    """Stats for these automations in two grouped queries, whatever their number."""
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
    verdicts = (
        Review.objects.filter(run__automation_id__in=ids, run__sampled=True, rating__isnull=False,
                              run__created_at__gte=now - timedelta(days=PASS_RATE_DAYS))
        .order_by().values("run__automation_id")
        .annotate(n=Count("pk"), passed=Count("pk", filter=Q(rating=Rating.PASS)))
    )
    for row in verdicts:
        stats[row["run__automation_id"]].rated, stats[row["run__automation_id"]].passed = row["n"], row["passed"]
    for automation in automations:
        item = stats[automation.pk]
        item.interval = wilson_interval(item.passed, item.rated)
        item.suggestion_bp = step_down_suggestion(
            rate_bp=automation.sampling_rate_bp, interval=item.interval, threshold=automation.step_down_threshold
        )
    return stats


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
