"""The statistics behind the pass-rate estimates and the evaluator agreement tables.

Pure functions of counts: no database, no Django. The reasoning behind each choice is written
down in docs/estimates.md; the tests in tests/insights/test_estimates.py check the properties
claimed there (unbiasedness across a rate change, interval coverage, exact coverage of the
step-down bound).

Pass-rate estimate
    Runs are sampled at the rate in effect when they were created, so a run from a 15 % period
    stands for 1/0.15 runs of traffic and one from a 5 % period for 1/0.05. The estimate is the
    Hajek (ratio) estimator: sum(w * passed) / sum(w). It always lies in [0, 1] and needs no
    count of the whole traffic (Horvitz-Thompson divides by it, and under Bernoulli sampling the
    number of sampled runs is itself random, which makes HT noisier).

    Not every sampled run has been reviewed. Within one rate period the reviewed runs stand for
    the sampled ones (a weighting-class adjustment): w = sampled / (rate * reviewed) for each
    reviewed run of the period. With everything reviewed this is exactly 1 / rate.

Interval
    Clopper-Pearson on an effective sample size, made safe for unequal weights. n_eff is the
    smaller of Kish's n (what the weights allow when every cell passes at the same rate) and
    p(1-p)/V from the design's linearisation variance V; the exact binomial interval is taken
    for p * n_eff successes out of n_eff, with the largest run's weight (in n_eff units) in
    place of the one success Clopper-Pearson adds (after Fay and Feuer, 1997, who do this for
    weighted Poisson counts). With equal weights it is the plain Clopper-Pearson interval. The
    tests compute its exact coverage over two and three rate periods with unequal review shares
    and find no point below 95 % (the Korn-Graubard form used before fell to 93.3 %, and far
    lower with three periods). The same lower bound drives the step-down advice.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import betaincinv

BUCKETS = 10_000  # the rate unit: basis points, as in runs.sampling
CONFIDENCE = 0.95
METHOD = "hajek-clopper-pearson-kish-max-weight"
KAPPA_RESAMPLES = 2000
KAPPA_SEED = 20260501
KAPPA_MIN_PAIRS = 10  # no kappa interval below this many paired verdicts


@dataclass(frozen=True)
class Stratum:
    """The runs of one rate period: the rate in effect, runs sampled, reviewed and passed."""

    rate_bp: int
    sampled: int
    reviewed: int
    passed: int

    def __post_init__(self):
        if not 0 <= self.passed <= self.reviewed <= self.sampled:
            raise ValueError("need 0 <= passed <= reviewed <= sampled")
        if self.sampled and not 0 < self.rate_bp <= BUCKETS:
            raise ValueError("a period with sampled runs needs a rate in (0, 10000] basis points")


@dataclass(frozen=True)
class Estimate:
    estimate: float | None
    low: float | None
    high: float | None
    reviewed: int
    sampled: int
    effective_n: float | None
    passed: int = 0  # reviewed runs that passed, unweighted
    method: str = METHOD

    @property
    def unreviewed_share(self) -> float | None:
        return (self.sampled - self.reviewed) / self.sampled if self.sampled else None

    def as_dict(self) -> dict:
        return {
            "estimate": self.estimate,
            "interval": None if self.low is None else {"low": self.low, "high": self.high, "confidence": CONFIDENCE},
            "method": self.method,
            "reviewed": self.reviewed,
            "sampled": self.sampled,
            "passed": self.passed,
            "effectiveN": self.effective_n,
            "unreviewedShare": self.unreviewed_share,
        }


def clopper_pearson(successes: float, n: float, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The exact (Clopper-Pearson) interval; `successes` and `n` may be fractional (effective n)."""
    # betaincinv(a, b, q) is the Beta(a, b) quantile, without scipy.stats' per-call overhead.
    if n <= 0:
        raise ValueError("n must be positive")
    if not 0 <= successes <= n:
        raise ValueError("successes must be between 0 and n")
    alpha = 1 - confidence
    low = 0.0 if successes <= 0 else float(betaincinv(successes, n - successes + 1, alpha / 2))
    high = 1.0 if successes >= n else float(betaincinv(successes + 1, n - successes, 1 - alpha / 2))
    return low, high


