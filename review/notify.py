"""Review events for webhook subscriptions (docs/webhooks.md#event-types): review.created,
review.updated (verdict, status or corrections changed) and review.closed, emitted at the end
of the services' transactions through events.outbox, so a rolled-back save sends nothing."""

from events.outbox import event_emit, event_wanted
from events.types import REVIEW_CLOSED, REVIEW_CREATED, REVIEW_UPDATED
from runs.chips import ReviewStatus

CLOSED = (ReviewStatus.RESOLVED, ReviewStatus.IGNORED)
# What a review.updated reports, by the diff keys the services produce.
_CHANGED = {"rating": "verdict", "status": "status", "expected": "corrections", "corrections": "corrections",
            "corrected": "corrections", "uncorrected": "corrections", "files": "corrections"}
_STATE = ("rating", "status", "body", "expected")


def review_events_emit(*, run, review, diff: dict, user) -> None:
    """Emit what `diff` ({field: [old, new]}, or file changes under "files") means for
    subscribers. A review whose every field was empty before is `created`; a status that
    becomes resolved or ignored also `closed`. A note-only change sends nothing."""
    changed = sorted({_CHANGED[key] for key in diff if key in _CHANGED})
    before = {name: diff[name][0] if name in diff and isinstance(diff[name], list) else getattr(review, name)
              for name in _STATE}
    created = not any(value not in (None, "") for value in before.values()) and "files" not in diff
    closed = "status" in diff and review.status in CLOSED and before["status"] not in CLOSED
    types = [t for t, on in ((REVIEW_CREATED, created), (REVIEW_UPDATED, bool(changed) and not created),
                             (REVIEW_CLOSED, closed)) if on]
    types = [t for t in types if event_wanted(t)]
    if not types:
        return
    automation = run.automation.ref
    data = {
        "reviewId": review.pk,
        "runId": run.pk,
        "automationId": automation,
        "verdict": review.rating,
        "status": review.status,
        "version": review.version,
        "changed": changed,
        "correctedPaths": list(review.corrected_paths or []),
        "by": getattr(user, "username", None) or None,
    }
    for event_type in types:
        event_emit(type=event_type, automation_id=automation, data=data)
