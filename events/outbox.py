"""The outbox: `event_emit` writes a message and its deliveries in the caller's transaction
(docs/webhooks.md). Nothing is sent here: the send is enqueued when that transaction commits,
and a rolled-back decision sends nothing."""

import re
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import KEY_PREFIX as API_KEY_PREFIX
from events.models import Delivery, Message, Subscription
from events.tasks import deliveries_enqueue
from events.types import EVENT_TYPES, WEBHOOK_TEST

# Keys that never go out in a payload, at any depth (docs/webhooks.md#what-a-payload-never-holds).
FORBIDDEN_KEYS = frozenset({"secret", "password", "sessionid", "session_key", "api_key", "apikey",
                            "csrftoken", "authorization"})
# A URL that works without a key: presigned storage URLs carry their credentials in the query.
_PRESIGNED = re.compile(r"(X-Amz-Signature|X-Amz-Credential|AWSAccessKeyId|[?&]Signature=|[?&]sig=|[?&]token=)",
                        re.IGNORECASE)


# A Loupe API key as accounts.models.ApiKey.issue makes them.
_API_KEY = re.compile(re.escape(API_KEY_PREFIX) + r"[A-Za-z0-9_-]{40,}")


class UnsafePayload(ValueError):
    """The data of an event holds something a webhook target must never receive."""


def payload_problem(data, path: str = "data") -> str | None:
    """Why `data` may not be sent (a secret, a session, a keyless file URL), or None."""
    if isinstance(data, str):
        return _text_problem(data, path)
    if isinstance(data, dict):
        children = ((f"{path}.{key}", value, _key_problem(key, path)) for key, value in data.items())
    elif isinstance(data, list):
        children = ((f"{path}[{index}]", value, None) for index, value in enumerate(data))
    else:
        return None
    for child, value, key_problem in children:
        problem = key_problem or payload_problem(value, child)
        if problem:
            return problem
    return None


def _key_problem(key, path: str) -> str | None:
    if str(key).lower() in FORBIDDEN_KEYS:
        return f"{path}.{key}: a {key!r} key never goes into a webhook payload."
    return None


def _text_problem(data: str, path: str) -> str | None:
    if data.startswith("whsec_") or _API_KEY.search(data):
        return f"{path}: a secret or API key never goes into a payload."
    if settings.SECRET_KEY and len(data) >= len(settings.SECRET_KEY) and settings.SECRET_KEY in data:
        return f"{path}: the server's secret key never goes into a payload."
    if data.startswith(("http://", "https://")) and _PRESIGNED.search(data):
        return f"{path}: a file URL that works without a key never goes into a payload."
    return None


def _timestamp(now: datetime) -> str:
    return now.astimezone(UTC).isoformat().replace("+00:00", "Z")


def message_payload(event_type: str, data: dict, now: datetime) -> dict:
    """The body every receiver gets (Standard Webhooks' recommended shape)."""
    return {"type": event_type, "timestamp": _timestamp(now), "data": data}


def subscriptions_matching(event_type: str, automation_id: str | None) -> list[Subscription]:
    scope = Q(automation_id="")
    if automation_id:
        scope |= Q(automation_id=automation_id)
    # event_types is a JSON list: filtered here, the same on SQLite and PostgreSQL.
    return [s for s in Subscription.objects.filter(scope, active=True).order_by("id") if s.accepts(event_type)]


def event_wanted(event_type: str) -> bool:
    """Whether any active subscription takes this type (one query): lets an emitter skip
    building its data when nobody listens."""
    return any(s.accepts(event_type) for s in Subscription.objects.filter(active=True).only("event_types"))


def event_emit(*, type: str, automation_id: str | None, data: dict) -> Message | None:  # noqa: A002
    """Record an event for every active subscription that wants it, in the caller's transaction.

    Returns the Message, or None when no subscription matches (nothing is written). Raises
    ValueError for an unknown type and UnsafePayload for data that must not leave Loupe."""
    if type not in EVENT_TYPES or type == WEBHOOK_TEST:
        raise ValueError(f"Unknown event type {type!r}.")
    if not isinstance(data, dict):
        raise ValueError("Event data must be a JSON object.")
    problem = payload_problem(data)
    if problem:
        raise UnsafePayload(problem)
    subscriptions = subscriptions_matching(type, automation_id)
    if not subscriptions:
        return None
    return _write(type, automation_id or "", data, subscriptions)


def event_emit_test(subscription: Subscription) -> Message:
    """The "send test event" button: one message to one subscription, whatever it lists."""
    data = {"subscriptionId": subscription.pk, "message": "A test event from Loupe."}
    return _write(WEBHOOK_TEST, subscription.automation_id, data, [subscription])


def _write(event_type: str, automation_id: str, data: dict, subscriptions: list[Subscription]) -> Message:
    now = timezone.now()
    message = Message.objects.create(type=event_type, automation_id=automation_id,
                                     payload=message_payload(event_type, data, now), created_at=now)
    deliveries = Delivery.objects.bulk_create([
        Delivery(message=message, subscription=s, next_attempt_at=now, retry_from=now, created_at=now)
        for s in subscriptions
    ])
    ids = [d.pk for d in deliveries] if all(d.pk for d in deliveries) else None
    if ids is None:  # backends without RETURNING on bulk insert
        ids = list(Delivery.objects.filter(message=message).values_list("pk", flat=True))
    transaction.on_commit(lambda: deliveries_enqueue(ids))
    return message
