"""GET /api/v1/automations/{id}/calibration: how often people changed each field an automation
reports a confidence for, per confidence level, with intervals, flags and a suggested review
rule (insights.calibration; docs/calibration.md). Read from rollups: a fixed number of queries."""

from django.http import HttpRequest

from api.automations import get_automation
from api.support import api_response, api_view
from insights.calibration import MIN_REVIEWED, SUGGESTION_RULE, TARGET_CHANGE_RATE, calibration


@api_view()
def automation_calibration(request: HttpRequest, automation_id: str):
    automation = get_automation(automation_id)
    return api_response(request, {
        "automationId": str(automation.pk),
        "fields": [f.as_dict() for f in calibration(automation.pk)],
        "rule": {"targetChangeRate": TARGET_CHANGE_RATE, "minReviewed": MIN_REVIEWED, "text": SUGGESTION_RULE},
    })
