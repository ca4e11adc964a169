"""One delivery attempt and what follows it: success, a retry with exponential backoff, or
dead after the retry window; a subscription whose messages keep ending dead is paused
(docs/webhooks.md#retries-and-pausing). The queue wiring is in events/tasks.py.

Each attempt holds a lease on its delivery row while it sends (outside any transaction):
another worker skips a leased delivery, and a lease that ran out marks an attempt whose
worker died, so the sweep sends it again (at least once)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from events.models import Delivery, DeliveryAttempt, DeliveryStatus, Subscription
from events.send import send
from events.types import WEBHOOK_TEST


def backoff_seconds(attempts: int) -> float:
    """Wait after the `attempts`-th failed attempt: base × 2^(attempts-1), capped."""
    base = float(settings.LOUPE_WEBHOOKS_BACKOFF_BASE_SECONDS)
    return min(base * (2 ** max(attempts - 1, 0)), float(settings.LOUPE_WEBHOOKS_BACKOFF_MAX_SECONDS))


def _lease() -> timedelta:
    return timedelta(seconds=float(settings.LOUPE_WEBHOOKS_LEASE_SECONDS))


def _claim(delivery_id: int, now: datetime) -> tuple[Delivery, Subscription] | None:
    """Lease the delivery for one attempt when it is due; None when there is nothing to do."""
    with transaction.atomic():
        # The lock in a statement of its own; everything checked is read after it (docs/rules.md).
        locked = list(Delivery.objects.select_for_update().filter(pk=delivery_id).values_list("pk", flat=True))
        if not locked:
            return None
        delivery = Delivery.objects.select_related("message").get(pk=delivery_id)
        if delivery.status != DeliveryStatus.PENDING or delivery.next_attempt_at > now + timedelta(seconds=1):
            return None
        if delivery.leased_until and delivery.leased_until > now:
            return None
        subscription = Subscription.objects.get(pk=delivery.subscription_id)
        if not subscription.active and delivery.message.type != WEBHOOK_TEST:
            return None  # kept pending; resuming the subscription enqueues it again
        delivery.attempts += 1
        delivery.leased_until = now + _lease()
        delivery.save(update_fields=["attempts", "leased_until"])
    return delivery, subscription


def delivery_attempt(delivery_id: int) -> Delivery | None:
    """Send one due delivery once and record the outcome. Returns the delivery when it is
    still pending with a next attempt to schedule, else None."""
    started_at = timezone.now()
    claimed = _claim(delivery_id, started_at)
    if claimed is None:
        return None
    delivery, subscription = claimed
    outcome = send(subscription.url, subscription.secret, delivery.message_id, delivery.message.payload, started_at)
    now = timezone.now()
    with transaction.atomic():
        Delivery.objects.select_for_update().filter(pk=delivery_id).values_list("pk", flat=True).first()
        delivery = Delivery.objects.get(pk=delivery_id)
        DeliveryAttempt.objects.create(delivery=delivery, number=delivery.attempts, started_at=started_at,
                                       duration_ms=outcome.duration_ms, status_code=outcome.status_code,
                                       error=outcome.error, response_excerpt=outcome.excerpt, succeeded=outcome.ok)
        delivery.last_status_code = outcome.status_code
        delivery.last_error = outcome.error
        delivery.leased_until = None
        if outcome.ok:
            delivery.status = DeliveryStatus.SUCCEEDED
            delivery.finished_at = now
            Subscription.objects.filter(pk=subscription.pk).update(consecutive_dead=0)
        elif now - delivery.retry_from >= timedelta(seconds=float(settings.LOUPE_WEBHOOKS_RETRY_WINDOW_SECONDS)):
            delivery.status = DeliveryStatus.DEAD
            delivery.finished_at = now
            _count_dead(subscription.pk, outcome.error)
        else:
            delivery.next_attempt_at = now + timedelta(seconds=backoff_seconds(delivery.attempts))
        delivery.save()
    return delivery if delivery.status == DeliveryStatus.PENDING else None


def _count_dead(subscription_id: int, last_error: str) -> None:
    """One more message ended dead: pause the subscription at the threshold, with the reason."""
    Subscription.objects.select_for_update().filter(pk=subscription_id).values_list("pk", flat=True).first()
    subscription = Subscription.objects.get(pk=subscription_id)
    subscription.consecutive_dead += 1
    threshold = int(settings.LOUPE_WEBHOOKS_PAUSE_AFTER_DEAD)
    if subscription.active and threshold and subscription.consecutive_dead >= threshold:
        subscription.active = False
        subscription.paused_at = timezone.now()
        subscription.paused_reason = (
            f"Paused automatically: the last {subscription.consecutive_dead} messages all failed after every retry "
            f"(last error: {last_error or 'unknown'})."
        )[:500]
    subscription.save(update_fields=["consecutive_dead", "active", "paused_at", "paused_reason", "updated_at"])


def deliveries_orphaned(now: datetime, ready_task_ids: set[str]) -> list[Delivery]:
    """Pending deliveries of active subscriptions that nothing will send: no lease in force and
    no task waiting for them (the worker that held it died, or the enqueue never happened)."""
    pending = (Delivery.objects.filter(status=DeliveryStatus.PENDING, subscription__active=True)
               .exclude(leased_until__gt=now).only("pk", "task_id", "next_attempt_at", "leased_until"))
    return [d for d in pending if d.task_id not in ready_task_ids]


def delivery_interrupted(delivery_id: int) -> None:
    """Log the attempt a dead worker left unfinished (its lease ran out) and free the delivery."""
    with transaction.atomic():
        Delivery.objects.select_for_update().filter(pk=delivery_id).values_list("pk", flat=True).first()
        delivery = Delivery.objects.get(pk=delivery_id)
        if delivery.leased_until is None or delivery.leased_until > timezone.now():
            return
        DeliveryAttempt.objects.create(
            delivery=delivery, number=delivery.attempts, started_at=delivery.leased_until - _lease(),
            error="Interrupted: the worker stopped during this attempt; sending again.")
        delivery.leased_until = None
        delivery.last_error = "Interrupted: the worker stopped during the last attempt."
        delivery.save(update_fields=["leased_until", "last_error"])
