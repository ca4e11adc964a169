"""Outbound webhooks: subscriptions, the messages Loupe emits, and their deliveries
(docs/webhooks.md). The database is the queue's truth: a delivery row says what is still to
send and when; the task queue (django-tasks) only wakes a worker for it, so deliveries survive
a worker restart (events/delivery.py recovers any whose task was lost).

This app sits directly above `accounts` (docs/architecture.md): automations are named by their
ref string (`workflows.invoices`), never by a foreign key, so it imports nothing from `runs`."""

import base64
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


def new_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def new_message_id() -> str:
    return "msg_" + uuid.uuid4().hex


class Subscription(models.Model):
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True, default="")
    # An automation ref (`workflows.invoices`, as in the API); blank = every automation.
    automation_id = models.CharField(max_length=200, blank=True, default="", db_index=True)
    # Event types (events/types.py) this subscription receives; an empty list = all of them.
    event_types = models.JSONField(default=list, blank=True)
    # Standard Webhooks secret (`whsec_...`), shown once to ops when the subscription is made.
    secret = models.CharField(max_length=100, default=new_secret)
    active = models.BooleanField(default=True)
    paused_reason = models.CharField(max_length=500, blank=True, default="")
    paused_at = models.DateTimeField(null=True, blank=True)
    # Messages in a row whose delivery ended dead; reset by any success (pauses at a threshold).
    consecutive_dead = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.url} ({self.automation_id or 'all automations'})"

    def accepts(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types

    @property
    def secret_hint(self) -> str:
        """Enough of the secret to tell two apart, never enough to use."""
        return self.secret[:10] + "…"


class Message(models.Model):
    """One event, as sent: `payload` is the exact JSON body ({type, timestamp, data})."""

    id = models.CharField(primary_key=True, max_length=40, default=new_message_id, editable=False)
    type = models.CharField(max_length=64, db_index=True)
    automation_id = models.CharField(max_length=200, blank=True, default="")
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.id} {self.type}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"  # kept for a delivery an operator stopped; retries end as dead
    DEAD = "dead", "Dead"


class Delivery(models.Model):
    """One message to one subscription: what is left to do and when."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="deliveries")
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # Retries run until this much time passed since retry_from (created, or "send again").
    retry_from = models.DateTimeField(default=timezone.now)
    # Set while a worker sends; a lease that ran out means that worker died mid-attempt.
    leased_until = models.DateTimeField(null=True, blank=True)
    # The id of the last task enqueued for it (django_tasks_db result), to spot lost tasks.
    task_id = models.CharField(max_length=64, blank=True, default="")
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["message", "subscription"], name="delivery_message_subscription")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]

    def __str__(self) -> str:
        return f"{self.message_id} → {self.subscription_id}: {self.status}"


class DeliveryAttempt(models.Model):
    """The log: one row per HTTP attempt, shown to ops."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    # The start of the response body (capped), for ops to see what the receiver said.
    response_excerpt = models.CharField(max_length=1000, blank=True, default="")
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}: {self.status_code or self.error}"


class InboundMessage(models.Model):
    """A platform webhook already handled (proxy mode, docs/webhooks.md#inbound-platform-webhooks-proxy-mode):
    its `webhook-id`, so a replay or a retry is handled once."""

    id = models.CharField(primary_key=True, max_length=200)
    type = models.CharField(max_length=64, blank=True, default="")
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.id} {self.type}"
