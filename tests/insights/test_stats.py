import pytest

from insights.stats import (
    Interval,
    next_step_down,
    rate_history,
    reviews_per_day,
    sampling_stats,
    step_down_suggestion,
    wilson_interval,
)
from review.services import review_verdict
from runs.policy import sampling_rate_set
from tests.factories import make_automation, make_runs


def test_wilson_interval_matches_the_textbook_values():
    interval = wilson_interval(81, 100)
    assert (round(interval.low, 4), round(interval.high, 4)) == (0.7222, 0.8749)


def test_wilson_interval_stays_inside_zero_and_one_at_the_edges():
    all_pass, none_pass = wilson_interval(20, 20), wilson_interval(0, 20)
    assert all_pass.high == 1.0 and 0.83 < all_pass.low < 0.84 and none_pass.low == 0.0


def test_wilson_interval_without_data_is_none():
    assert wilson_interval(0, 0) is None


def test_wilson_interval_refuses_more_passes_than_reviews():
    with pytest.raises(ValueError):
        wilson_interval(5, 4)


@pytest.mark.parametrize(("rate", "step"), [(10_000, 1500), (1500, 500), (800, 500), (500, 0), (30, 0), (0, None)])
def test_step_down_ladder_goes_15_then_5_then_off(rate, step):
    assert next_step_down(rate) == step


def test_suggests_the_next_step_when_the_lower_bound_clears_the_threshold():
    assert step_down_suggestion(rate_bp=1500, interval=Interval(0.96, 0.99), threshold=0.95) == 500


def test_no_suggestion_when_the_lower_bound_is_below_the_threshold():
    assert step_down_suggestion(rate_bp=1500, interval=Interval(0.94, 0.99), threshold=0.95) is None


def test_no_suggestion_without_reviews_or_when_already_off():
    assert step_down_suggestion(rate_bp=1500, interval=None, threshold=0.5) is None
    assert step_down_suggestion(rate_bp=0, interval=Interval(0.99, 1), threshold=0.5) is None


def test_reviews_per_day_scales_traffic_by_the_rate():
    assert reviews_per_day(200, 1500) == 30


def test_sampling_stats_count_traffic_and_verdicts_of_sampled_runs(automation, reviewer):
    runs = make_runs(10, automation)
    for run in runs[:6]:
        review_verdict(run=run, verdict="pass", user=reviewer)
    review_verdict(run=runs[6], verdict="fail", user=reviewer)
    stats = sampling_stats([automation])[automation.pk]
    assert (stats.runs_recent, stats.sampled_recent, stats.passed, stats.rated) == (10, 10, 6, 7)


def test_sampling_stats_ignore_unsampled_runs(reviewer):
    automation = make_automation("workflows.unsampled", rate_bp=0)
    run = make_runs(1, automation)[0]
    review_verdict(run=run, verdict="pass", user=reviewer)
    assert sampling_stats([automation])[automation.pk].rated == 0


def test_rate_history_keeps_the_latest_rows_per_automation(automation, ops):
    for rate in (100, 200, 300):
        sampling_rate_set(automation=automation, rate_bp=rate, user=ops, reason=f"to {rate}")
    history = rate_history([automation], rows=2)[automation.pk]
    assert [c.new_bp for c in history] == [300, 200]
