from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import role_required
from accounts.roles import OPS, has_role
from backends import get_backend
from backends.base import BackendError
from insights.human_agreement import HumanAgreement, human_agreement
from insights.stats import (
    HISTORY_ROWS,
    PASS_RATE_DAYS,
    STEP_LADDER_BP,
    TRAFFIC_DAYS,
    SamplingStats,
    rate_history,
    reviews_per_day,
    sampling_stats,
    stats_from_health,
)
from runs.models import Automation, SamplingRateChange
from runs.policy import InvalidRate, sampling_policy_set, sampling_rate_set, step_down_threshold_set
from runs.sampling import bp_to_percent
from web.backend_errors import backend_errors
from web.forms.double import DoubleReviewShareForm
from web.forms.sampling import SamplingRateForm, StepDownThresholdForm, StrataForm

# --- Sampling page (ops) ------------------------------------------------------------------


@dataclass
class SamplingCard:
    """Everything one automation's section of the sampling page shows."""

    automation: Automation
    stats: SamplingStats
    history: list[SamplingRateChange]
    rate_form: SamplingRateForm
    threshold_form: StepDownThresholdForm
    strata_form: StrataForm | None = None
    saved: str = ""
    double_form: DoubleReviewShareForm | None = None
    agreement: HumanAgreement | None = None  # the double reviews (docs/estimates.md#human-agreement)

    def projections(self) -> list[dict]:
        """Reviews per day at the current rate and at each step of the ladder."""
        rates = sorted({self.automation.sampling_rate_bp, *STEP_LADDER_BP}, reverse=True)
        return [{"bp": rate, "current": rate == self.automation.sampling_rate_bp,
                 "reviews": reviews_per_day(self.stats.runs_per_day, rate)} for rate in rates]

    def interval_bar(self, width: int = 300) -> dict | None:
        """Geometry of the small interval bar (band = interval, line = threshold)."""
        interval = self.stats.interval
        if interval is None:
            return None
        band = max(2.0, round((interval.high - interval.low) * width, 1))
        return {"x": round(interval.low * width, 1), "width": band,
                "point": round((self.stats.pass_rate or 0) * width, 1),
                "threshold": round(self.automation.step_down_threshold * width, 1)}

    def suggestion_percent(self) -> str:
        return f"{self.stats.suggestion_bp / 100:g}" if self.stats.suggestion_bp is not None else ""


def _sampling_stats(automations: list[Automation], after_save: bool = False) -> dict[int, SamplingStats]:
    """Counted in Loupe, or in proxy mode (reviews generation) the upstream's review health."""
    stats = sampling_stats(automations)
    try:
        health = get_backend().review_health(automations) if automations else None
    except BackendError:
        if not after_save:
            raise  # the page says what failed (backend_errors)
        health = None  # the change is saved; the card shows Loupe's own counts this once
    for automation in automations:
        if health and automation.pk in health:
            stats[automation.pk] = stats_from_health(automation, health[automation.pk])
    return stats


def _sampling_cards(automations: list[Automation], bound=None, saved: str = "",
                    after_save: bool = False) -> list[SamplingCard]:
    stats, history = _sampling_stats(automations, after_save), rate_history(automations)
    agreement = human_agreement([a.pk for a in automations])
    bound = bound or {}
    return [
        SamplingCard(
            automation=a, stats=stats[a.pk], history=history[a.pk],
            rate_form=bound.get((a.pk, "rate")) or SamplingRateForm(automation=a),
            threshold_form=bound.get((a.pk, "threshold")) or StepDownThresholdForm(automation=a),
            strata_form=bound.get((a.pk, "strata")) or StrataForm(automation=a),
            saved=saved,
            double_form=bound.get((a.pk, "double")) or DoubleReviewShareForm(automation=a),
            agreement=agreement[a.pk],
        )
        for a in automations
    ]


def _sampling_context(request: HttpRequest, cards: list[SamplingCard]) -> dict:
    return {"nav": "sampling", "cards": cards, "can_edit": has_role(request.user, OPS),
            "proxy": get_backend().name != "local",
            "health": any(card.stats.from_upstream for card in cards),
            "traffic_days": TRAFFIC_DAYS, "pass_rate_days": PASS_RATE_DAYS, "history_rows": HISTORY_ROWS,
            "now": timezone.now()}


