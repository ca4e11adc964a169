"""The statistics of insights/estimates.py: known values, the simulation with a known truth
from docs/estimates.md (a rate change from 15 % to 5 % while the failure rate drops), and the
exact coverage of the step-down bound. Fixed seeds; each test runs in a few seconds."""

import numpy as np
import pytest
from scipy.stats import binom

from insights.estimates import (
    Confusion,
    Stratum,
    clopper_pearson,
    cohens_kappa,
    exact_coverage,
    kappa_interval,
    pooled_pass_rate,
    weighted_pass_rate,
)

# 20 days at 15 % with 10 % failures, then 10 days at 5 % with 2 % failures, 1,000 runs a day
# (about 1,050 sampled runs in the window).
PERIODS = [(20, 1500, 0.10), (10, 500, 0.02)]
RUNS_PER_DAY = 1000
TRUE_PASS = 1 - sum(days * fail for days, _, fail in PERIODS) / 30  # 92.67 % (7.33 % failures)


def _simulate(rng, *, recent_review_share=1.0, runs_per_day=RUNS_PER_DAY):
    strata = []
    for index, (days, rate_bp, fail) in enumerate(PERIODS):
        sampled = int(rng.binomial(days * runs_per_day, rate_bp / 10_000))
        share = recent_review_share if index == len(PERIODS) - 1 else 1.0
        reviewed = int(rng.binomial(sampled, share))
        strata.append(Stratum(rate_bp, sampled, reviewed, reviewed - int(rng.binomial(reviewed, fail))))
    return strata


def test_clopper_pearson_matches_the_exact_binomial_interval():
    # R: binom.test(5, 10)$conf.int
    assert clopper_pearson(5, 10) == pytest.approx((0.187086, 0.812914), abs=1e-6)


def test_clopper_pearson_is_one_sided_at_the_edges():
    assert clopper_pearson(0, 10) == pytest.approx((0.0, 0.308497), abs=1e-6)


def test_equal_weights_give_the_plain_rate_and_interval():
    estimate = weighted_pass_rate([Stratum(1500, 10, 10, 5)])
    assert (estimate.estimate, estimate.low, estimate.high) == pytest.approx((0.5, 0.187086, 0.812914), abs=1e-6)


def test_the_issue_scenario_pooled_lags_the_truth():
    expected = [Stratum(1500, 3000, 3000, 2700), Stratum(500, 500, 500, 490)]
    assert (pooled_pass_rate(expected), weighted_pass_rate(expected).estimate) == pytest.approx((0.9114, 0.9267), abs=5e-4)


def test_weighted_estimate_is_unbiased_across_a_rate_change():
    rng = np.random.default_rng(12)
    estimates = [weighted_pass_rate(_simulate(rng)).estimate for _ in range(2000)]
    assert abs(np.mean(estimates) - TRUE_PASS) < 0.005


def test_weighted_estimate_stays_unbiased_with_a_recent_backlog():
    rng = np.random.default_rng(13)
    estimates = [weighted_pass_rate(_simulate(rng, recent_review_share=0.6)).estimate for _ in range(2000)]
    assert abs(np.mean(estimates) - TRUE_PASS) < 0.005


def test_interval_covers_the_truth_95_percent_of_the_time():
    rng = np.random.default_rng(14)
    covered = 0
    for _ in range(4000):
        estimate = weighted_pass_rate(_simulate(rng))
        covered += estimate.low <= TRUE_PASS <= estimate.high
    assert abs(covered / 4000 - 0.95) <= 0.015


def test_interval_errs_on_the_safe_side_at_small_volumes():
    """At 100 runs a day (about 105 sampled runs) Clopper-Pearson is conservative: it covers
    more than 95 % of the time, never less (docs/estimates.md)."""
    rng = np.random.default_rng(15)
    covered = 0
    for _ in range(2000):
        estimate = weighted_pass_rate(_simulate(rng, runs_per_day=100))
        covered += estimate.low <= TRUE_PASS <= estimate.high
    assert covered / 2000 >= 0.95


def test_unreviewed_share_counts_sampled_runs_without_a_verdict():
    estimate = weighted_pass_rate([Stratum(1500, 80, 60, 50), Stratum(500, 20, 20, 20)])
    assert estimate.unreviewed_share == pytest.approx(0.2)


def test_no_reviewed_runs_give_no_estimate():
    estimate = weighted_pass_rate([Stratum(1500, 40, 0, 0)])
    assert (estimate.estimate, estimate.low, estimate.unreviewed_share) == (None, None, 1.0)


def test_all_passed_still_gets_a_lower_bound_below_one():
    estimate = weighted_pass_rate([Stratum(1500, 60, 60, 60), Stratum(500, 30, 30, 30)])
    assert 0.9 < estimate.low < 1.0 == estimate.high


def test_a_stratum_with_more_reviews_than_samples_is_refused():
    with pytest.raises(ValueError):
        Stratum(1500, 5, 6, 1)


def _coverage_grid(n, rates):
    """Exact coverage of the 95 % Clopper-Pearson interval at every rate, for one n (vectorised
    form of estimates.exact_coverage)."""
    lows, highs = zip(*(clopper_pearson(x, n) for x in range(n + 1)), strict=True)
    x = np.arange(n + 1)
    pmf = binom.pmf(x[None, :], n, rates[:, None])
    inside = (np.array(lows)[None, :] <= rates[:, None]) & (rates[:, None] <= np.array(highs)[None, :])
    return (pmf * inside).sum(axis=1)


def test_step_down_bound_covers_at_least_94_percent_for_every_n_and_pass_rate():
    """Every n from 20 to 200, then every 25th to 1,000; pass rates 0.5 to 0.99 by 0.0025."""
    rates = np.round(np.arange(0.5, 0.99 + 1e-9, 0.0025), 4)
    worst = min(_coverage_grid(n, rates).min() for n in [*range(20, 201), *range(225, 1001, 25)])
    assert worst >= 0.94


def test_exact_coverage_helper_agrees_with_the_grid():
    assert exact_coverage(50, 0.99) == pytest.approx(_coverage_grid(50, np.array([0.99]))[0])


def test_cohens_kappa_of_a_known_table():
    assert cohens_kappa(20, 5, 10, 15) == pytest.approx(0.4)


def test_kappa_is_undefined_when_both_raters_always_pass():
    assert cohens_kappa(30, 0, 0, 0) is None


def test_kappa_interval_brackets_kappa_and_repeats_exactly():
    table = Confusion(40, 6, 4, 10)
    first = kappa_interval(table)
    assert first[0] < table.kappa < first[1] and first == kappa_interval(table)


def test_kappa_interval_needs_ten_pairs():
    assert kappa_interval(Confusion(3, 1, 1, 2)) is None
