"""Human against human (docs/estimates.md#human-agreement): for each automation, the runs given a
blind second review (review.models.SecondReview) in the last AGREEMENT_DAYS days: the 3 x 3 table
of first verdict against second (pass / fail / partial), Cohen's kappa with a 95 % percentile
bootstrap interval (the same method as the evaluator table, insights/estimates.py), and per
corrected field how often the two reviewers left it alike. One query for every automation."""

from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from django.utils import timezone

from insights.estimates import kappa_of_matrix, kappa_table_interval
from review.models import SecondReview
from runs.chips import Rating

AGREEMENT_DAYS = 90
VERDICTS = (Rating.PASS, Rating.FAIL, Rating.PARTIAL)


@dataclass(frozen=True)
class FieldAgreement:
    pattern: str
    corrected: int  # runs where at least one reviewer corrected the field
    alike: int  # of those, runs where both left it the same

    @property
    def share(self) -> float:
        return self.alike / self.corrected


@dataclass
class HumanAgreement:
    """One automation's double reviews: `table[i][j]` counts first verdict VERDICTS[i] against
    second verdict VERDICTS[j]."""

    table: list[list[int]] = field(default_factory=lambda: [[0] * 3 for _ in range(3)])
    disputed: int = 0  # reviews that differed (verdict or a field)
    adjudicated: int = 0  # of those, decided by a lead
    fields: list[FieldAgreement] = field(default_factory=list)  # most corrected first

    @property
    def pairs(self) -> int:
        return int(sum(map(sum, self.table)))

    @property
    def observed(self) -> float | None:
        return sum(self.table[i][i] for i in range(3)) / self.pairs if self.pairs else None

    @property
    def kappa(self) -> float | None:
        return kappa_of_matrix(np.array(self.table, dtype=float))

    @property
    def interval(self) -> tuple[float, float] | None:
        return kappa_table_interval(self.table)

    @property
    def rows(self) -> list[tuple[str, list[int]]]:
        return [(str(verdict), self.table[i]) for i, verdict in enumerate(VERDICTS)]

    @property
    def awaiting(self) -> int:
        return self.disputed - self.adjudicated


def human_agreement(automation_ids, now=None, days: int = AGREEMENT_DAYS) -> dict[int, HumanAgreement]:
    """{automation id: HumanAgreement} of the second reviews submitted in the last `days` days."""
    since = (now or timezone.now()) - timedelta(days=days)
    result = {pk: HumanAgreement() for pk in automation_ids}
    fields: dict[int, dict[str, list[int]]] = {pk: {} for pk in result}
    rows = (SecondReview.objects.filter(run__automation_id__in=list(result), submitted_at__gte=since)
            .values_list("run__automation_id", "first_rating", "rating", "agrees", "decision", "fields"))
    index = {verdict: i for i, verdict in enumerate(VERDICTS)}
    for automation_id, first, second, agrees, decision, corrected in rows:
        agreement = result[automation_id]
        if first in index and second in index:
            agreement.table[index[first]][index[second]] += 1
        if agrees is False:
            agreement.disputed += 1
            agreement.adjudicated += bool(decision)
        for pattern, alike in (corrected or {}).items():
            counts = fields[automation_id].setdefault(pattern, [0, 0])
            counts[0] += 1
            counts[1] += bool(alike)
    for pk, by_pattern in fields.items():
        result[pk].fields = sorted((FieldAgreement(p, c, a) for p, (c, a) in by_pattern.items()),
                                   key=lambda f: (-f.corrected, f.pattern))
    return result