def _automation_or_404(ref: str) -> Automation:
    try:
        return Automation.objects.by_ref(ref)
    except Automation.DoesNotExist as missing:
        raise Http404(f"No automation {ref}.") from missing


@require_GET
@backend_errors
def sampling(request: HttpRequest) -> HttpResponse:
    # Through the backend: in proxy mode this mirrors the upstream automations first.
    cards = _sampling_cards(get_backend().automations())
    return render(request, "runs/sampling.html", _sampling_context(request, cards))


def _card_response(request: HttpRequest, automation: Automation, form=None, saved: str = "") -> HttpResponse:
    """After a POST: the card fragment for htmx; a redirect (saved) or the full page with the
    bound form (invalid, status 200 so nothing typed is lost) otherwise."""
    if saved and not request.htmx:
        messages.success(request, saved)
        return redirect(f"{reverse('sampling')}#sampling-{automation.pk}")
    bound = {(automation.pk, form.prefix.split("-")[0]): form} if form else {}
    if request.htmx:
        card = _sampling_cards([automation], bound, saved, after_save=True)[0]
        return render(request, "runs/partials/sampling_card.html", {**_sampling_context(request, []), "card": card})
    automations = list(Automation.objects.all())
    return render(request, "runs/sampling.html",
                  _sampling_context(request, _sampling_cards(automations, bound, after_save=True)))


def card_form_response(request: HttpRequest, automation: Automation, form, change, saved, refused=None) -> HttpResponse:
    """A sampling card's form, posted: when valid, `change()` (a runs.policy write) and the card
    with the message `saved()`; an InvalidRate it raises (e.g. a change already scheduled for
    later) becomes the form's error, `refused(error)` -> (field or None, message), and the card
    keeps what was typed, as an invalid form does."""
    if form.is_valid():
        try:
            change()
        except InvalidRate as error:
            form.add_error(*(refused(error) if refused else (None, str(error))))
        else:
            automation.refresh_from_db()
            return _card_response(request, automation, saved=saved())
    return _card_response(request, automation, form)


def card_form_view(form_class, action: str, *, change, saved, refused=None):
    """The view of one sampling card's form (POST, the ops role to `action`): the form of the
    automation named in the URL, bound to the post, answered by card_form_response with
    `change(automation, form, user)` and the message `saved(automation, form)`."""

    @require_POST
    @role_required(OPS, action=action)
    def view(request: HttpRequest, ref: str) -> HttpResponse:
        automation = _automation_or_404(ref)
        form = form_class(request.POST, automation=automation)
        return card_form_response(request, automation, form, change=lambda: change(automation, form, request.user),
                                  saved=lambda: saved(automation, form), refused=refused)

    return view


sampling_rate = card_form_view(
    SamplingRateForm, "change sampling rates",
    change=lambda automation, form, user: sampling_rate_set(automation=automation, rate_bp=form.rate_bp, user=user,
                                                            reason=form.cleaned_data["reason"]),
    saved=lambda automation, form: f"{automation.display_name}: sampling rate set to {bp_to_percent(form.rate_bp)}.")
sampling_threshold = card_form_view(
    StepDownThresholdForm, "change the step-down threshold",
    change=lambda automation, form, user: step_down_threshold_set(automation=automation, threshold=form.threshold,
                                                                  user=user),
    saved=lambda automation, form: (f"{automation.display_name}: step-down threshold set to "
                                    f"{form.cleaned_data['threshold_percent']}%."))
# Sampling by risk (docs/rules.md#strata): the ordered strata, through the same service and
# history as the API; a refused stratum names its field and keeps what was typed.
sampling_strata = card_form_view(
    StrataForm, "change sampling strata",
    change=lambda automation, form, user: sampling_policy_set(automation=automation, user=user,
                                                              reason=form.cleaned_data["reason"],
                                                              strata=form.cleaned_data["strata"]),
    saved=lambda automation, form: f"{automation.display_name}: {len(automation.sampling_strata)} strata saved.",
    refused=lambda error: ("strata" if error.field.startswith("strata") else None, f"{error.field}: {error}"))
