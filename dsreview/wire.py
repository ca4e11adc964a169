"""Dataset review requests on the wire (SDK 0.20.93's generated models; docs/dataset-reviews.md).
One place for the shapes, so the API and the pages' JSON agree."""

from datetime import UTC, datetime

from dsreview.models import DatasetReview, DatasetReviewEvent, DatasetReviewItem
from dsreview.queries import current_expected_files, empty_progress


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _user_id(user_id) -> str | None:
    return str(user_id) if user_id is not None else None


def request_to_dict(review: DatasetReview, progress: dict | None, *, automation_name: str | None = None) -> dict:
    """DatasetReviewRequest (inbox rows add automationName)."""
    data = {
        "id": str(review.pk),
        "automationId": str(review.automation_id),
        "title": review.title,
        "instructions": review.instructions,
        "focusFields": [{"path": f["path"], "reason": f.get("reason")} for f in review.focus_fields or []],
        "ignoredFields": list(review.ignored_fields or []),
        "status": review.status,
        "exampleNames": list(review.example_names or []),
        "progress": progress or empty_progress(),
        "createdBy": _user_id(review.created_by_id),
        "createdAt": iso(review.created_at),
        "closedAt": iso(review.closed_at),
    }
    if automation_name is not None:
        data["automationName"] = automation_name
    return data


def item_to_dict(item: DatasetReviewItem, drifted: bool) -> dict:
    """DatasetReviewItem."""
    manifest = item.snapshot_manifest or {}
    return {
        "id": str(item.pk),
        "reviewId": str(item.review_id),
        "exampleName": item.example_name,
        "snapshotInputJson": item.snapshot_input if isinstance(item.snapshot_input, dict) else None,
        "snapshotExpectedJson": item.snapshot_expected,
        "snapshotManifest": {"expectedFiles": manifest.get("expectedFiles") or [],
                             "metadata": manifest.get("metadata"),
                             "inputFileHashes": manifest.get("inputFileHashes") or []},
        "status": item.status,
        "currentExpectedJson": item.current_expected,
        "fieldDecisions": item.field_decisions or {},
        "currentExpectedFiles": item.current_files,
        "fileDecisions": item.file_decisions or {},
        "inputDrifted": bool(drifted),
        "updatedBy": _user_id(item.updated_by_id),
        "updatedAt": iso(item.updated_at),
    }


def event_to_dict(event: DatasetReviewEvent) -> dict:
    """DatasetReviewEvent."""
    return {
        "id": str(event.pk),
        "reviewId": str(event.review_id),
        "itemId": _user_id(event.item_id),
        "actorUserId": _user_id(event.actor_id),
        "action": event.action,
        "diffSummary": event.diff_summary,
        "createdAt": iso(event.created_at),
    }


__all__ = ["current_expected_files", "event_to_dict", "item_to_dict", "iso", "request_to_dict"]
