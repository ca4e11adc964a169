"""The review vocabulary and the chip rule of docs/rules.md#chips (first matching row wins)."""

from django.db import models


class Rating(models.TextChoices):
    PASS = "pass", "Pass"
    FAIL = "fail", "Fail"
    PARTIAL = "partial", "Partial"


class ReviewStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"
    IGNORED = "ignored", "Ignored"


class Chip(models.TextChoices):
    UNREVIEWED = "unreviewed", "Unreviewed"
    OPEN = "open", "Open"
    IGNORED = "ignored", "Ignored"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"


def derive_chip(rating: str | None, status: str | None) -> str:
    """The queue chip of a run whose review has this rating and status (None: no review)."""
    if not rating and not status:
        return Chip.UNREVIEWED
    if status == ReviewStatus.OPEN:
        return Chip.OPEN
    if status == ReviewStatus.IGNORED:
        return Chip.IGNORED
    if rating == Rating.PASS:
        return Chip.PASSED
    # fail or partial, or resolved with no rating: a miss that was handled.
    return Chip.FAILED
