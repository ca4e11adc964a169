"""The event types Loupe sends to webhook subscriptions (docs/webhooks.md#event-types).

Each type names what happened; its `data` shape is documented in docs/webhooks.md. A
subscription lists the types it wants (an empty list means every type)."""

HUMAN_REVIEW_APPROVED = "human_review.approved"
HUMAN_REVIEW_REJECTED = "human_review.rejected"
HUMAN_REVIEW_DUE_SOON = "human_review.due_soon"
REVIEW_CREATED = "review.created"
REVIEW_UPDATED = "review.updated"
REVIEW_CLOSED = "review.closed"
EXAMPLE_PROMOTED = "example.promoted"
SAMPLING_RATE_CHANGED = "sampling.rate_changed"
# Sent only by the "send test event" button / API, to one subscription, whatever types it lists.
WEBHOOK_TEST = "webhook.test"

EVENT_TYPES: dict[str, str] = {
    HUMAN_REVIEW_APPROVED: "A person approved a run that waited for review; the run resumes.",
    HUMAN_REVIEW_REJECTED: "A person rejected a run that waited for review; the run fails.",
    HUMAN_REVIEW_DUE_SOON: "A pending human review task is close to its deadline (sent once per task).",
    REVIEW_CREATED: "A review of a run was created.",
    REVIEW_UPDATED: "A review's verdict, status or corrections changed.",
    REVIEW_CLOSED: "A review was closed (resolved or won't fix).",
    EXAMPLE_PROMOTED: "A run was promoted to a dataset example.",
    SAMPLING_RATE_CHANGED: "An automation's sampling rate changed.",
    WEBHOOK_TEST: "A test event sent by ops from the webhooks page or API.",
}

# What a subscription may list (the test type is always delivered when asked for).
SUBSCRIBABLE_TYPES = tuple(t for t in EVENT_TYPES if t != WEBHOOK_TEST)


def event_type_problem(value) -> str | None:
    if not isinstance(value, str) or value not in SUBSCRIBABLE_TYPES:
        return f"{str(value)[:80]!r} is not an event type; use one of: {', '.join(SUBSCRIBABLE_TYPES)}."
    return None
