"""An automation's sampling by API: GET / PUT /api/v1/automations/{id}/sampling (docs/rules.md#strata).

Rates, the threshold and the double-review share are percents (0-100). PUT changes any of the
default rate, the strata, the step-down threshold and the double-review share, with a reason,
now or from a future `effectiveAt`, through the same service and into the same history as the
sampling page (runs.policy.sampling_policy_set). The ETag is the automation's sampling
version; a PUT with a stale If-Match (or `version`) is a 412 carrying the current settings;
nothing is half-saved."""

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.roles import OPS
from api.automations import get_automation
from api.support import (
    api_response,
    api_view,
    bad_request,
    iso,
    json_body,
    reject_unknown,
    request_id,
)
from insights.stats import HISTORY_ROWS, rate_history
from runs.models import Automation
from runs.policy import InvalidRate, StaleSampling, sampling_policy_set
from runs.strata import StrataError, describe, rate_bp_from_percent

PUT_FIELDS = {"defaultRate", "strata", "stepDownThreshold", "doubleReviewShare", "reason", "effectiveAt", "version"}
CHANGES = ("defaultRate", "strata", "stepDownThreshold", "doubleReviewShare")


def _percent(bp: int) -> float:
    return bp / 100


def sampling_to_dict(automation: Automation) -> dict:
    history = rate_history([automation], rows=HISTORY_ROWS)[automation.pk]
    now = timezone.now()
    return {
        "automationId": str(automation.pk),
        "version": automation.sampling_version,
        "defaultRate": _percent(automation.sampling_rate_bp),
        "strata": [{"name": s["name"], "when": s["when"], "rate": _percent(s["rate_bp"]),
                    "description": describe(s["when"])} for s in automation.sampling_strata],
        "stepDownThreshold": automation.step_down_threshold * 100,
        # docs/rules.md#double-review: the share of sampled runs also given a blind second review.
        "doubleReviewShare": _percent(automation.double_review_bp),
        "history": [{
            "effectiveAt": iso(change.effective_at), "scheduled": change.effective_at > now,
            "oldDefaultRate": None if change.old_bp is None else _percent(change.old_bp),
            "defaultRate": _percent(change.new_bp),
            "strata": None if change.strata is None else [
                {"name": s["name"], "when": s["when"], "rate": _percent(s["rate_bp"])} for s in change.strata],
            "stepDownThreshold": None if change.step_down_threshold is None else change.step_down_threshold * 100,
            "doubleReviewShare": None if change.double_review_bp is None else _percent(change.double_review_bp),
            "changedBy": change.changed_by.username if change.changed_by else None,
            "reason": change.reason,
        } for change in history],
    }


def _answer(request: HttpRequest, automation: Automation, status: int = 200):
    response = api_response(request, sampling_to_dict(automation), status=status)
    response["ETag"] = f'"{automation.sampling_version}"'
    return response


@api_view()
def sampling_get(request: HttpRequest, automation_id: str):
    return _answer(request, get_automation(automation_id))


def _expected_version(request: HttpRequest, body: dict) -> int | None:
    raw = request.headers.get("If-Match")
    if raw is not None and raw.strip() != "*":
        value = raw.strip().removeprefix("W/").strip('"')
        if not value.isdigit():
            raise bad_request("If-Match", 'Expected the ETag of a sampling read, such as "4".')
        return int(value)
    version = body.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise bad_request("version", "Must be the whole number a GET returned as version.")
    return version


def _rates(body: dict) -> tuple[int | None, float | None]:
    """defaultRate in basis points and stepDownThreshold as a fraction, from percents."""
    try:
        default_bp = None if body.get("defaultRate") is None else rate_bp_from_percent(body["defaultRate"], "defaultRate")
        if body.get("stepDownThreshold") is None:
            return default_bp, None
        threshold = rate_bp_from_percent(body["stepDownThreshold"], "stepDownThreshold") / 10_000
    except StrataError as error:
        raise bad_request(error.field, f"{error.message} (percent)") from None
    if threshold <= 0:
        raise bad_request("stepDownThreshold", "Must be above 0 and at most 100 (percent).")
    return default_bp, threshold


def _effective_at(body: dict):
    raw = body.get("effectiveAt")
    if raw is None:
        return None
    effective_at = parse_datetime(raw) if isinstance(raw, str) else None
    if effective_at is None or timezone.is_naive(effective_at):
        raise bad_request("effectiveAt", "Must be an ISO 8601 date-time with a time zone.")
    return effective_at


def _checked(body: dict) -> None:
    reject_unknown(body, PUT_FIELDS)
    if not set(CHANGES) & body.keys():
        raise bad_request("<root>", f"Send at least one of {', '.join(CHANGES)}.")


def _double_share(body: dict) -> int | None:
    """doubleReviewShare in basis points, from a percent; None when not sent."""
    if "doubleReviewShare" not in body:
        return None
    try:
        return rate_bp_from_percent(body["doubleReviewShare"], "doubleReviewShare")
    except StrataError as error:
        raise bad_request(error.field, f"{error.message} (percent)") from None


def _reason(body: dict) -> str:
    """The change's reason (a change always gives one); strata, when sent, are a list."""
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise bad_request("reason", "Give a reason for the change.")
    if "strata" in body and body["strata"] is None:
        raise bad_request("strata", "Must be a list (an empty list removes every stratum).")
    return reason


def _stale(request: HttpRequest, automation) -> HttpResponse:
    """412 with the current settings: nothing was written."""
    automation.refresh_from_db()
    data = {"issues": [{"field": "If-Match", "message": "The sampling settings changed since you read them; "
                        "nothing was written. The current settings are attached.",
                        "code": "precondition_failed", "severity": "error"}],
            "requestId": request_id(request), **sampling_to_dict(automation)}
    response = api_response(request, data, status=412)
    response["ETag"] = f'"{automation.sampling_version}"'
    return response


@api_view(roles=(OPS,), action="change sampling")
def sampling_put(request: HttpRequest, automation_id: str):
    automation = get_automation(automation_id)
    body = json_body(request)
    _checked(body)
    default_bp, threshold = _rates(body)
    double_bp = _double_share(body)
    effective_at = _effective_at(body)
    reason = _reason(body)
    expected = _expected_version(request, body)
    try:
        sampling_policy_set(automation=automation, user=request.user, reason=reason, default_bp=default_bp,
                            strata=body.get("strata"), threshold=threshold, effective_at=effective_at,
                            expected_version=expected, double_bp=double_bp)
    except InvalidRate as error:
        raise bad_request(error.field, str(error)) from None
    except StaleSampling:
        return _stale(request, automation)
    automation.refresh_from_db()
    return _answer(request, automation)
