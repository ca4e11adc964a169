"""Calibrated confidence (docs/calibration.md): for each field an automation reports a
confidence for, and each confidence level (low, medium, high) or decile (0.0-0.1, …, 0.9-1.0),
how often people changed the value: reviewers of sampled runs (their corrected output against
the output) and human review tasks (the approved data against what the automation produced).
Read from the ReviewTally rollup (kinds calrev, calchg, taskrev, taskchg: review.calibration,
humanreview.calibration), one grouped query, whatever the number of runs.

Per level: the change rate with its 95 % Wilson interval (insights.stats.wilson_interval). Per
field: a flag when its highest level is changed more often than its lowest, with a one-sided
Fisher exact test, and a suggested review rule (SUGGESTION_RULE)."""

import math
from dataclasses import dataclass, field

from django.db.models import Q, Sum

from insights.stats import Interval, wilson_interval
from review.calibration import split_key
from review.models import ReviewTally
from runs.confidence import LEVEL_ORDER, level_rank

Kind = ReviewTally.Kind
# A level may skip review when the upper bound of its change rate's 95 % interval is at most
# TARGET_CHANGE_RATE, measured on at least MIN_REVIEWED fields.
TARGET_CHANGE_RATE = 0.05
MIN_REVIEWED = 30
SIGNIFICANCE = 0.05
SUGGESTION_RULE = (
    f"Skip review at a confidence level when at least {MIN_REVIEWED} of its values were checked and the upper "
    f"bound of the 95 % interval of its change rate is at most {TARGET_CHANGE_RATE:.0%}, and so is every higher "
    "level's; the lowest such level is the threshold. No level qualifies, or the highest level is changed "
    "significantly more often than the lowest: review always. Too few checks at the highest level: no advice yet.")


@dataclass
class LevelRow:
    level: str
    reviewed: int = 0  # values checked: in reviews of sampled runs plus in approved tasks
    changed: int = 0
    from_tasks: int = 0  # of `reviewed`, checked in human review tasks
    interval: Interval | None = None

    @property
    def rate(self) -> float | None:
        return self.changed / self.reviewed if self.reviewed else None

    def as_dict(self) -> dict:
        return {"level": self.level, "reviewed": self.reviewed, "changed": self.changed, "fromTasks": self.from_tasks,
                "changeRate": self.rate,
                "interval": None if self.interval is None else {"low": self.interval.low, "high": self.interval.high,
                                                                "confidence": 0.95, "method": "wilson"}}


@dataclass
class Flag:
    """The highest level changed more often than the lowest."""

    high: LevelRow
    low: LevelRow
    p_value: float

    @property
    def significant(self) -> bool:
        return self.p_value < SIGNIFICANCE

    @property
    def text(self) -> str:
        verdict = "significant at 5 %" if self.significant else "not significant at 5 %"
        p = "p < 0.001" if self.p_value < 0.001 else f"p = {self.p_value:.3f}"
        return (f"“{self.high.level}” changed in {self.high.changed} of {self.high.reviewed}, more often than "
                f"“{self.low.level}” ({self.low.changed} of {self.low.reviewed}); one-sided Fisher exact "
                f"{p}, {verdict}")

    def as_dict(self) -> dict:
        return {"high": self.high.level, "low": self.low.level, "pValue": self.p_value,
                "significant": self.significant, "test": "fisher-exact-one-sided", "text": self.text}


@dataclass
class FieldCalibration:
    path: str  # JSON pointer, array indices as *
    levels: list[LevelRow] = field(default_factory=list)
    flag: Flag | None = None
    suggestion: dict = field(default_factory=dict)

    @property
    def reviewed(self) -> int:
        return sum(row.reviewed for row in self.levels)

    @property
    def changed(self) -> int:
        return sum(row.changed for row in self.levels)

    @property
    def labelled(self) -> bool:
        return all(row.level in LEVEL_ORDER for row in self.levels)

    def as_dict(self) -> dict:
        return {"path": self.path, "reviewed": self.reviewed, "changed": self.changed,
                "levels": [row.as_dict() for row in self.levels],
                "flag": self.flag.as_dict() if self.flag else None, "suggestion": self.suggestion}


