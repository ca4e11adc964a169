"""The Evaluators page: how often each evaluator agrees with the reviewers (insights.agreement)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from insights.agreement import evaluator_agreement
from runs.models import Automation


@require_GET
def evaluators(request: HttpRequest) -> HttpResponse:
    rows = evaluator_agreement(list(Automation.objects.all()))
    return render(request, "insights/evaluators.html", {"nav": "evaluators", "rows": rows})
