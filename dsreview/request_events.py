"""The timeline's record of a change to a request itself (title, instructions, focus and ignored
fields, status: docs/dataset-reviews.md#the-timeline). The wire's event actions are a closed list
(SDK 0.20.93 parses them as an enum) with no name for a request-level change, so such a change is
an `edited` event without an item (a reopen stays `reopened`); its diffSummary names the wire
fields that changed, with their values before and after."""

from dsreview.models import DatasetReview, DatasetReviewEvent, EventAction

# Model field -> wire field, in the order the timeline lists them.
WIRE_FIELDS = {"status": "status", "title": "title", "instructions": "instructions",
               "focus_fields": "focusFields", "ignored_fields": "ignoredFields"}
TEXT_SHOWN = 300  # long instructions are cut in the summary (the request keeps them whole)


def _shown(value):
    if isinstance(value, str) and len(value) > TEXT_SHOWN:
        return value[:TEXT_SHOWN] + "…"
    return value


def request_state(review: DatasetReview) -> dict:
    return {field: getattr(review, field) for field in WIRE_FIELDS}


def request_change_summary(before: dict, review: DatasetReview) -> dict | None:
    """{"changed": [wire fields], "from": {...}, "to": {...}}; None when nothing changed."""
    after = request_state(review)
    changed = [field for field in WIRE_FIELDS if before[field] != after[field]]
    if not changed:
        return None
    return {"changed": [WIRE_FIELDS[f] for f in changed],
            "from": {WIRE_FIELDS[f]: _shown(before[f]) for f in changed},
            "to": {WIRE_FIELDS[f]: _shown(after[f]) for f in changed}}


def request_change_record(review: DatasetReview, before: dict, *, user, reopening: bool) -> None:
    """The event for a change made (in the caller's transaction); nothing when nothing changed."""
    summary = request_change_summary(before, review)
    if summary:
        DatasetReviewEvent.objects.create(review=review, actor=user if getattr(user, "pk", None) else None,
                                          action=EventAction.REOPENED if reopening else EventAction.EDITED,
                                          diff_summary={**summary, **({"status": "open"} if reopening else {})},
                                          created_at=review.updated_at)
