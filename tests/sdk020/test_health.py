"""automations.reviews.health through SDK 0.20.93: the numbers agree with the backlog page's
pass-rate chart (same runs, same Wilson interval) and the rollup's run counts."""

from datetime import timedelta

import pytest
from django.utils import timezone
from eigenpal import EigenpalValidationError
from eigenpal._generated.models import RunReviewHealthResponse

from insights.queries import pass_counts_per_day, window_days
from insights.stats import wilson_interval
from review.services import review_update
from tests.factories import make_automation, make_run

pytestmark = pytest.mark.django_db(transaction=True)
WF = "workflows.extract-invoice"


@pytest.fixture
def history(transactional_db, key_user):
    """Runs on three days: 4 two days ago (pass, pass, fail, partial), 3 yesterday (pass, nit,
    none), 2 today (none)."""
    automation = make_automation()
    now = timezone.now()
    plan = {2: ["pass", "pass", "fail", "partial"], 1: ["pass", None, "-"], 0: ["-", "-"]}
    for days_ago, ratings in plan.items():
        for index, rating in enumerate(ratings):
            run = make_run(automation, createdAt=(now - timedelta(days=days_ago, minutes=index)).isoformat())
            if rating == "-":
                continue
            status = "resolved" if rating == "pass" else "open"
            review_update(run=run, changes={"rating": rating, "status": status, "body": "n"}, user=key_user)
    return automation


def test_the_summary_counts_and_the_wilson_interval(sdk, http, history):
    raw = http.get(f"/v1/automations/{WF}/reviews/health").json()
    summary = RunReviewHealthResponse.from_dict(raw).summary
    assert (summary.total_runs, summary.reviewed_runs, summary.correct_reviews, summary.incorrect_reviews,
            summary.nit_reviews) == (9, 5, 3, 2, 1)
    interval = wilson_interval(3, 5)
    assert (summary.confidence.lower, summary.confidence.upper) == pytest.approx((interval.low, interval.high))
    assert summary.review_coverage == pytest.approx(5 / 9)


def test_day_buckets_agree_with_the_backlog_pass_rate(sdk, history):
    health = sdk.automations.reviews.health(WF, bucket="day")
    days = window_days(timezone.localdate())
    backlog = pass_counts_per_day(automation_ids=[history.pk], days=days)
    by_day = {bucket["start"][:10]: bucket for bucket in health["buckets"]}
    for day, (passed, rated) in backlog.items():
        bucket = by_day[day.isoformat()]
        assert (bucket["correctReviews"], bucket["reviewedRuns"]) == (passed, rated)
    assert sum(b["totalRuns"] for b in health["buckets"]) == 9


def test_week_and_month_buckets_sum_to_the_summary(sdk, http, history):
    for bucket in ("week", "month"):
        raw = http.get(f"/v1/automations/{WF}/reviews/health", params={"bucket": bucket}).json()
        parsed = RunReviewHealthResponse.from_dict(raw)
        assert sum(b.reviewed_runs for b in parsed.buckets) == parsed.summary.reviewed_runs == 5


def test_the_rolling_window_holds_the_last_reviews(sdk, history):
    rolling = sdk.automations.reviews.health(WF, rollingWindow=2)["rolling"]
    last = rolling[-1]
    # Yesterday alone holds one ranked review (< 2), so the window reaches back to two days ago.
    assert (last["reviewedRuns"], last["correctReviews"], last["totalRunsInWindow"]) == (5, 3, 9)


def test_a_run_filter_counts_from_the_runs(sdk, history):
    health = sdk.automations.reviews.health(WF, status="completed")
    assert health["summary"]["totalRuns"] == 9


def test_bad_parameters_are_refused_by_name(sdk, history):
    with pytest.raises(EigenpalValidationError) as caught:
        sdk.automations.reviews.health(WF, bucket="year")
    assert caught.value.issues[0]["field"] == "bucket"
