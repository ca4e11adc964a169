"""Proxy mode: the sampling and backlog pages' review figures from the upstream's reviews health
(GET /v1/automations/{id}/reviews/health, reviews generation only): one call per automation,
for at most HEALTH_AUTOMATIONS automations."""

from datetime import date

from backends.base import BackendError, HealthDay, ReviewHealth
from backends.eigenpal.client import seg
from backends.eigenpal.wire import parse_time
from runs.models import Automation

HEALTH_AUTOMATIONS = 50


def _int(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _ratio(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def parse_health(data: dict) -> ReviewHealth:
    """The upstream's health answer; a summary that is not an object is an upstream error."""
    summary = data.get("summary") if isinstance(data, dict) else None
    if not isinstance(summary, dict):
        raise BackendError("The EigenPal API answered the reviews health without a summary.")
    confidence = summary.get("confidence") if isinstance(summary.get("confidence"), dict) else {}
    days = []
    for bucket in data.get("buckets") or []:
        start = parse_time(bucket.get("start")) if isinstance(bucket, dict) else None
        if start is None:
            continue
        days.append(HealthDay(day=date(start.year, start.month, start.day), total_runs=_int(bucket.get("totalRuns")),
                              reviewed_runs=_int(bucket.get("reviewedRuns")), correct=_int(bucket.get("correctReviews")),
                              nits=_int(bucket.get("nitReviews"))))
    return ReviewHealth(
        total_runs=_int(summary.get("totalRuns")), reviewed_runs=_int(summary.get("reviewedRuns")),
        correct=_int(summary.get("correctReviews")), incorrect=_int(summary.get("incorrectReviews")),
        nits=_int(summary.get("nitReviews")), coverage=_ratio(summary.get("reviewCoverage")),
        low=_ratio(confidence.get("lower")), high=_ratio(confidence.get("upper")), days=days)


class HealthMixin:
    """Mixed into EigenpalBackend (backends/eigenpal/__init__.py)."""

    def review_health(self, automations: list[Automation]) -> dict[int, ReviewHealth] | None:
        if not self.dialect().rows_carry_reviews:  # the feedback generation has no health route
            return None
        health = {}
        for automation in automations[:HEALTH_AUTOMATIONS]:
            data = self.upstream.json("GET", f"/automations/{seg(automation.remote_id or automation.ref)}"
                                             "/reviews/health", params={"bucket": "day"}) or {}
            health[automation.pk] = parse_health(data)
        return health
