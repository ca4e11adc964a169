"""Webhooks by API (docs/webhooks.md): ops manage outbound subscriptions, see their delivery
log and send again; and the inbound endpoint the platform signs its run events to (proxy mode).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from accounts.roles import OPS
from api.support import (
    ApiError,
    Query,
    api_response,
    api_view,
    bad_request,
    empty_response,
    error_response,
    iso,
    json_body,
    limit_and_offset,
    not_found,
    reject_unknown,
    request_id,
)
from backends.eigenpal import upstream_changed
from events.models import Delivery, InboundMessage, Subscription
from events.services import (
    SubscriptionError,
    delivery_resend,
    subscription_create,
    subscription_delete,
    subscription_send_test,
    subscription_update,
)
from events.types import SUBSCRIBABLE_TYPES
from runs.ids import small_int
from runs.models import Automation

logger = logging.getLogger("loupe.api")
MANAGE = {"roles": (OPS,), "action": "manage webhooks"}
FIELDS = {"url", "eventTypes", "automationId", "description", "active"}


def subscription_to_dict(sub: Subscription, *, secret: bool = False) -> dict:
    data = {
        "id": str(sub.pk), "url": sub.url, "description": sub.description or None,
        "automationId": sub.automation_id or None, "eventTypes": list(sub.event_types),
        "active": sub.active, "pausedReason": sub.paused_reason or None, "pausedAt": iso(sub.paused_at),
        "failedMessagesInARow": sub.consecutive_dead, "secretHint": sub.secret_hint,
        "createdAt": iso(sub.created_at), "createdBy": getattr(sub.created_by, "username", None),
    }
    if secret:
        data["secret"] = sub.secret
    return data


def delivery_to_dict(delivery: Delivery, *, log: bool = True) -> dict:
    data = {
        "id": str(delivery.pk), "subscriptionId": str(delivery.subscription_id), "messageId": delivery.message_id,
        "eventType": delivery.message.type, "status": delivery.status, "attempts": delivery.attempts,
        "nextAttemptAt": iso(delivery.next_attempt_at) if delivery.status == "pending" else None,
        "lastStatusCode": delivery.last_status_code, "lastError": delivery.last_error or None,
        "createdAt": iso(delivery.created_at), "finishedAt": iso(delivery.finished_at),
        "payload": delivery.message.payload,
    }
    if log:
        data["attemptLog"] = [
            {"number": a.number, "startedAt": iso(a.started_at), "durationMs": a.duration_ms,
             "statusCode": a.status_code, "error": a.error or None, "succeeded": a.succeeded,
             "response": a.response_excerpt or None}
            for a in delivery.attempt_log.all()
        ]
    return data


def automation_ref(value) -> str:
    """A known automation's ref for `automationId` (id or workflows.<slug>), blank for all."""
    if value in (None, ""):
        return ""
    if not isinstance(value, str):
        raise bad_request("automationId", "An automation id or workflows.<slug> / agents.<slug>, or null for all.")
    try:
        return Automation.objects.by_ref(value.strip()).ref
    except Automation.DoesNotExist:
        raise bad_request("automationId", f"No automation {value[:100]!r}; use its id or workflows.<slug> / "
                                          "agents.<slug>.") from None


def _subscription(subscription_id: str) -> Subscription:
    pk = small_int(subscription_id)
    sub = Subscription.objects.select_related("created_by").filter(pk=pk).first() if pk is not None else None
    if sub is None:
        raise not_found(f"No webhook subscription {subscription_id[:40]!r}.", field="id")
    return sub


def _invalid(exc: SubscriptionError) -> ApiError:
    return bad_request(exc.field, str(exc))


@api_view(**MANAGE, params=("limit", "offset"))
def subscriptions_list(request: HttpRequest):
    limit, offset = limit_and_offset(Query(request.GET))
    qs = Subscription.objects.select_related("created_by").order_by("id")
    return api_response(request, {"data": [subscription_to_dict(s) for s in qs[offset:offset + limit]],
                                  "total": qs.count(), "limit": limit, "offset": offset})


@api_view(**MANAGE)
def subscription_create_view(request: HttpRequest):
    body = json_body(request)
    reject_unknown(body, FIELDS - {"active"})
    automation_id = automation_ref(body.get("automationId"))
    try:
        sub = subscription_create(url=body.get("url"), event_types=body.get("eventTypes"),
                                  automation_id=automation_id, description=body.get("description"),
                                  user=request.user)
    except SubscriptionError as exc:
        raise _invalid(exc) from None
    return api_response(request, subscription_to_dict(sub, secret=True), status=201)


@api_view(**MANAGE)
def subscription_get(request: HttpRequest, subscription_id: str):
    return api_response(request, subscription_to_dict(_subscription(subscription_id)))


@api_view(**MANAGE)
def subscription_patch(request: HttpRequest, subscription_id: str):
    sub = _subscription(subscription_id)
    body = json_body(request)
    reject_unknown(body, FIELDS)
    changes = {}
    for wire, name in (("url", "url"), ("eventTypes", "event_types"), ("description", "description"),
                       ("active", "active")):
        if wire in body:
            changes[name] = body[wire]
    if "automationId" in body:
        changes["automation_id"] = automation_ref(body["automationId"])
    try:
        subscription_update(subscription=sub, changes=changes)
    except SubscriptionError as exc:
        raise _invalid(exc) from None
    return api_response(request, subscription_to_dict(_subscription(subscription_id)))