def weighted_cells(weights, reviewed, passed):
    """The Hajek estimate, its effective sample size and its largest jump, from cells of
    reviewed runs that share a weight (numpy-vectorised over the last axis of `passed`, so the
    tests can enumerate every outcome): `weights` and `reviewed` have one entry per cell,
    `passed` one row per cell. Returns (p, n_eff, jump) (see module doc and docs/estimates.md)."""
    w = np.asarray(weights, dtype=float).reshape(-1, *([1] * (np.ndim(passed) - 1)))
    n = np.asarray(reviewed, dtype=float).reshape(w.shape)
    x = np.asarray(passed, dtype=float)
    total_w = (w * n).sum(axis=0)
    p = (w * x).sum(axis=0) / total_w
    # Linearisation (with-replacement) variance of the ratio: sum w^2 (y - p)^2 / W^2, without
    # the n/(n-1) factor, so that equal weights give n_eff = n and the plain Clopper-Pearson.
    squares = (w * w * (x * (1 - p) ** 2 + (n - x) * p * p)).sum(axis=0)
    variance = squares / total_w ** 2
    # Kish's n: what the weights alone allow, exact when every cell has the same pass rate.
    kish_n = total_w ** 2 / (w * w * n).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        from_variance = np.where((variance > 0) & (p > 0) & (p < 1), p * (1 - p) / variance, np.inf)
    effective_n = np.minimum(kish_n, from_variance)
    # The largest run, in effective-n units: one such run turning from pass to fail moves the
    # successes by this much (1 with equal weights).
    jump = w.max() * effective_n / total_w
    return p, effective_n, jump


def beta_interval(p, effective_n, jump, confidence: float = CONFIDENCE):
    """Clopper-Pearson on the effective n with the largest jump in place of its one success:
    the lower bound is the Beta(s, f + jump) quantile, the upper the Beta(s + jump, f) one, for
    s = p * n_eff successes and f = n_eff - s failures (Fay and Feuer's 1997 adjustment of the
    exact interval to unequal weights, in its beta form). With equal weights it is the exact
    binomial interval. Vectorised like weighted_cells."""
    alpha = 1 - confidence
    s = np.asarray(p, dtype=float) * effective_n
    f = np.asarray(effective_n, dtype=float) - s
    with np.errstate(all="ignore"):
        low = np.where(s > 0, betaincinv(np.maximum(s, 1e-300), f + jump, alpha / 2), 0.0)
        high = np.where(f > 0, betaincinv(s + jump, np.maximum(f, 1e-300), 1 - alpha / 2), 1.0)
    return low, high


def weighted_pass_rate(strata: list[Stratum], confidence: float = CONFIDENCE) -> Estimate:
    """The Hajek estimate of the pass rate of all traffic, with its interval (see module doc)."""
    strata = [s for s in strata if s.sampled]
    sampled = sum(s.sampled for s in strata)
    reviewed = sum(s.reviewed for s in strata)
    used = [s for s in strata if s.reviewed]
    if not used:
        return Estimate(None, None, None, reviewed, sampled, None)
    passed = sum(s.passed for s in used)
    # weight of one reviewed run of the cell: traffic it stands for
    weights = [s.sampled / (s.rate_bp / BUCKETS) / s.reviewed for s in used]
    p, effective_n, jump = weighted_cells(weights, [s.reviewed for s in used], [s.passed for s in used])
    low, high = beta_interval(p, effective_n, jump, confidence)
    return Estimate(float(p), float(low), float(high), reviewed, sampled, float(effective_n), passed)


def pooled_pass_rate(strata: list[Stratum]) -> float | None:
    """The unweighted rate the pages used to show: every reviewed run counts once."""
    reviewed = sum(s.reviewed for s in strata)
    return sum(s.passed for s in strata) / reviewed if reviewed else None


