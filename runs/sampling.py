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


@dataclass(frozen=True)
class RateSchedule:
    """The rates of one automation over time: `initial_bp` before the first change."""

    initial_bp: int
    changes: tuple[tuple[datetime, int], ...] = field(default_factory=tuple)
    # (effective_at, strata) of each change that set the strata (runs.strata.Stratum tuples),
    # oldest first; none before the first.
    strata_changes: tuple[tuple[datetime, tuple], ...] = field(default_factory=tuple)

    @property
    def has_strata(self) -> bool:
        return any(strata for _, strata in self.strata_changes)

    def strata_at(self, moment: datetime) -> tuple:
        index = bisect.bisect_right([when for when, _ in self.strata_changes], moment)
        return self.strata_changes[index - 1][1] if index else ()

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
