"""Deterministic sampling (docs/rules.md#sampling).

Every run id hashes to a stable bucket in [0, 10000). A run is sampled when its bucket is
below the rate, in basis points, that was in effect when the run was created. The rule needs
only the run id, its creation time and the rate history, so it works unchanged in proxy mode.
"""

import bisect
import hashlib
from dataclasses import dataclass, field
from datetime import datetime

BUCKETS = 10_000


def sample_bucket(run_id: str) -> int:
    digest = hashlib.sha256(run_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def double_bucket(run_id: str) -> int:
    """A second bucket of the run id, independent of the sampling bucket (the next 8 bytes of the
    same digest): a sampled run goes to a second, blind reviewer when it is below the
    double-review share in effect when the run was created (docs/rules.md#double-review)."""
    digest = hashlib.sha256(run_id.encode("utf-8")).digest()
    return int.from_bytes(digest[8:16], "big") % BUCKETS


@dataclass(frozen=True)
class RateSchedule:
    """The rates of one automation over time: `initial_bp` before the first change."""

    initial_bp: int
    changes: tuple[tuple[datetime, int], ...] = field(default_factory=tuple)
    # (effective_at, strata) of each change that set the strata (runs.strata.Stratum tuples),
    # oldest first; none before the first.
    strata_changes: tuple[tuple[datetime, tuple], ...] = field(default_factory=tuple)
    # (effective_at, double-review share in basis points) of each change that set the share,
    # oldest first; 0 before the first.
    double_changes: tuple[tuple[datetime, int], ...] = field(default_factory=tuple)

    @property
    def has_strata(self) -> bool:
        return any(strata for _, strata in self.strata_changes)

    def strata_at(self, moment: datetime) -> tuple:
        index = bisect.bisect_right([when for when, _ in self.strata_changes], moment)
        return self.strata_changes[index - 1][1] if index else ()

    def double_at(self, moment: datetime) -> int:
        index = bisect.bisect_right([when for when, _ in self.double_changes], moment)
        return self.double_changes[index - 1][1] if index else 0

    def is_double(self, run_id: str, created_at: datetime, sampled: bool) -> bool:
        """Whether a sampled run goes to a second, blind reviewer too."""
        return sampled and bool(self.double_changes) and double_bucket(run_id) < self.double_at(created_at)

    def rate_at(self, moment: datetime) -> int:
        times = [when for when, _ in self.changes]
        index = bisect.bisect_right(times, moment)
        if index == 0:
            return self.initial_bp
        return self.changes[index - 1][1]

    def is_sampled(self, run_id: str, created_at: datetime) -> bool:
        return sample_bucket(run_id) < self.rate_at(created_at)


def bp_to_percent(rate_bp: int) -> str:
    """1500 -> '15%', 50 -> '0.5%'."""
    text = f"{rate_bp / 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"
