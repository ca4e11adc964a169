"""Writes to webhook subscriptions and deliveries; the ops page and the API call these same
functions (docs/webhooks.md). Automations are checked by the caller (this package sits below
`runs`): `automation_id` arrives here as a ref string that exists, or blank for all."""

from django.db import transaction
from django.utils import timezone

from events.models import Delivery, DeliveryStatus, Message, Subscription
from events.outbox import event_emit_test
from events.send import url_problem
from events.tasks import deliveries_enqueue
from events.types import event_type_problem

MAX_URL = 2000


class SubscriptionError(ValueError):
    """Bad input for a subscription; `field` names it (url, eventTypes, ...)."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def clean_url(url) -> str:
    if not isinstance(url, str) or not url.strip():
        raise SubscriptionError("Give the URL that receives the webhooks.", "url")
    url = url.strip()
    if len(url) > MAX_URL:
        raise SubscriptionError(f"The URL is longer than {MAX_URL} characters.", "url")
    problem = url_problem(url)
    if problem:
        raise SubscriptionError(f"The URL {problem}", "url")
    return url


def clean_event_types(values) -> list[str]:
    if values is None:
        return []
    if not isinstance(values, list):
        raise SubscriptionError("A list of event types (empty: every type).", "eventTypes")
    for value in values:
        problem = event_type_problem(value)
        if problem:
            raise SubscriptionError(problem, "eventTypes")
    return sorted(set(values))


def clean_description(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 200:
        raise SubscriptionError("A description is text of at most 200 characters.", "description")
    return value.strip()


def subscription_create(*, url, event_types, automation_id: str = "", description="", user=None) -> Subscription:
    """A new active subscription with a new secret (shown to its creator once)."""
    event_types = clean_event_types(event_types)
    description = clean_description(description)
    url = clean_url(url)  # last: it resolves the host
    return Subscription.objects.create(url=url, event_types=event_types, automation_id=automation_id or "",
                                       description=description, created_by=user if getattr(user, "pk", None) else None)


# The changeable fields, each with what checks and normalises its value.
_CLEANERS = {"url": clean_url, "event_types": clean_event_types,
             "automation_id": lambda automation_id: automation_id or "", "description": clean_description}


def subscription_update(*, subscription: Subscription, changes: dict) -> Subscription:
    """Change url, eventTypes, automation_id, description; `active` pauses or resumes."""
    fields = [name for name in _CLEANERS if name in changes]
    for name in fields:
        setattr(subscription, name, _CLEANERS[name](changes[name]))
    if fields:
        subscription.save(update_fields=[*fields, "updated_at"])
    if "active" in changes:
        if not isinstance(changes["active"], bool):
            raise SubscriptionError("active is true or false.", "active")
        if changes["active"]:
            subscription_resume(subscription=subscription)
        else:
            subscription_pause(subscription=subscription, reason=changes.get("paused_reason") or "Paused by ops.")
    return subscription


def subscription_pause(*, subscription: Subscription, reason: str) -> None:
    Subscription.objects.filter(pk=subscription.pk).update(active=False, paused_at=timezone.now(),
                                                           paused_reason=reason[:500], updated_at=timezone.now())
    subscription.refresh_from_db()


def subscription_resume(*, subscription: Subscription) -> None:
    """Active again; its deliveries that waited while it was paused go out now."""
    with transaction.atomic():
        Subscription.objects.filter(pk=subscription.pk).update(active=True, paused_at=None, paused_reason="",
                                                               consecutive_dead=0, updated_at=timezone.now())
        waiting = list(Delivery.objects.filter(subscription=subscription, status=DeliveryStatus.PENDING)
                       .values_list("pk", flat=True))
        Delivery.objects.filter(pk__in=waiting).update(next_attempt_at=timezone.now())
        transaction.on_commit(lambda: deliveries_enqueue(waiting))
    subscription.refresh_from_db()


def subscription_delete(*, subscription: Subscription) -> None:
    """Deletes it with its deliveries and their log; messages no one else gets go too."""
    with transaction.atomic():
        message_ids = list(Delivery.objects.filter(subscription=subscription).values_list("message_id", flat=True))
        subscription.delete()
        Message.objects.filter(pk__in=message_ids, deliveries__isnull=True).delete()


def subscription_send_test(*, subscription: Subscription) -> Delivery:
    with transaction.atomic():
        message = event_emit_test(subscription)
    return Delivery.objects.get(message=message, subscription=subscription)


def delivery_resend(*, delivery: Delivery) -> Delivery:
    """"Send again": the delivery is pending again, with a new retry window, and goes out now
    (a succeeded one is sent once more; the receiver dedupes on webhook-id)."""
    with transaction.atomic():
        Delivery.objects.select_for_update().filter(pk=delivery.pk).values_list("pk", flat=True).first()
        delivery = Delivery.objects.get(pk=delivery.pk)
        now = timezone.now()
        delivery.status = DeliveryStatus.PENDING
        delivery.next_attempt_at = now
        delivery.retry_from = now
        delivery.finished_at = None
        delivery.leased_until = None
        delivery.save()
        transaction.on_commit(lambda: deliveries_enqueue([delivery.pk]))
    return delivery