@api_view(**MANAGE)
def subscription_delete_view(request: HttpRequest, subscription_id: str):
    subscription_delete(subscription=_subscription(subscription_id))
    return empty_response(request)


@api_view(**MANAGE)
def subscription_test(request: HttpRequest, subscription_id: str):
    delivery = subscription_send_test(subscription=_subscription(subscription_id))
    return api_response(request, delivery_to_dict(delivery, log=False), status=202)


@api_view(**MANAGE, params=("limit", "offset", "status"))
def deliveries_list(request: HttpRequest, subscription_id: str):
    sub = _subscription(subscription_id)
    query = Query(request.GET)
    limit, offset = limit_and_offset(query)
    qs = Delivery.objects.filter(subscription=sub).select_related("message").order_by("-created_at", "-id")
    status = query.choice("status", ["pending", "succeeded", "failed", "dead"])
    if status:
        qs = qs.filter(status=status)
    page = list(qs.prefetch_related("attempt_log")[offset:offset + limit])
    return api_response(request, {"data": [delivery_to_dict(d) for d in page], "total": qs.count(),
                                  "limit": limit, "offset": offset})


@api_view(**MANAGE)
def delivery_resend_view(request: HttpRequest, delivery_id: str):
    pk = small_int(delivery_id)
    delivery = Delivery.objects.filter(pk=pk).first() if pk is not None else None
    if delivery is None:
        raise not_found(f"No webhook delivery {delivery_id[:40]!r}.", field="id")
    delivery = delivery_resend(delivery=delivery)
    delivery = Delivery.objects.select_related("message").get(pk=delivery.pk)
    return api_response(request, delivery_to_dict(delivery, log=False), status=202)


@api_view(**MANAGE)
def event_types(request: HttpRequest):
    return api_response(request, {"data": list(SUBSCRIBABLE_TYPES)})


# --- inbound: the platform's signed run events (proxy mode) --------------------------------

INBOUND_MAX_BYTES = 256 * 1024
REFRESHING = ("run.created", "run.status_changed")


def platform_webhook(request: HttpRequest):
    """POST /api/v1/webhooks/eigenpal: verify the Standard Webhooks signature with
    LOUPE_INBOUND_WEBHOOK_SECRET (refusing timestamps more than 5 minutes off), handle each
    webhook-id once, and on run.created / run.status_changed refresh what proxy mode shows."""
    request_id(request)
    try:
        message_id, payload = _verified(request)
    except ApiError as refused:
        return error_response(request, refused.status, refused.issues)
    event_type = str(payload.get("type") or "")[:64]
    try:
        with transaction.atomic():
            InboundMessage.objects.create(id=message_id[:200], type=event_type)
            # A replay older than 5 minutes is refused by its timestamp: a day of ids is plenty.
            InboundMessage.objects.filter(received_at__lt=timezone.now() - timedelta(days=1)).delete()
    except IntegrityError:
        return api_response(request, {"ok": True, "duplicate": True})
    if event_type in REFRESHING:
        _refresh(event_type, payload)
    return api_response(request, {"ok": True, "duplicate": False, "refreshed": event_type in REFRESHING})


def _verified(request: HttpRequest) -> tuple[str, dict]:
    """(webhook-id, payload) of a message signed with the secret; ApiError otherwise."""
    secret = settings.LOUPE_INBOUND_WEBHOOK_SECRET
    if not secret:
        raise ApiError(404, "Inbound webhooks are off: set LOUPE_INBOUND_WEBHOOK_SECRET.", code="not_found")
    if int(request.META.get("CONTENT_LENGTH") or 0) > INBOUND_MAX_BYTES:
        raise ApiError(413, "The body is too large.", code="payload_too_large")
    headers = {name: request.headers.get(name, "") for name in ("webhook-id", "webhook-timestamp",
                                                                  "webhook-signature")}
    for name, value in headers.items():
        if not value:
            raise ApiError(400, f"Missing the {name} header.", field=name, code="missing")
    payload = _signed_payload(secret, request.body, headers)
    if not isinstance(payload, dict):
        raise ApiError(400, "Expected a JSON object.")
    return headers["webhook-id"], payload


def _signed_payload(secret: str, body: bytes, headers: dict):
    """The payload when the signature matches and the timestamp is fresh; ApiError otherwise."""
    try:
        verifier = Webhook(secret)
    except Exception:  # noqa: BLE001 - a malformed secret in the environment (not base64)
        logger.error("LOUPE_INBOUND_WEBHOOK_SECRET is not a valid Standard Webhooks secret (whsec_<base64>).")
        raise ApiError(503, "Inbound webhooks are misconfigured on this server.", code="misconfigured") from None
    try:
        return verifier.verify(body, headers)
    except WebhookVerificationError as exc:
        if "timestamp" in str(exc).lower():
            raise ApiError(400, "The message is more than 5 minutes old (or from the future): refused.",
                           field="webhook-timestamp", code="stale") from None
        raise ApiError(401, "The signature does not match: not from the platform.", field="webhook-signature",
                       code="bad_signature") from None


def _refresh(event_type: str, payload: dict) -> None:
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    run = data.get("run") if isinstance(data.get("run"), dict) else {}
    upstream_changed(event_type=event_type, run_id=run.get("id"), automation_id=run.get("automationId"),
                     status=data.get("currentStatus") or run.get("status"), previous_status=data.get("previousStatus"))
