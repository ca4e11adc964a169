"""The reads of double review (docs/rules.md#double-review): the second-review queue, the
adjudication queue and one run's two reviews side by side. Each is one query."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from review.jsondiff import generalise
from review.models import SecondReview
from review.workbench import Corrections
from runs.models import DOUBLE_DISPUTED, DOUBLE_WANTED, Run

QUEUE_ROWS = 50


def second_review_queue(user, *, automation_id: int | None = None, now: datetime | None = None,
                        limit: int = QUEUE_ROWS) -> list[dict]:
    """Runs waiting for their blind second review whose first review has a verdict and was not
    given by `user`, oldest first, with who holds each (`held_by`, None when free). Nothing of
    the first review is read."""
    now = now or timezone.now()
    runs = (Run.objects.filter(double_review=DOUBLE_WANTED, review__rating__isnull=False)
            .exclude(review__created_by_id=user.pk).exclude(review__updated_by_id=user.pk)
            .exclude(review__resolved_by_id=user.pk))
    if automation_id is not None:
        runs = runs.filter(automation_id=automation_id)
    rows = list(runs.order_by("created_at", "id").values(
        "id", "automation__kind", "automation__slug", "created_at", "output_preview",
        "second_review__reviewer_id", "second_review__reviewer__username", "second_review__held_until")[:limit])
    for row in rows:
        held = row["second_review__held_until"] is not None and row["second_review__held_until"] > now
        row["mine"] = held and row["second_review__reviewer_id"] == user.pk
        row["held_by"] = row["second_review__reviewer__username"] if held and not row["mine"] else None
    return rows


def adjudication_queue(*, limit: int = QUEUE_ROWS) -> list[dict]:
    """Runs whose two reviews differ and wait for a lead, oldest second review first."""
    return list(Run.objects.filter(double_review=DOUBLE_DISPUTED).order_by("second_review__submitted_at", "id")
                .values("id", "automation__kind", "automation__slug", "created_at",
                        "second_review__first_rating", "second_review__rating", "second_review__fields",
                        "second_review__first_by__username", "second_review__reviewer__username",
                        "second_review__submitted_at")[:limit])


@dataclass
class Side:
    """One of the two reviews as the lead compares them."""

    title: str
    reviewer: str
    rating: str | None
    body: str
    expected: Any
    corrections: list = field(default_factory=list)  # (op, path, old, new, differs from the other side)


@dataclass
class Dispute:
    run: Run
    second: SecondReview
    first: Side
    other: Side
    differing: list[str]  # the field patterns the two left differently


def dispute(run_id: str) -> Dispute:
    """A run's two reviews side by side (the run with its automation and second review: one query)."""
    run = Run.objects.select_related("automation", "second_review", "second_review__reviewer",
                                     "second_review__first_by").get(pk=run_id)
    second = run.second_review

    differing = sorted(p for p, alike in (second.fields or {}).items() if not alike)

    def side(title, user, rating, body, expected) -> Side:
        corrections = [(op, path, old, new, (generalise(path) or "/") in differing)
                       for op, path, old, new in Corrections.between(run.output, expected).summary]
        return Side(title, user.get_username() if user else "someone", rating, body, expected, corrections)

    return Dispute(run=run, second=second,
                   first=side("First review", second.first_by, second.first_rating, second.first_body,
                              second.first_expected),
                   other=side("Second review (blind)", second.reviewer, second.rating, second.body, second.expected),
                   differing=differing)


def second_for_pane(run_id: str) -> tuple[Run, SecondReview | None]:
    """The run as its second reviewer sees it (its automation and second review, not its Review)."""
    run = Run.objects.select_related("automation", "second_review").get(pk=run_id)
    try:
        return run, run.second_review
    except SecondReview.DoesNotExist:
        return run, None


def first_review_hidden(*, double_review: str, review, username: str) -> bool:
    """While a run waits for its blind second review, its first review is shown only to whoever
    gave it (last changed it), leads included in the rest: anyone may become its second
    reviewer (docs/rules.md#double-review). `review` is the run's review as the pane has it
    (with `has_verdict` and `updated_by`)."""
    if double_review != DOUBLE_WANTED or review is None or not review.has_verdict:
        return False
    return getattr(review, "updated_by", "") != username
