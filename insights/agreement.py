"""Evaluators against humans: per automation and evaluator, the 2 x 2 table of the human verdict
(pass / fail; partial is left out) against the evaluator's verdict, with agreement and Cohen's
kappa (insights/estimates.py; docs/estimates.md says why the bootstrap interval)."""

from dataclasses import dataclass, field

from django.db.models import Count

from insights.estimates import Confusion, kappa_interval
from runs.chips import Rating
from runs.models import Automation, EvaluatorScore


@dataclass
class VersionAgreement:
    """One run version's share of an evaluator's table (version None: runs recorded without one)."""

    version: str | None
    table: Confusion

    @property
    def kappa_interval(self) -> tuple[float, float] | None:
        return kappa_interval(self.table)


@dataclass
class AgreementRow:
    automation: Automation
    evaluator: str
    table: Confusion
    versions: list[VersionAgreement] = field(default_factory=list)  # in version order

    @property
    def kappa_interval(self) -> tuple[float, float] | None:
        return kappa_interval(self.table)


def _confusion(c: dict[str, int]) -> Confusion:
    return Confusion(c.get("pass_pass", 0), c.get("pass_fail", 0), c.get("fail_pass", 0), c.get("fail_fail", 0))


def evaluator_agreement(automations: list[Automation]) -> list[AgreementRow]:
    """One grouped query over the evaluator scores of runs that have a pass or fail verdict, by
    run version as well; the evaluator's whole table is the sum of its versions'."""
    by_pk = {a.pk: a for a in automations}
    rows = (EvaluatorScore.objects
            .filter(run__automation_id__in=list(by_pk), passed__isnull=False,
                    run__review__rating__in=[Rating.PASS, Rating.FAIL])
            .order_by().values("run__automation_id", "name", "run__version", "passed", "run__review__rating")
            .annotate(n=Count("pk")))
    cells = _cells_by_evaluator(rows)
    return [_agreement_row(by_pk[pk], name, versions)
            for (pk, name), versions in sorted(cells.items(), key=lambda item: (by_pk[item[0][0]].ref, item[0][1]))]


def _cells_by_evaluator(rows) -> dict[tuple, dict[str | None, dict[str, int]]]:
    """{(automation_id, evaluator): {version: {"<human>_<evaluator>": n}}} from the grouped rows."""
    cells: dict[tuple, dict[str | None, dict[str, int]]] = {}
    for row in rows:
        human = "pass" if row["run__review__rating"] == Rating.PASS else "fail"
        machine = "pass" if row["passed"] else "fail"
        versions = cells.setdefault((row["run__automation_id"], row["name"]), {})
        cell = versions.setdefault(row["run__version"] or None, {})
        cell[f"{human}_{machine}"] = cell.get(f"{human}_{machine}", 0) + row["n"]
    return cells


def _agreement_row(automation: Automation, name: str, versions: dict[str | None, dict[str, int]]) -> AgreementRow:
    """An evaluator's table (the sum of its versions') and its per-version tables in version order."""
    total: dict[str, int] = {}
    for cell in versions.values():
        for key, n in cell.items():
            total[key] = total.get(key, 0) + n
    per_version = [VersionAgreement(v, _confusion(c))
                   for v, c in sorted(versions.items(), key=lambda item: (item[0] is None, item[0] or ""))]
    return AgreementRow(automation, name, _confusion(total), per_version)
