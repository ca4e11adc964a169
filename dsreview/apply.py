"""Applying a dataset review's outcome to the dataset, only when a lead asks
(docs/dataset-reviews.md#applying-the-outcome), each change recorded in DatasetReviewApplication."""

from django.db import transaction
from django.utils import timezone

from datasets.models import Example, ExampleFolder
from datasets.services import example_delete, example_file_store
from dsreview.models import DatasetReview, DatasetReviewApplication, DatasetReviewItem, ItemStatus, RequestStatus
from dsreview.queries import input_drift
from dsreview.validation import ReviewInputError, _iso
from runs.files import files_delete_on_commit

APPLY_STATUSES = (RequestStatus.OPEN, RequestStatus.PAUSED, RequestStatus.CLOSED)


class ApplyResult:
    def __init__(self):
        self.replaced: list[str] = []
        self.deleted: list[str] = []
        self.needs_confirmation: list[str] = []
        self.skipped: dict[str, str] = {}


def review_apply(*, review: DatasetReview, user, delete_removed: bool = False) -> ApplyResult:
    """Write the approved outcome to the dataset, only when a lead asks: each edited item
    replaces its example's expected output (and expected files, when the reviewer touched
    them); each removed item deletes its example, only with delete_removed (the confirmation).
    One transaction per item; each change is recorded in DatasetReviewApplication with the
    request and item. Items already applied, or whose example's input drifted, are skipped."""
    if review.status not in APPLY_STATUSES:
        raise ReviewInputError(f"A {review.status} request has nothing to apply.", "status")
    result = ApplyResult()
    items = list(review.items.filter(status__in=[ItemStatus.EDITED, ItemStatus.REMOVED], applied_at__isnull=True))
    drift = input_drift(items)
    for item in items:
        if item.example_id is None:
            result.skipped[item.example_name] = "the example no longer exists"
            continue
        if drift.get(item.pk):
            result.skipped[item.example_name] = "the example's input changed after the request was made"
            continue
        if item.status == ItemStatus.REMOVED and not delete_removed:
            result.needs_confirmation.append(item.example_name)
            continue
        with transaction.atomic():
            _apply_item(review, item.pk, user, result)
    return result


def _apply_item(review: DatasetReview, item_id: int, user, result: ApplyResult) -> None:
    DatasetReviewItem.objects.select_for_update().filter(pk=item_id).values_list("pk", flat=True).first()
    item = DatasetReviewItem.objects.get(pk=item_id)
    if item.applied_at is not None or item.example_id is None:
        return
    Example.objects.select_for_update().filter(pk=item.example_id).values_list("pk", flat=True).first()
    example = Example.objects.filter(pk=item.example_id).first()
    if example is None:
        return
    actor = user if getattr(user, "pk", None) else None
    now = timezone.now()
    expected_files = list(example.files.filter(folder=ExampleFolder.EXPECTED))
    before = {"expected": example.expected, "files": sorted(f.path for f in expected_files),
              "updatedAt": _iso(example.updated_at) if example.updated_at else None}
    if item.status == ItemStatus.REMOVED:
        example_delete(example=example, user=user)
        kind, after = DatasetReviewApplication.Kind.DELETE_EXAMPLE, {}
        result.deleted.append(item.example_name)
    else:
        written, deleted = [], []
        if item.current_files is not None:
            uploads = {str(f.pk): f for f in item.files.all()}
            for entry in item.current_files:
                if entry["origin"] != "snapshot" and entry["fileId"] in uploads:
                    upload = uploads[entry["fileId"]]
                    with upload.file.open("rb") as handle:
                        example_file_store(example=example, folder=ExampleFolder.EXPECTED, path=entry["path"],
                                           content=handle.read(), content_type=upload.content_type)
                    written.append(entry["path"])
        for path, decision in (item.file_decisions or {}).items():
            if decision.get("decision") == "removed":
                row = next((f for f in expected_files if f.path == path), None)
                if row is not None:
                    files_delete_on_commit([row.file])
                    row.delete()
                    deleted.append(path)
        example.expected = item.current_expected
        example.updated_at = now
        example.save(update_fields=["expected", "updated_at"])
        kind = DatasetReviewApplication.Kind.REPLACE_EXPECTED
        after = {"expected": item.current_expected, "filesWritten": written, "filesDeleted": deleted}
        result.replaced.append(item.example_name)
    DatasetReviewApplication.objects.create(review=review, item=item, automation_id=review.automation_id,
                                            example_name=item.example_name, kind=kind, before=before, after=after,
                                            user=actor, created_at=now)
    DatasetReviewItem.objects.filter(pk=item.pk).update(applied_at=now)
