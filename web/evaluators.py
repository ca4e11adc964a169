"""The Evaluators page: how often each evaluator agrees with the reviewers (insights.agreement)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from backends import get_backend
from insights.agreement import evaluator_agreement
from runs.models import Automation


@require_GET
def evaluators(request: HttpRequest) -> HttpResponse:
    """Agreement is computed from runs recorded in Loupe; in proxy mode the page says so instead
    of computing it from a scan of upstream runs (docs/estimates.md, "Proxy mode")."""
    if get_backend().name != "local":
        return render(request, "insights/evaluators.html", {"nav": "evaluators", "needs_local": True})
    rows = evaluator_agreement(list(Automation.objects.all()))
    return render(request, "insights/evaluators.html", {"nav": "evaluators", "rows": rows})
