"""The statistics of insights/estimates.py: known values, the simulation with a known truth
from docs/estimates.md (a rate change from 15 % to 5 % while the failure rate drops), and the
exact coverage of the step-down bound. Fixed seeds; each test runs in a few seconds."""

import numpy as np
import pytest
from scipy.stats import binom

from insights.estimates import (
    Confusion,
    Stratum,
    beta_interval,
    clopper_pearson,
    cohens_kappa,
    exact_coverage,
    kappa_interval,
    pooled_pass_rate,
    weighted_cells,
    weighted_pass_rate,
)

# 20 days at 15 % with 10 % failures, then 10 days at 5 % with 2 % failures, 1,000 runs a day
# (about 3,500 sampled runs in the window: 3,000 at 15 %, 500 at 5 %).
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
    print(f"\nbias {(np.mean(estimates) - TRUE_PASS) * 100:+.3f} points over 2,000 repetitions")
    assert abs(np.mean(estimates) - TRUE_PASS) < 0.005


def test_weighted_estimate_stays_unbiased_with_a_recent_backlog():
    rng = np.random.default_rng(13)
    estimates = [weighted_pass_rate(_simulate(rng, recent_review_share=0.6)).estimate for _ in range(2000)]
    print(f"\nbias with 40 % of the recent period unreviewed {(np.mean(estimates) - TRUE_PASS) * 100:+.3f} points")
    assert abs(np.mean(estimates) - TRUE_PASS) < 0.005


def test_interval_covers_the_truth_95_percent_of_the_time():
    """The scenario above, 4,000 repetitions: at least 95 % (it is conservative: the pass rates of
    the two periods differ, and the interval allows for the worst case of equal ones)."""
    rng = np.random.default_rng(14)
    covered, widths = 0, []
    for _ in range(4000):
        estimate = weighted_pass_rate(_simulate(rng))
        covered += estimate.low <= TRUE_PASS <= estimate.high
        widths.append(estimate.high - estimate.low)
    print(f"\ncoverage {covered / 4000:.4f}, mean width {np.mean(widths) * 100:.2f} points")
    assert covered / 4000 >= 0.95


def test_interval_errs_on_the_safe_side_at_small_volumes():
    """At 100 runs a day (about 350 sampled runs) the interval is conservative: it covers more
    than 95 % of the time, never less (docs/estimates.md)."""
    rng = np.random.default_rng(15)
    covered = 0
    for _ in range(2000):
        estimate = weighted_pass_rate(_simulate(rng, runs_per_day=100))
        covered += estimate.low <= TRUE_PASS <= estimate.high
    print(f"\ncoverage at 100 runs a day {covered / 2000:.4f}")
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


def test_step_down_bound_covers_at_least_95_percent_for_every_n_and_pass_rate():
    """Every n from 20 to 200, then every 25th to 1,000; pass rates 0.5 to 0.99 by 0.0025: the
    plain Clopper-Pearson interval (equal weights) never covers less than 95 %."""
    rates = np.round(np.arange(0.5, 0.99 + 1e-9, 0.0025), 4)
    worst = min(_coverage_grid(n, rates).min() for n in [*range(20, 201), *range(225, 1001, 25)])
    print(f"\nplain Clopper-Pearson: worst exact coverage {worst:.4f}")
    assert worst >= 0.95


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


# --- exact coverage of the weighted interval (issue 21 (b)) ---------------------------------
# Rate periods as (days of traffic, rate, share of its sampled runs reviewed). Every period
# passes at the same rate p, so the truth is p; the reviewed runs of each period are
# Binomial(n_h, p) and the coverage is summed over every outcome within 5 standard deviations
# of each period's mean (the mass left out counts as not covered: the figure is a lower bound).
DESIGNS = {
    "15% -> 5%, recent half reviewed": [(20, 0.15, 1.0), (10, 0.05, 0.5)],
    "5% -> 15%, old 30% reviewed": [(10, 0.05, 0.3), (20, 0.15, 1.0)],
    "15% -> 5%, old 20% reviewed": [(15, 0.15, 0.2), (15, 0.05, 1.0)],
    "15% -> 5% -> 1%, 100/60/30% reviewed": [(10, 0.15, 1.0), (10, 0.05, 0.6), (10, 0.01, 0.3)],
    "1% -> 5% -> 15%, 30/100/50% reviewed": [(10, 0.01, 0.3), (10, 0.05, 1.0), (10, 0.15, 0.5)],
}


