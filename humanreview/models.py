"""Human review tasks: a run paused (status `waiting`) until a person confirms the fields its
automation was unsure of, then approves or rejects it (docs/human-review.md).

One task per run, ever: re-recording the run never opens a second one. Every write to a task
bumps its `version` (optimistic lock, `expectedVersion` on the wire) under a row lock
(humanreview/services.py).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from runs.models import Automation, Run


class Unmatched(models.TextChoices):
    SKIP = "skip", "Not required"
    REQUIRE = "require", "Required"


class ReviewPolicy(models.Model):
    """How the fields of a paused run are picked for review when its record names no
    requiredPaths, and how long a task may wait. Ops set it per automation."""

    automation = models.OneToOneField(Automation, on_delete=models.CASCADE, related_name="review_policy")
    # A field whose (routing) confidence is below this is required; "low" always is, "high" never.
    confidence_threshold = models.FloatField(default=0.8)
    # {JSON Pointer: always | auto | never}: overrides the record's own `review` per field.
    field_rules = models.JSONField(default=dict, blank=True)
    # Scalars of machineData the record gives no metadata for.
    unmatched = models.CharField(max_length=8, choices=Unmatched.choices, default=Unmatched.SKIP)
    # Fields with metadata but no confidence.
    missing_confidence = models.CharField(max_length=8, choices=Unmatched.choices, default=Unmatched.REQUIRE)
    # A pending task is due this long after it opened (None: no deadline); flagged "due soon"
    # this long before. Overdue tasks stay pending: never decided by the clock.
    deadline_minutes = models.PositiveIntegerField(null=True, blank=True)
    warning_minutes = models.PositiveIntegerField(default=60)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    def __str__(self) -> str:
        return f"policy of {self.automation}"


class TaskStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


class Task(models.Model):
    run = models.OneToOneField(Run, on_delete=models.CASCADE, related_name="human_review_task",
                               db_constraint=False)
    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="human_review_tasks",
                                   db_index=False)
    status = models.CharField(max_length=12, choices=TaskStatus.choices, default=TaskStatus.PENDING)
    version = models.PositiveIntegerField(default=1)
    source_kind = models.CharField(max_length=16, default="workflow_step")
    source_label = models.CharField(max_length=200, blank=True, default="")
    machine_data = models.JSONField()
    draft_data = models.JSONField()
    schema = models.JSONField(null=True, blank=True)
    field_metadata = models.JSONField(default=dict, blank=True)
    required_paths = models.JSONField(default=list, blank=True)
    selection_reasons = models.JSONField(default=dict, blank=True)
    instructions = models.TextField(null=True, blank=True)
    # [{name, role, fileId}]: the run's own files the reviewer needs (fileId is the RunFile id).
    files = models.JSONField(default=list, blank=True)
    required_count = models.PositiveIntegerField(default=0)
    confirmed_count = models.PositiveIntegerField(default=0)
    deadline_at = models.DateTimeField(null=True, blank=True)
    due_soon_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    outcome_reason = models.TextField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # The inbox and the API list: pending, oldest first (keyset on created_at, id).
            models.Index(fields=["status", "created_at", "id"], name="hr_task_inbox"),
            models.Index(fields=["automation", "status", "created_at", "id"], name="hr_task_auto_inbox"),
            models.Index(fields=["status", "deadline_at"], name="hr_task_deadline"),
        ]

    def __str__(self) -> str:
        return f"task {self.pk} of {self.run_id} ({self.status})"

    @property
    def pending(self) -> bool:
        return self.status == TaskStatus.PENDING


class Decision(models.Model):
    """A reviewer's confirmation (or edit) of one field of a task; one row per path."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="decisions")
    path = models.CharField(max_length=1000)
    original_value = models.JSONField(null=True, blank=True)
    current_value = models.JSONField(null=True, blank=True)
    required = models.BooleanField(default=False)
    reason = models.CharField(max_length=32)
    confirmed = models.BooleanField(default=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    confirmed_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField()

    class Meta:
        ordering = ["task", "id"]
        constraints = [models.UniqueConstraint(fields=["task", "path"], name="hr_decision_once_per_path")]

    def __str__(self) -> str:
        return f"{self.task_id} {self.path}"


class IdempotencyRecord(models.Model):
    """The answer given to a write carrying an idempotencyKey: the same key and body get it
    again; the same key with another body is refused."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="idempotency_records")
    key = models.CharField(max_length=200)
    action = models.CharField(max_length=16)
    body_hash = models.CharField(max_length=64)
    answer = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "key"], name="hr_idempotency_key_once")]

    def __str__(self) -> str:
        return f"{self.task_id} {self.key}"
