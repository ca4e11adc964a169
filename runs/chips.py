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


# The reviews generation's words for them (SDK 0.20, the mapping table of docs/api-reviews.md):
# the one vocabulary the API, the proxy and the review health counts use. Partial reads as
# incorrect; a review without a status reads open.
VERDICT_OUT = {Rating.PASS: "correct", Rating.FAIL: "incorrect", Rating.PARTIAL: "incorrect"}
VERDICT_IN = {"correct": Rating.PASS, "incorrect": Rating.FAIL}
STATUS_OUT = {ReviewStatus.OPEN: "open", ReviewStatus.RESOLVED: "closed", ReviewStatus.IGNORED: "wont_fix"}
STATUS_IN = {word: status for status, word in STATUS_OUT.items()}


class Chip(models.TextChoices):
    UNREVIEWED = "unreviewed", "Unreviewed"
    OPEN = "open", "Open"
    IGNORED = "ignored", "Ignored"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"


class ReviewChip:
    """The chip and "has a verdict" of anything with a review's `rating` and `status` (the review
    row, and the backends' ReviewInfo)."""

    rating: str | None
    status: str | None

    @property
    def chip(self) -> str:
        return derive_chip(self.rating, self.status)

    @property
    def has_verdict(self) -> bool:
        return bool(self.rating or self.status)


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


def estimate_verdict(rating: str | None, status: str | None) -> bool | None:
    """What a review counts as in the pass-rate estimate (docs/estimates.md): True passed, False
    reviewed and not passed, None not reviewed yet. A rating decides (partial is not a pass); a
    review closed (resolved) without a rating counts as a miss, as its Failed chip says; a note
    without a verdict that is open, ignored or has no status (a "nit") is not reviewed yet."""
    if rating:
        return rating == Rating.PASS
    if status == ReviewStatus.RESOLVED:
        return False
    return None


def estimate_reviewed_q(prefix: str = ""):
    """The ORM condition of estimate_verdict(...) is not None, for rows `prefix` (e.g. "review__")."""
    return models.Q(**{f"{prefix}rating__isnull": False}) | models.Q(**{f"{prefix}status": ReviewStatus.RESOLVED})