def fisher_greater(a: int, b: int, c: int, d: int) -> float:
    """One-sided Fisher exact p-value of the 2x2 table [[a, b], [c, d]], alternative "the first
    row's share in the first column is greater": P(X >= a), X hypergeometric with the margins
    fixed (summed in log space; scipy.stats is not loaded in the web process for this)."""
    row, column, total = a + b, a + c, a + b + c + d

    def log_pmf(x: int) -> float:
        return (math.lgamma(column + 1) - math.lgamma(x + 1) - math.lgamma(column - x + 1)
                + math.lgamma(total - column + 1) - math.lgamma(row - x + 1) - math.lgamma(total - column - row + x + 1)
                - math.lgamma(total + 1) + math.lgamma(row + 1) + math.lgamma(total - row + 1))

    top = min(row, column)
    return min(1.0, sum(math.exp(log_pmf(x)) for x in range(a, top + 1)))


def _flag(levels: list[LevelRow]) -> Flag | None:
    """Labels: high against low; deciles: the highest against the lowest decile with values."""
    checked = [row for row in levels if row.reviewed]
    if len(checked) < 2:
        return None
    low, high = checked[0], checked[-1]
    if {low.level, high.level} <= set(LEVEL_ORDER) and (low.level, high.level) != ("low", "high"):
        return None  # labels compare only high with low
    if high.rate <= low.rate:
        return None
    p_value = fisher_greater(high.changed, high.reviewed - high.changed, low.changed, low.reviewed - low.changed)
    return Flag(high=high, low=low, p_value=p_value)


def suggest(levels: list[LevelRow], flag: Flag | None) -> dict:
    """The review rule SUGGESTION_RULE reads for one field's levels (ascending)."""
    if flag is not None and flag.significant:
        return {"review": "always", "reason": "its highest confidence is changed more often than its lowest"}
    checked = [row for row in levels if row.reviewed]
    if not checked or checked[-1].reviewed < MIN_REVIEWED:
        return {"review": None, "reason": f"fewer than {MIN_REVIEWED} checked values at its highest confidence"}
    threshold = None
    for row in reversed(checked):
        if row.reviewed < MIN_REVIEWED or row.interval is None or row.interval.high > TARGET_CHANGE_RATE:
            break
        threshold = row.level
    if threshold is None:
        return {"review": "always", "reason": f"no level's change rate is surely below {TARGET_CHANGE_RATE:.0%}"}
    labelled = threshold in LEVEL_ORDER
    at = f"“{threshold}”" + (" or higher" if threshold != "high" else "") if labelled else f"{threshold} or higher"
    return {"review": "auto", "threshold": threshold if labelled else float(threshold),
            "reason": f"values at confidence {at} were changed at most {TARGET_CHANGE_RATE:.0%} of the time "
                      "(upper bound of the 95 % interval)"}


def calibration(automation_id: int) -> list[FieldCalibration]:
    """Every field of one automation with a confidence that someone checked: significantly
    flagged fields first, then the most checked.
    Reviews count on sampled runs only (the sample stands for the traffic; a run opened by hand
    was picked for a reason); tasks count whatever their run's sampling."""
    rows = (ReviewTally.objects.filter(Q(sampled=True) | Q(kind__in=(Kind.TASK_REVIEWED, Kind.TASK_CHANGED)),
                                       automation_id=automation_id,
                                       kind__in=(Kind.CAL_REVIEWED, Kind.CAL_CHANGED, Kind.TASK_REVIEWED,
                                                 Kind.TASK_CHANGED))
            .order_by().values_list("kind", "path").annotate(n=Sum("count")))
    fields: dict[str, dict[str, LevelRow]] = {}
    for kind, key, n in rows:
        level, path = split_key(key)
        row = fields.setdefault(path, {}).setdefault(level, LevelRow(level))
        if kind in (Kind.CAL_REVIEWED, Kind.TASK_REVIEWED):
            row.reviewed += n
            if kind == Kind.TASK_REVIEWED:
                row.from_tasks += n
        else:
            row.changed += n
    result = []
    for path, by_level in fields.items():
        levels = sorted((row for row in by_level.values() if row.reviewed > 0), key=lambda r: level_rank(r.level))
        for row in levels:
            row.changed = min(row.changed, row.reviewed)
            row.interval = wilson_interval(row.changed, row.reviewed)
        if levels:
            flag = _flag(levels)
            result.append(FieldCalibration(path=path, levels=levels, flag=flag, suggestion=suggest(levels, flag)))
    # The fields to act on first: a significant flag, then the most checked.
    result.sort(key=lambda f: (not (f.flag and f.flag.significant), -f.reviewed, f.path))
    return result