def _design(periods, n):
    """Weights and reviewed runs per period for about n reviewed runs in all."""
    sampled = np.array([days * rate for days, rate, _ in periods])
    reviewed = sampled * np.array([share for _, _, share in periods])
    scale = n / reviewed.sum()
    reviewed = np.maximum(1, np.round(reviewed * scale)).astype(int)
    sampled = np.maximum(reviewed, np.round(sampled * scale)).astype(int)
    rates = np.array([rate for _, rate, _ in periods])
    return sampled / (rates * reviewed), reviewed


def _outcomes(reviewed, p, sds=5):
    axes = []
    for n in reviewed:
        sd = np.sqrt(n * p * (1 - p))
        axes.append(np.arange(max(0, int(n * p - sds * sd - 2)), min(n, int(n * p + sds * sd + 2)) + 1))
    grids = np.meshgrid(*axes, indexing="ij")
    passed = np.stack([g.ravel() for g in grids])
    pmf = np.ones(passed.shape[1])
    for h, n in enumerate(reviewed):
        pmf *= binom.pmf(passed[h], n, p)
    return passed, pmf


def _weighted_coverage(weights, reviewed, p):
    passed, pmf = _outcomes(reviewed, p)
    estimate, effective_n, jump = weighted_cells(weights, reviewed, passed)
    low, high = beta_interval(estimate, effective_n, jump)
    return float((pmf * ((low <= p) & (p <= high))).sum())


def test_the_issue_point_is_covered_95_percent_by_the_estimate_itself():
    """(b) as reported: 15 % -> 5 %, the recent half reviewed, n = 500, p = 0.97; through
    weighted_pass_rate itself, outcome by outcome (93.3 % with the Korn-Graubard interval)."""
    weights, reviewed = _design(DESIGNS["15% -> 5%, recent half reviewed"], 500)
    sampled = [round(w * n * rate) for w, n, rate in zip(weights, reviewed, (0.15, 0.05), strict=True)]
    passed, pmf = _outcomes(reviewed, 0.97)
    covered = too_high = 0.0
    for (x1, x2), mass in zip(passed.T, pmf, strict=True):
        e = weighted_pass_rate([Stratum(1500, sampled[0], int(reviewed[0]), int(x1)),
                                Stratum(500, sampled[1], int(reviewed[1]), int(x2))])
        covered += mass * (e.low <= 0.97 <= e.high)
        too_high += mass * (e.low > 0.97)
    print(f"\nissue point: exact coverage {covered:.4f}, lower bound above the truth {too_high:.4f}")
    assert covered >= 0.95
    assert too_high <= 0.025


@pytest.mark.parametrize("name", list(DESIGNS))
def test_weighted_interval_covers_95_percent_at_every_grid_point(name):
    """Exact coverage for n 20-1,000 reviewed runs and pass rates 0.50-0.99 (every 0.01 with two
    periods; a coarser grid with three); the worst point is printed."""
    two = len(DESIGNS[name]) == 2
    sizes = [20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000] if two else \
        [20, 30, 50, 100, 200, 500, 1000]
    rates = np.round(np.arange(0.5, 0.99 + 1e-9, 0.01), 2) if two else [0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99]
    worst = (2.0, None)
    for n in sizes:
        weights, reviewed = _design(DESIGNS[name], n)
        for p in rates:
            coverage = _weighted_coverage(weights, reviewed, float(p))
            worst = min(worst, (coverage, (n, float(p))))
    print(f"\n{name}: worst exact coverage {worst[0]:.4f} at n, p = {worst[1]}")
    assert worst[0] >= 0.95


def test_equal_weights_give_exactly_clopper_pearson():
    p, effective_n, jump = weighted_cells([3.0], [40], [37])
    assert (effective_n, jump) == pytest.approx((40, 1))
    assert beta_interval(p, effective_n, jump) == pytest.approx(clopper_pearson(37, 40))
