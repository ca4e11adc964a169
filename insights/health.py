"""Review health of one automation: coverage and correctness of reviewed runs, per bucket and
over a rolling window (the reviews generation's `automations/{id}/reviews/health`,
docs/api-reviews.md).

Two small queries whatever the number of runs: run totals per day from the daily rollup
(RunDayCount) and review counts per run day from the review rollup (ReviewDayCount). With a
runs filter the rollups cannot answer, both are counted from the runs instead. Buckets and the rolling window are built from those daily
rows in Python, so nothing walks runs or reviews one by one. Days are calendar days in
settings.TIME_ZONE, as on the backlog page, whose pass-rate chart is the same arithmetic.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from insights.stats import wilson_interval
from review.models import Review, ReviewDayCount
from runs.chips import Rating
from runs.models import Automation, RunDayCount

BUCKETS = ("day", "week", "month")


@dataclass
class Counts:
    total: int = 0
    correct: int = 0
    incorrect: int = 0
    nit: int = 0

    @property
    def reviewed(self) -> int:
        return self.correct + self.incorrect

    def add(self, other: "Counts") -> None:
        self.total += other.total
        self.correct += other.correct
        self.incorrect += other.incorrect
        self.nit += other.nit

    def as_dict(self) -> dict:
        reviewed = self.reviewed
        return {
            "totalRuns": self.total,
            "reviewedRuns": reviewed,
            "reviewCoverage": reviewed / self.total if self.total else None,
            "correctReviews": self.correct,
            "incorrectReviews": self.incorrect,
            "nitReviews": self.nit,
            "reviewedCorrectness": self.correct / reviewed if reviewed else None,
        }


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def bucket_start(day: date, bucket: str) -> date:
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    return day


def _next_bucket(start: date, bucket: str) -> date:
    if bucket == "week":
        return start + timedelta(days=7)
    if bucket == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=1)


def review_health(*, automation: Automation, start: datetime, end: datetime, bucket: str = "day",
                  rolling_window: int = 100, min_rolling_reviews: int = 1, runs: QuerySet | None = None) -> dict:
    """The RunReviewHealthResponse body. `runs` narrows the runs counted (the runs-list
    filters); without it the totals come from the daily rollup."""
    first, last = timezone.localdate(start), timezone.localdate(end)
    window = (_day_start(first), _day_start(last + timedelta(days=1)))
    days: dict[date, Counts] = defaultdict(Counts)
    if runs is None:
        # Both from rollups kept with the writes: a month is a few dozen rows at any volume.
        for row in (RunDayCount.objects.filter(automation=automation, day__gte=first, day__lte=last)
                    .order_by().values("day").annotate(n=Sum("count"))):
            days[row["day"]].total += row["n"]
        for row in (ReviewDayCount.objects.filter(automation=automation, day__gte=first, day__lte=last)
                    .order_by().values("day", "verdict").annotate(n=Sum("count"))):
            counts = days[row["day"]]
            setattr(counts, row["verdict"], getattr(counts, row["verdict"]) + row["n"])
    else:
        # A runs filter the rollups cannot answer: count from the runs and their reviews.
        runs = runs.filter(automation=automation, created_at__gte=window[0], created_at__lt=window[1])
        for row in runs.annotate(day=TruncDate("created_at")).order_by().values("day").annotate(n=Count("pk")):
            days[row["day"]].total += row["n"]
        review_rows = (Review.objects.filter(run__in=runs.values("pk"))
                       .annotate(day=TruncDate("run__created_at")).order_by().values("day")
                       .annotate(correct=Count("pk", filter=Q(rating=Rating.PASS)),
                                 incorrect=Count("pk", filter=Q(rating__in=(Rating.FAIL, Rating.PARTIAL))),
                                 nit=Count("pk", filter=Q(rating__isnull=True))))
        for row in review_rows:
            counts = days[row["day"]]
            counts.correct, counts.incorrect, counts.nit = row["correct"], row["incorrect"], row["nit"]
    return _response(first, last, days, bucket=bucket, rolling_window=rolling_window,
                     min_rolling_reviews=min_rolling_reviews, start=start, end=end)


def _confidence(correct: int, reviewed: int) -> dict:
    interval = wilson_interval(correct, reviewed)
    return {"lower": interval.low if interval else None, "upper": interval.high if interval else None,
            "method": "wilson"}


def _response(first: date, last: date, days: dict[date, Counts], *, bucket: str, rolling_window: int,
              min_rolling_reviews: int, start: datetime, end: datetime) -> dict:
    summary = Counts()
    buckets = []
    rolling = []
    cursor = bucket_start(first, bucket)
    ordered_days = sorted(d for d in days if first <= d <= last)
    while cursor <= last:
        following = _next_bucket(cursor, bucket)
        counts = Counts()
        for day in ordered_days:
            if cursor <= day < following:
                counts.add(days[day])
        summary.add(counts)
        buckets.append({"start": _iso(_day_start(cursor)), "end": _iso(_day_start(following)), **counts.as_dict()})
        point = _rolling_point(ordered_days, days, until=min(following, last + timedelta(days=1)),
                               window=rolling_window)
        if point.reviewed >= min_rolling_reviews and point.reviewed:
            interval = wilson_interval(point.correct, point.reviewed)
            rolling.append({
                "at": _iso(_day_start(min(following, last + timedelta(days=1)))),
                "reviewedRuns": point.reviewed, "correctReviews": point.correct,
                "reviewedCorrectness": point.correct / point.reviewed,
                "confidenceLower": interval.low, "confidenceUpper": interval.high,
                "totalRunsInWindow": point.total,
                "reviewCoverage": point.reviewed / point.total if point.total else 0.0,
            })
        cursor = following
    body = summary.as_dict()
    body["confidence"] = _confidence(summary.correct, summary.reviewed)
    return {
        "timeRange": {"from": _iso(start), "to": _iso(end)},
        "granularity": {"bucket": bucket, "rollingWindow": rolling_window, "minRollingReviews": min_rolling_reviews},
        "summary": body,
        "buckets": buckets,
        "rolling": rolling,
    }


def _rolling_point(ordered_days: list[date], days: dict[date, Counts], *, until: date, window: int) -> Counts:
    """The most recent whole days before `until` whose ranked reviews add up to at least
    `window` (or every day of the range when there are fewer): the window, at day granularity."""
    point = Counts()
    for day in reversed(ordered_days):
        if day >= until:
            continue
        point.add(days[day])
        if point.reviewed >= window:
            break
    return point


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

