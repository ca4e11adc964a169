"""Evaluators against humans: per automation and evaluator, the 2 x 2 table of the human verdict
(pass / fail; partial is left out) against the evaluator's verdict, with agreement and Cohen's
kappa (insights/estimates.py; docs/estimates.md says why the bootstrap interval)."""

from dataclasses import dataclass

from django.db.models import Count

from insights.estimates import Confusion, kappa_interval
from runs.chips import Rating
from runs.models import Automation, EvaluatorScore


@dataclass
class AgreementRow:
    automation: Automation
    evaluator: str
    table: Confusion

    @property
    def kappa_interval(self) -> tuple[float, float] | None:
        return kappa_interval(self.table)


def evaluator_agreement(automations: list[Automation]) -> list[AgreementRow]:
    """One grouped query over the evaluator scores of runs that have a pass or fail verdict."""
    by_pk = {a.pk: a for a in automations}
    rows = (EvaluatorScore.objects
            .filter(run__automation_id__in=list(by_pk), passed__isnull=False,
                    run__review__rating__in=[Rating.PASS, Rating.FAIL])
            .order_by().values("run__automation_id", "name", "passed", "run__review__rating")
            .annotate(n=Count("pk")))
    cells: dict[tuple, dict[str, int]] = {}
    for row in rows:
        human = "pass" if row["run__review__rating"] == Rating.PASS else "fail"
        machine = "pass" if row["passed"] else "fail"
        cells.setdefault((row["run__automation_id"], row["name"]), {})[f"{human}_{machine}"] = row["n"]
    result = []
    for (pk, name), c in sorted(cells.items(), key=lambda item: (by_pk[item[0][0]].ref, item[0][1])):
        table = Confusion(c.get("pass_pass", 0), c.get("pass_fail", 0), c.get("fail_pass", 0), c.get("fail_fail", 0))
        result.append(AgreementRow(by_pk[pk], name, table))
    return result
