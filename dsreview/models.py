"""Dataset review requests (docs/dataset-reviews.md): a lead sends examples back for re-review.

A request snapshots each example when it is created (items); reviewers approve, edit, remove
and comment on items; nothing reaches the dataset until a lead applies the outcome
(dsreview.apply.review_apply), which is recorded in DatasetReviewApplication."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from datasets.models import Example
from runs.models import Automation, StoredFile


class RequestStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    PAUSED = "paused", "Paused"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


# Closed and cancelled requests are frozen: the only way out is back to open.
FROZEN = frozenset({RequestStatus.CLOSED, RequestStatus.CANCELLED})
TRANSITIONS: dict[str, frozenset[str]] = {
    RequestStatus.DRAFT: frozenset({RequestStatus.OPEN, RequestStatus.PAUSED, RequestStatus.CANCELLED}),
    RequestStatus.OPEN: frozenset({RequestStatus.PAUSED, RequestStatus.CLOSED, RequestStatus.CANCELLED}),
    RequestStatus.PAUSED: frozenset({RequestStatus.OPEN, RequestStatus.CLOSED, RequestStatus.CANCELLED}),
    RequestStatus.CLOSED: frozenset({RequestStatus.OPEN}),
    RequestStatus.CANCELLED: frozenset({RequestStatus.OPEN}),
}
# Reviewers write items only while the request is draft or open (paused stops them).
ITEMS_WRITABLE = frozenset({RequestStatus.DRAFT, RequestStatus.OPEN})


class ItemStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    EDITED = "edited", "Edited"
    REMOVED = "removed", "Removed"


class EventAction(models.TextChoices):
    APPROVED = "approved"
    COMMENTED = "commented"
    CREATED = "created"
    EDITED = "edited"
    FIELD_DECISION = "field-decision"
    FILE_DECISION = "file-decision"
    FILE_EDITED = "file-edited"
    REMOVED = "removed"
    REOPENED = "reopened"


class DatasetReview(models.Model):
    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="dataset_reviews")
    title = models.CharField(max_length=200)
    instructions = models.TextField(null=True, blank=True)
    # [{"path": "vendor.iban", "reason": "..."}] (dotted paths, docs/dataset-reviews.md)
    focus_fields = models.JSONField(default=list, blank=True)
    ignored_fields = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=RequestStatus.choices, default=RequestStatus.DRAFT)
    # The example names in request order, as created (items are never added later).
    example_names = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["automation", "-created_at"], name="dsreview_automation_time"),
                   models.Index(fields=["-created_at"], name="dsreview_time")]

    def __str__(self) -> str:
        return f"{self.title} ({self.status})"

    @property
    def frozen(self) -> bool:
        return self.status in FROZEN


class DatasetReviewItem(models.Model):
    review = models.ForeignKey(DatasetReview, on_delete=models.CASCADE, related_name="items")
    # The live example; null once it was deleted (by applying a removal, or otherwise).
    example = models.ForeignKey(Example, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="review_items")
    example_name = models.CharField(max_length=128)
    position = models.PositiveIntegerField(default=0)
    snapshot_input = models.JSONField(null=True, blank=True)
    snapshot_expected = models.JSONField(null=True, blank=True)
    # {"expectedFiles": [{"name"}], "metadata": {...} | null, "inputFileHashes": [{"path", "sha256"}]}
    snapshot_manifest = models.JSONField(default=dict, blank=True)
    # SHA-256 of the input JSON in canonical form (sorted keys), for inputDrifted.
    snapshot_input_sha256 = models.CharField(max_length=64, blank=True)
    snapshot_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=ItemStatus.choices, default=ItemStatus.PENDING)
    note = models.TextField(null=True, blank=True, help_text="The lead's note for this example.")
    # The reviewer's expected output, once edited (until then the snapshot's: current_expected).
    # Not copied at creation, so a request of many examples writes each document once.
    edited_expected = models.JSONField(null=True, blank=True)
    expected_edited = models.BooleanField(default=False)
    # {dotted path: {"decision", "reviewerId", "updatedAt", "comment"?}}
    field_decisions = models.JSONField(default=dict, blank=True)
    file_decisions = models.JSONField(default=dict, blank=True)
    # Overlay of the snapshot's expected files; null = untouched. [{path, fileId, filename, origin}]
    current_files = models.JSONField(null=True, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["review", "status"], name="dsreview_item_status")]
        constraints = [models.UniqueConstraint(fields=["review", "example_name"], name="dsreview_item_once")]

    def __str__(self) -> str:
        return f"{self.example_name} in review {self.review_id}"

    @property
    def current_expected(self):
        return self.edited_expected if self.expected_edited else self.snapshot_expected


def review_file_path(instance: "DatasetReviewFile", filename: str) -> str:
    return f"dataset-reviews/{instance.item_id}/{filename}"


class DatasetReviewFile(StoredFile):
    """Bytes a reviewer uploaded for an item's expected file (corrected or new); its pk is the
    wire's fileId. Kept until the request goes (a later edit makes a new row)."""

    item = models.ForeignKey(DatasetReviewItem, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=500)
    file = models.FileField(upload_to=review_file_path, max_length=800)

    def __str__(self) -> str:
        return f"{type(self).__name__} {self.pk}"


class DatasetReviewEvent(models.Model):
    review = models.ForeignKey(DatasetReview, on_delete=models.CASCADE, related_name="events")
    item = models.ForeignKey(DatasetReviewItem, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    action = models.CharField(max_length=20, choices=EventAction.choices)
    diff_summary = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["review", "created_at"], name="dsreview_event_time"),
                   models.Index(fields=["item", "created_at"], name="dsreview_item_event_time")]

    def __str__(self) -> str:
        return f"{type(self).__name__} {self.pk}"


class DatasetReviewApplication(models.Model):
    """The audit of applying an outcome to the dataset: which request and item changed which
    example, how, and what it held before. Written once (like review.models.AuditEvent)."""

    class Kind(models.TextChoices):
        REPLACE_EXPECTED = "replace_expected", "Replaced the expected output"
        DELETE_EXAMPLE = "delete_example", "Deleted the example"

    review = models.ForeignKey(DatasetReview, on_delete=models.CASCADE, related_name="applications")
    item = models.ForeignKey(DatasetReviewItem, on_delete=models.CASCADE, related_name="applications")
    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="+")
    example_name = models.CharField(max_length=128)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # {"expected": old, "files": [old expected file paths]} and what was written
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["automation", "example_name"], name="dsreview_applied_example")]

    def __str__(self) -> str:
        return f"{type(self).__name__} {self.pk}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise PermissionError("Applications are read-only once written.")
        super().save(*args, **kwargs)
