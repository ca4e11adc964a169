"""Automations as the EigenPal API serves them (docs/api-feedback.md)."""

from datetime import UTC, datetime, time, timedelta

from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_date

from api.run_list import RunList
from api.support import (
    Query,
    api_response,
    api_view,
    bad_request,
    iso,
    limit_and_offset,
    not_found,
)
from api.times import time_param
from insights.health import BUCKETS, review_health
from insights.stats import pass_rate_estimates
from runs.models import (
    Automation,
    AutomationKind,
    Run,
)


def automation_to_dict(automation: Automation, *, detail: bool = False) -> dict:
    data = {
        "id": str(automation.pk),
        "type": automation.kind,
        "slug": automation.slug,
        "name": automation.name or None,
        "createdAt": iso(automation.created_at),
        # Loupe has no folders: every automation is unfiled (the reviews generation requires the keys).
        "folderId": None,
        "folderPath": None,
        "description": automation.description or None,
        "status": "active",
        # Loupe records runs and never starts them, so no trigger is on.
        "triggers": {"api": False, "email": False, "manual": False, "cron": False},
        "implementationAvailable": False,
        "updatedAt": iso(automation.updated_at),
    }
    if detail:
        data.update(inputSchema=None, outputSchema=None)
    return data


@api_view(params=("search", "type", "folderId", "limit", "offset"))
def automations_list(request: HttpRequest):
    query = Query(request.GET)
    limit, offset = limit_and_offset(query)
    qs = Automation.objects.order_by("kind", "slug")
    kind = query.choice("type", AutomationKind.values)
    if kind:
        qs = qs.filter(kind=kind)
    folder = query.get("folderId")
    if folder is not None and folder != "null":
        qs = qs.none()  # Loupe has no folders: every automation is at the root (folderId=null)
    search = query.get("search")
    if search:
        qs = qs.filter(Q(slug__icontains=search) | Q(name__icontains=search) | Q(description__icontains=search))
    page = list(qs[offset:offset + limit])
    return api_response(request, {"data": [automation_to_dict(a) for a in page], "total": qs.count(),
                                  "limit": limit, "offset": offset})


def get_automation(ref: str) -> Automation:
    """By id or by the typed alias `workflows.<slug>` / `agents.<slug>`."""
    try:
        return Automation.objects.by_ref(ref)
    except Automation.DoesNotExist:
        raise not_found(f"No automation {ref!r}; use its id or workflows.<slug> / agents.<slug>.",
                        field="id") from None


@api_view()
def automation_detail(request: HttpRequest, automation_id: str):
    return api_response(request, automation_to_dict(get_automation(automation_id), detail=True))


ESTIMATE_DAYS = 30
MAX_VERSION_LENGTH = 100


def _window_param(query: Query, name: str):
    """`from` / `to`: an ISO date-time, a date (midnight UTC), or a relative time (now()-7d)."""
    raw = query.get(name)
    try:
        day = parse_date(raw.strip()) if raw is not None else None
        if day is not None:
            return datetime.combine(day, time.min, tzinfo=UTC)
        return time_param(query, name)
    except ValueError:  # well-formed but impossible (month 13, hour 25)
        raise bad_request(name, "Not a valid date or date-time.") from None


@api_view(params=("from", "to", "version"))
def automation_estimate(request: HttpRequest, automation_id: str):
    """The weighted pass-rate estimate the sampling page shows (docs/estimates.md), for runs
    created in [from, to) (default: the last 30 days), optionally of one version."""
    automation = get_automation(automation_id)
    query = Query(request.GET)
    end = _window_param(query, "to") or timezone.now()
    start = _window_param(query, "from") or end - timedelta(days=ESTIMATE_DAYS)
    if start >= end:
        raise bad_request("from", "Must be before `to`.")
    version = query.get("version")
    if version is not None and len(version) > MAX_VERSION_LENGTH:
        raise bad_request("version", f"At most {MAX_VERSION_LENGTH} characters.")
    estimate = pass_rate_estimates([automation], start=start, end=end, version=version)[automation.pk]
    return api_response(request, {"automationId": str(automation.pk), "from": iso(start), "to": iso(end),
                                  "version": version, **estimate.as_dict()})


HEALTH_RUN_FILTERS = ("type", "status", "trigger", "triggeredBy", "sourceRef", "batchId", "exampleId",
                      "exampleIdContains", "completedAfter", "completedBefore", "experiments")
HEALTH_PARAMS = (*HEALTH_RUN_FILTERS, "from", "to", "bucket", "rollingWindow", "minRollingReviews")


@api_view(params=HEALTH_PARAMS)
def automation_review_health(request: HttpRequest, automation_id: str):
    """Coverage and correctness of reviewed runs (docs/api-reviews.md, "Reviews health")."""
    automation = get_automation(automation_id)
    query = Query(request.GET)
    now = timezone.now()
    end = time_param(query, "to") or now
    start = time_param(query, "from") or end - timedelta(days=30)
    if start > end:
        raise bad_request("from", "Must be before to.")
    if (end - start).days > 3660:
        raise bad_request("from", "The range is limited to ten years.")
    bucket = query.choice("bucket", BUCKETS) or "day"
    window = query.number("rollingWindow", default=100, minimum=1, maximum=100_000)
    minimum = query.number("minRollingReviews", default=1, minimum=1, maximum=100_000)
    runs = None
    if any(name in query for name in HEALTH_RUN_FILTERS):
        only_filters = request.GET.copy()
        for name in ("from", "to", "bucket", "rollingWindow", "minRollingReviews"):
            only_filters.pop(name, None)
        runs = RunList(only_filters).run_filters(Run.objects.all())
    return api_response(request, review_health(automation=automation, start=start, end=end, bucket=bucket,
                                               rolling_window=window, min_rolling_reviews=minimum, runs=runs))
