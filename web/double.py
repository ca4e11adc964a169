"""Double review pages (docs/rules.md#double-review): the second-review queue and the blind
pane (reviewers), the adjudication queue and the side-by-side decision (leads), and the share
on the sampling page (ops). Logic lives in review.double and review.double_queries."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import role_required
from accounts.roles import LEAD, REVIEWER, has_role
from backends.saves import pretty
from review.double import StaleSecondReview, second_adjudicate, second_submit, second_take
from review.double_queries import adjudication_queue, dispute, second_for_pane, second_review_queue
from review.jsondiff import EditError
from review.services import ReviewError
from runs.models import DOUBLE_DISPUTED, Run
from runs.policy import sampling_policy_set
from web.forms.double import AdjudicationForm, DoubleReviewShareForm, SecondReviewForm
from web.jsontree import render_tree
from web.sampling import card_form_view

reviewer_only = role_required(REVIEWER, action="give second reviews")
lead_only = role_required(LEAD, action="adjudicate disagreements between reviewers")


def _run_or_404(loader, run_id: str):
    try:
        return loader(run_id)
    except Run.DoesNotExist as missing:
        raise Http404(f"No run {run_id}.") from missing


@require_GET
@reviewer_only
def second_queue(request: HttpRequest) -> HttpResponse:
    lead = has_role(request.user, LEAD)
    return render(request, "review/second_queue.html", {
        "nav": "double", "rows": second_review_queue(request.user), "lead": lead,
        "disputed": Run.objects.filter(double_review=DOUBLE_DISPUTED).count() if lead else 0})


@require_POST
@reviewer_only
def second_take_view(request: HttpRequest, run_id: str) -> HttpResponse:
    try:
        second_take(run_id=run_id, user=request.user)
    except Run.DoesNotExist as missing:
        raise Http404(f"No run {run_id}.") from missing
    except ReviewError as refused:
        messages.error(request, str(refused))
        return redirect("second_queue")
    return redirect("second_pane", run_id=run_id)


def _pane(request, run, second, form=None, status: int = 200) -> HttpResponse:
    form = form or SecondReviewForm(initial={"expected": pretty(run.output), "version": second.version},
                                    output=run.output)
    return render(request, "review/second_pane.html", {
        "nav": "double", "run": run, "second": second, "form": form, "files": list(run.files.all()),
        "input_tree": render_tree(run.input), "output_tree": render_tree(run.output)}, status=status)


@require_GET
@reviewer_only
def second_pane(request: HttpRequest, run_id: str) -> HttpResponse:
    """The run as its second reviewer sees it: input and original output, never the first review."""
    run, second = _run_or_404(second_for_pane, run_id)
    if second is None or second.reviewer_id != request.user.pk or second.submitted_at:
        messages.error(request, "Take the run's second review from this queue first.")
        return redirect("second_queue")
    return _pane(request, run, second)


@require_POST
@reviewer_only
def second_submit_view(request: HttpRequest, run_id: str) -> HttpResponse:
    run, second = _run_or_404(second_for_pane, run_id)
    form = SecondReviewForm(request.POST, output=run.output)
    if second is None:
        return redirect("second_queue")
    if not form.is_valid():
        return _pane(request, run, second, form, status=400)
    data = form.cleaned_data
    try:
        second_submit(run_id=run_id, user=request.user, verdict=data["verdict"], note=data["body"],
                      expected=data["expected"], base_version=data["version"])
    except ReviewError as refused:  # stale, or no longer held: what was typed stays in the form
        form.add_error(None, str(refused))
        return _pane(request, run, second, form, status=409 if isinstance(refused, StaleSecondReview) else 400)
    messages.success(request, f"Second review of {run_id} saved.")
    return redirect("second_queue")


@require_GET
@lead_only
def adjudication(request: HttpRequest) -> HttpResponse:
    return render(request, "review/adjudication_queue.html", {"nav": "double", "rows": adjudication_queue()})


def _dispute_page(request, run_id: str, form=None, status: int = 200) -> HttpResponse:
    case = _run_or_404(dispute, run_id)
    form = form or AdjudicationForm(initial={"version": case.second.version, "expected": pretty(case.run.output)},
                                    output=case.run.output)
    return render(request, "review/adjudicate.html", {
        "nav": "double", "case": case, "run": case.run, "form": form,
        "open": case.run.double_review == DOUBLE_DISPUTED,
        "input_tree": render_tree(case.run.input), "output_tree": render_tree(case.run.output)}, status=status)


@require_GET
@lead_only
def adjudicate_page(request: HttpRequest, run_id: str) -> HttpResponse:
    return _dispute_page(request, run_id)


@require_POST
@lead_only
def adjudicate(request: HttpRequest, run_id: str) -> HttpResponse:
    run = _run_or_404(lambda pk: Run.objects.only("output").get(pk=pk), run_id)
    form = AdjudicationForm(request.POST, output=run.output)
    if not form.is_valid():
        return _dispute_page(request, run_id, form, status=400)
    data = form.cleaned_data
    try:
        second_adjudicate(run_id=run_id, user=request.user, decision=data["decision"], verdict=data["verdict"] or None,
                          note=data["body"], expected=data["expected"], base_version=data["version"])
    except (ReviewError, EditError) as refused:
        form.add_error(None, str(refused))
        return _dispute_page(request, run_id, form, status=409 if isinstance(refused, StaleSecondReview) else 400)
    messages.success(request, f"{run_id}: decided; the decision is now the run's review.")
    return redirect(reverse("adjudication"))


sampling_double = card_form_view(
    DoubleReviewShareForm, "change the double-review share",
    change=lambda automation, form, user: sampling_policy_set(automation=automation, user=user,
                                                              reason=form.cleaned_data["reason"],
                                                              double_bp=form.share_bp),
    saved=lambda automation, form: (f"{automation.display_name}: double-review share set to "
                                    f"{form.cleaned_data['share_percent']:g} %."))
