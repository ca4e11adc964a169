"""Human-human agreement by API: GET /api/v1/automations/{id}/agreement (docs/estimates.md#human-agreement).

The blind second reviews of the last 90 days (review.models.SecondReview): the first verdict
against the second, Cohen's kappa with its 95 % percentile bootstrap interval, per corrected
field how often both reviewers left it alike, and how many disagreements wait for a lead."""

from django.http import HttpRequest

from api.automations import get_automation
from api.support import api_response, api_view
from insights.estimates import KAPPA_MIN_PAIRS
from insights.human_agreement import AGREEMENT_DAYS, VERDICTS, human_agreement

METHOD = (f"Cohen's kappa over pass / fail / partial; 95 % percentile bootstrap interval (2,000 multinomial "
          f"resamples of the table, fixed seed), null below {KAPPA_MIN_PAIRS} pairs.")


def agreement_to_dict(automation) -> dict:
    agreement = human_agreement([automation.pk])[automation.pk]
    interval = agreement.interval
    return {
        "automationId": str(automation.pk),
        "days": AGREEMENT_DAYS,
        "doubleReviewShare": automation.double_review_bp / 100,
        "pairs": agreement.pairs,
        "verdicts": {str(first): {str(second): agreement.table[i][j] for j, second in enumerate(VERDICTS)}
                     for i, first in enumerate(VERDICTS)},
        "observedAgreement": agreement.observed,
        "kappa": agreement.kappa,
        "kappaInterval": None if interval is None else {"low": interval[0], "high": interval[1]},
        "method": METHOD,
        "disputed": agreement.disputed,
        "adjudicated": agreement.adjudicated,
        "awaitingAdjudication": agreement.awaiting,
        "fields": [{"path": f.pattern, "corrected": f.corrected, "alike": f.alike, "agreement": f.share}
                   for f in agreement.fields],
    }


@api_view()
def agreement_get(request: HttpRequest, automation_id: str):
    return api_response(request, agreement_to_dict(get_automation(automation_id)))
