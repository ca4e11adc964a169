"""Human-human agreement (docs/estimates.md#human-agreement): Cohen's kappa of the 3 x 3 verdict
table and its percentile bootstrap interval."""

import numpy as np
import pytest

from insights.estimates import kappa_of_matrix, kappa_table_interval
from insights.human_agreement import HumanAgreement


def test_kappa_of_a_three_by_three_table_by_hand():
    table = [[20, 5, 0], [3, 10, 2], [0, 1, 9]]
    n = 50
    observed = 39 / n
    rows, cols = [25, 15, 10], [23, 16, 11]
    chance = sum(r * c for r, c in zip(rows, cols, strict=True)) / n ** 2
    assert kappa_of_matrix(np.array(table, dtype=float)) == pytest.approx((observed - chance) / (1 - chance))
    agreement = HumanAgreement(table=table)
    assert agreement.pairs == 50 and agreement.observed == pytest.approx(observed)
    low, high = agreement.interval
    assert low < agreement.kappa < high <= 1


def test_no_interval_below_ten_pairs_and_none_for_a_single_answer():
    assert kappa_table_interval([[3, 1, 0], [1, 3, 0], [0, 0, 0]]) is None
    assert kappa_of_matrix(np.array([[12, 0], [0, 0]], dtype=float)) is None
    assert kappa_table_interval([[12, 0], [0, 0]]) is None


def test_the_interval_covers_the_true_kappa_about_95_percent_of_the_time():
    """Two reviewers drawn from a known joint distribution of verdicts (true kappa about 0.64),
    n = 150 runs, 300 simulated studies: the share of intervals holding the true kappa."""
    population = np.array([[0.55, 0.06, 0.02], [0.05, 0.20, 0.02], [0.02, 0.02, 0.06]])
    true_kappa = kappa_of_matrix(population)
    rng = np.random.default_rng(7)
    studies, covered = 300, 0
    for _ in range(studies):
        table = rng.multinomial(150, population.ravel()).reshape(3, 3)
        interval = kappa_table_interval(table, resamples=600)
        covered += interval is not None and interval[0] <= true_kappa <= interval[1]
    coverage = covered / studies
    print(f"true kappa {true_kappa:.3f}, coverage {coverage:.3f}")
    assert coverage >= 0.92