def exact_coverage(n: int, p: float, confidence: float = CONFIDENCE) -> float:
    """Exact coverage of the Clopper-Pearson interval at (n, p): the binomial probability of
    the outcomes whose interval contains p."""
    covered = 0.0
    for x in range(n + 1):
        low, high = clopper_pearson(x, n, confidence)
        if low <= p <= high:
            covered += math.comb(n, x) * p ** x * (1 - p) ** (n - x)
    return covered


# --- agreement between an evaluator and the human verdicts ---------------------------------

@dataclass(frozen=True)
class Confusion:
    """Human verdict (rows) against evaluator (columns), pass / fail on both sides."""

    both_pass: int  # human passed, evaluator passed
    human_pass_eval_fail: int
    human_fail_eval_pass: int
    both_fail: int

    @property
    def n(self) -> int:
        return self.both_pass + self.human_pass_eval_fail + self.human_fail_eval_pass + self.both_fail

    @property
    def agreement(self) -> float | None:
        return (self.both_pass + self.both_fail) / self.n if self.n else None

    @property
    def kappa(self) -> float | None:
        return cohens_kappa(self.both_pass, self.human_pass_eval_fail, self.human_fail_eval_pass, self.both_fail)


def cohens_kappa(a: int, b: int, c: int, d: int) -> float | None:
    """Cohen's kappa of a 2x2 table [[a, b], [c, d]]; None when chance agreement is total
    (both raters gave a single answer throughout) or the table is empty."""
    n = a + b + c + d
    if not n:
        return None
    observed = (a + d) / n
    chance = ((a + b) * (a + c) + (c + d) * (b + d)) / (n * n)
    if chance >= 1:
        return None
    return (observed - chance) / (1 - chance)


def kappa_interval(table: Confusion, confidence: float = CONFIDENCE, resamples: int = KAPPA_RESAMPLES,
                   seed: int = KAPPA_SEED) -> tuple[float, float] | None:
    """The interval of kappa of an evaluator's 2x2 table (kappa_table_interval)."""
    return kappa_table_interval([[table.both_pass, table.human_pass_eval_fail],
                                 [table.human_fail_eval_pass, table.both_fail]], confidence, resamples, seed)


def kappa_of_matrix(matrix: np.ndarray) -> float | None:
    """Cohen's kappa of a square table (rows: first rater): (observed - chance) / (1 - chance),
    chance from the two raters' margins; None when empty or chance agreement is total."""
    n = matrix.sum()
    if not n:
        return None
    observed = np.trace(matrix) / n
    chance = float((matrix.sum(axis=1) * matrix.sum(axis=0)).sum() / (n * n))
    if chance >= 1:
        return None
    return float((observed - chance) / (1 - chance))


def kappa_table_interval(table, confidence: float = CONFIDENCE, resamples: int = KAPPA_RESAMPLES,
                         seed: int = KAPPA_SEED) -> tuple[float, float] | None:
    """Percentile bootstrap interval of kappa of a square table: the table is resampled as a
    multinomial of its cells with a fixed seed (the page shows the same numbers on every load).
    Resamples whose kappa is undefined are dropped. None below 10 pairs or when kappa itself is
    undefined."""
    cells = np.array(table, dtype=float).ravel()
    n = int(cells.sum())
    k = int(round(len(cells) ** 0.5))
    if n < KAPPA_MIN_PAIRS or kappa_of_matrix(cells.reshape(k, k)) is None:
        return None
    draws = np.random.default_rng(seed).multinomial(n, cells / n, size=resamples).reshape(resamples, k, k)
    observed = np.trace(draws, axis1=1, axis2=2) / n
    chance = (draws.sum(axis=2) * draws.sum(axis=1)).sum(axis=1) / (n * n)
    with np.errstate(divide="ignore", invalid="ignore"):
        kappas = np.where(chance < 1, (observed - chance) / (1 - chance), np.nan)
    kappas = kappas[~np.isnan(kappas)]
    if len(kappas) < resamples // 2:
        return None
    alpha = 1 - confidence
    low, high = np.quantile(kappas, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def percent(value: float | None, digits: int = 1) -> str:
    return "–" if value is None or math.isnan(value) else f"{value * 100:.{digits}f}%"
