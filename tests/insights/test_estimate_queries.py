"""The weighted estimate read from the database (insights.stats.pass_rate_estimates) and served
by GET /api/v1/automations/{id}/estimate, and the sampling page showing it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from insights.estimates import Stratum, weighted_pass_rate
from insights.stats import pass_rate_estimates, rate_periods
from review.services import review_update
from runs.models import Run
from runs.policy import sampling_rate_set
from runs.sampling import RateSchedule
from tests.api.conftest import _client_for
from tests.factories import make_automation, make_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops_api(ops):
    return _client_for(ops)


@pytest.fixture
def rate_change(reviewer):
    """8 runs at 100 % (4 pass, 4 fail), then the rate drops to 50 %; 30 later runs, every
    sampled one passes."""
    automation = make_automation(rate_bp=10_000)
    now = timezone.now()
    change_at = now - timedelta(days=5)
    early = [make_run(automation, createdAt=(now - timedelta(days=10, minutes=i)).isoformat()) for i in range(8)]
    for index, run in enumerate(early):
        review_update(run=run, changes={"rating": "pass" if index % 2 else "fail"}, user=reviewer)
    sampling_rate_set(automation=automation, rate_bp=5000, user=reviewer, reason="test", now=change_at)
    for i in range(30):
        run = make_run(automation, createdAt=(now - timedelta(days=1, minutes=i)).isoformat())
        if run.sampled:
            review_update(run=run, changes={"rating": "pass"}, user=reviewer)
    automation.refresh_from_db()
    later_sampled = Run.objects.filter(automation=automation, sampled=True, created_at__gte=change_at).count()
    return automation, later_sampled


def test_rate_periods_clip_the_schedule_to_the_window():
    now = timezone.now()
    schedule = RateSchedule(1500, ((now - timedelta(days=10), 500),))
    periods = rate_periods(schedule, now - timedelta(days=30), now)
    assert [(rate, high - low) for low, high, rate in periods] == [(1500, timedelta(days=20)), (500, timedelta(days=10))]


def test_estimate_weights_runs_by_the_rate_they_were_sampled_at(rate_change):
    automation, later = rate_change
    estimate = pass_rate_estimates([automation], start=timezone.now() - timedelta(days=30), end=timezone.now())
    expected = weighted_pass_rate([Stratum(10_000, 8, 8, 4), Stratum(5000, later, later, later)])
    assert estimate[automation.pk].estimate == pytest.approx(expected.estimate)


def test_api_serves_the_estimate_with_its_counts(ops_api, rate_change):
    automation, later = rate_change
    body = ops_api.get(f"/api/v1/automations/{automation.ref}/estimate").json()
    assert (body["reviewed"], body["sampled"], body["method"]) == (8 + later, 8 + later, "hajek-clopper-pearson-kish-max-weight")


def test_api_estimate_of_another_version_has_no_runs(ops_api, rate_change):
    automation, _ = rate_change
    body = ops_api.get(f"/api/v1/automations/{automation.ref}/estimate?version=v9").json()
    assert (body["estimate"], body["interval"], body["sampled"]) == (None, None, 0)


def test_api_estimate_window_excludes_older_runs(ops_api, rate_change):
    automation, later = rate_change
    since = (timezone.now() - timedelta(days=3)).date().isoformat()
    body = ops_api.get(f"/api/v1/automations/{automation.ref}/estimate?from={since}").json()
    assert body["sampled"] == later


@pytest.mark.parametrize("query, field", [("from=yesterday", "from"), ("to=2026-13-01", "to"),
                                           ("from=2026-11-02&to=2026-11-01", "from"), ("version=" + "v" * 101, "version")])
def test_api_estimate_bad_parameters_name_the_field(ops_api, automation, query, field):
    response = ops_api.get(f"/api/v1/automations/{automation.ref}/estimate?{query}")
    assert (response.status_code, response.json()["issues"][0]["field"]) == (400, field)


def test_api_estimate_unknown_automation_is_404(ops_api, db):
    assert ops_api.get("/api/v1/automations/workflows.nope/estimate").status_code == 404


def test_sampling_page_shows_the_weighted_estimate_and_unreviewed_share(client, ops, rate_change):
    client.force_login(ops)
    page = client.get("/sampling/").content.decode()
    assert 'data-testid="weighted-estimate"' in page and "not reviewed yet" in page


def test_backlog_shows_weighted_estimate_and_versions(client, ops, rate_change):
    automation, _ = rate_change
    client.force_login(ops)
    page = client.get(f"/backlog/?automation={automation.ref}").content.decode()
    assert 'data-testid="backlog-estimate"' in page and 'id="version-estimates"' in page


def test_rollup_counts_match_counting_the_runs(rate_change):
    """Whole days from the daily rollup plus the partial days from the runs give the same strata
    as counting every sampled run (the rate change and the window start fall mid-day)."""
    from insights.stats import _estimate, _stratum_counts

    automation, _ = rate_change
    start, end = timezone.now() - timedelta(days=12, hours=7), timezone.now()
    _, counts = _stratum_counts([automation], start=start, end=end, version=None, by_version=False)
    scanned = _estimate(counts.get((automation.pk,), {}))
    fast = pass_rate_estimates([automation], start=start, end=end)[automation.pk]
    assert (fast.sampled, fast.reviewed, fast.estimate) == (scanned.sampled, scanned.reviewed, scanned.estimate)


def test_whole_days_split_keeps_partial_edges():
    from insights.periods import day_start as _day_start
    from insights.periods import whole_days as _whole_days

    low = _day_start(timezone.localdate()) - timedelta(days=3, hours=5)
    high = _day_start(timezone.localdate()) + timedelta(hours=2)
    days, partials = _whole_days(low, high)
    covered = sum(((b - a) for a, b in partials), timedelta()) + (days[1] - days[0] + timedelta(days=1))
    assert covered == high - low and len(partials) == 2


def test_a_day_split_by_a_rate_change_reads_only_its_shorter_part(reviewer):
    """Whole-day windows (the pages' window_bounds): the day a rate changed is the rollup's total
    for that day less the part read from the runs, and the estimate equals counting every run."""
    from insights.periods import day_start as _day_start
    from insights.periods import derivable as _derivable
    from insights.periods import split_periods as _split_periods
    from insights.queries import window_bounds
    from insights.stats import _estimate, _stratum_counts
    from runs.models import rate_schedules

    automation = make_automation(rate_bp=10_000)
    day = timezone.localdate() - timedelta(days=3)
    change_at = _day_start(day) + timedelta(hours=15)
    for hour in (1, 4, 9, 14):  # before the change, every run sampled: alternate verdicts
        run = make_run(automation, createdAt=(_day_start(day) + timedelta(hours=hour)).isoformat())
        review_update(run=run, changes={"rating": "pass" if hour % 2 else "fail"}, user=reviewer)
    sampling_rate_set(automation=automation, rate_bp=5000, user=reviewer, reason="test", now=change_at)
    for minute in range(40):  # after it, at half the rate
        run = make_run(automation, createdAt=(change_at + timedelta(minutes=5 * minute + 1)).isoformat())
        if run.sampled:
            review_update(run=run, changes={"rating": "pass" if minute % 3 else "partial"}, user=reviewer)
    start, end = window_bounds(timezone.localdate())
    automation.refresh_from_db()
    periods = {automation.pk: rate_periods(rate_schedules([automation])[automation.pk], start, end)}
    _, partials = _split_periods(periods)
    derived = _derivable(partials)
    # Two days split: the rate change, and today by the automation's creation (its first rate);
    # of each, the longer part is derived.
    assert len(partials) == 4 and len(derived) == 2
    assert any(partials[position][2] == _day_start(day) for position in derived)  # 00:00-15:00
    _, counts = _stratum_counts([automation], start=start, end=end, version=None, by_version=False)
    scanned = _estimate(counts.get((automation.pk,), {}))
    fast = pass_rate_estimates([automation], start=start, end=end)[automation.pk]
    assert (fast.sampled, fast.reviewed, fast.passed, fast.estimate) == (
        scanned.sampled, scanned.reviewed, scanned.passed, scanned.estimate)
    assert fast.sampled > 4 and fast.reviewed == fast.sampled


def test_a_review_closed_without_a_verdict_counts_as_a_reviewed_miss_like_its_chip(reviewer):
    """Issue 21 (c): the queue shows a review resolved with no rating as Failed (runs/chips.py);
    the estimate counts it as reviewed and not passed, from the rollups (whole days), from the
    runs (a window starting mid-day) and for one version alike. An open note without a verdict
    (a "nit") is not reviewed yet; partial counts as reviewed, not passed."""
    from insights.queries import window_bounds

    automation = make_automation(rate_bp=10_000)
    created = timezone.now() - timedelta(days=2)
    runs = [make_run(automation, createdAt=(created - timedelta(minutes=i)).isoformat()) for i in range(5)]
    review_update(run=runs[0], changes={"rating": "pass"}, user=reviewer)
    review_update(run=runs[1], changes={"rating": "fail"}, user=reviewer)
    review_update(run=runs[2], changes={"rating": "partial"}, user=reviewer)
    review_update(run=runs[3], changes={"status": "resolved"}, user=reviewer)
    review_update(run=runs[4], changes={"body": "look at the total", "status": "open"}, user=reviewer)
    chips = [Run.objects.get(pk=run.pk).chip for run in runs]
    assert chips == ["passed", "failed", "failed", "failed", "open"]
    start, end = window_bounds(timezone.localdate(), 30)
    mid_day = created - timedelta(hours=1)
    for window in ({"start": start, "end": end}, {"start": mid_day, "end": end},
                   {"start": start, "end": end, "version": "v3"}):
        estimate = pass_rate_estimates([automation], **window)[automation.pk]
        assert (estimate.sampled, estimate.reviewed, estimate.passed) == (5, 4, 1), window
