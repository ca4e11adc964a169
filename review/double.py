"""Double review (docs/rules.md#double-review): the blind second review of a run chosen for it,
and a lead's adjudication when the two reviews differ.

Every write locks the run's row in a statement of its own and reads the second review after the
lock was granted (docs/rules.md#concurrent-writes), like review.services.review_locked.
"""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from review.jsondiff import diff, generalise
from review.models import AuditEvent, Review, SecondReview
from review.services import UNCHANGED, VERDICTS, ReviewError, review_update
from runs.models import DOUBLE_DISPUTED, DOUBLE_DONE, DOUBLE_WANTED, Run

Via = AuditEvent.Via
Decision = SecondReview.Decision


class SecondReviewHeld(ReviewError):
    """Another reviewer holds the run's second review; `holder` is their name."""

    def __init__(self, holder: str):
        super().__init__(f"{holder} is giving this run's second review.", field="reviewer")
        self.holder = holder


class StaleSecondReview(ReviewError):
    """The second review changed since the writer loaded it; `current` is how it is now."""

    def __init__(self, current: SecondReview):
        super().__init__("This second review changed since you opened it; nothing was saved.", field="version")
        self.current = current


def first_reviewers(review: Review | None) -> set[int]:
    """Who gave the run's first review: whoever created, last changed or closed it."""
    if review is None:
        return set()
    return {pk for pk in (review.created_by_id, review.updated_by_id, review.resolved_by_id) if pk}


def _locked(run_id: str) -> tuple[Run, Review | None, SecondReview | None]:
    run = Run.objects.select_for_update().get(pk=run_id)
    return run, Review.objects.filter(run_id=run.pk).first(), SecondReview.objects.filter(run_id=run.pk).first()


def _verdict(verdict) -> str:
    if verdict not in VERDICTS:
        raise ReviewError("Choose a verdict: pass, fail or partial.", field="verdict")
    return verdict


def _audit(run: Run, user, via: str, action: str, changes: dict) -> None:
    AuditEvent.objects.create(run=run, user=user if getattr(user, "pk", None) else None, via=via,
                              action=action, changes=changes)


def second_take(*, run_id: str, user, now: datetime | None = None) -> SecondReview:
    """Hold the run's second review for `user` (or renew their hold) for LOUPE_CLAIM_MINUTES.
    Refused when the run does not wait for one, its first review has no verdict yet, `user`
    gave the first review, or someone else holds it."""
    now = now or timezone.now()
    until = now + timezone.timedelta(minutes=settings.LOUPE_CLAIM_MINUTES)
    with transaction.atomic():
        run, review, second = _locked(run_id)
        if run.double_review != DOUBLE_WANTED or (second is not None and second.submitted_at):
            raise ReviewError("This run does not wait for a second review.", field="run")
        if review is None or not review.rating:
            raise ReviewError("This run's first review has no verdict yet.", field="run")
        if user.pk in first_reviewers(review):
            raise ReviewError("You gave this run's first review; its second review must come from someone else.",
                              field="reviewer")
        if second is None:
            return SecondReview.objects.create(run=run, reviewer=user, held_until=until, version=1)
        if second.reviewer_id != user.pk and second.held_until and second.held_until > now:
            raise SecondReviewHeld(second.reviewer.get_username() if second.reviewer else "Someone")
        second.reviewer, second.held_until = user, until
        second.version += 1
        second.save(update_fields=["reviewer", "held_until", "version"])
    return second


def field_agreement(output, first_expected, second_expected) -> dict[str, bool]:
    """{field pattern: alike} over the fields either reviewer corrected: a field is alike when
    both changed it to the same value (JSON pointers generalised, `/items/*/amount`, alike when
    every one of its places is)."""
    first = {c.path: (c.op, c.new) for c in diff(output, first_expected)} if first_expected is not None else {}
    second = {c.path: (c.op, c.new) for c in diff(output, second_expected)} if second_expected is not None else {}
    fields: dict[str, bool] = {}
    for path in sorted(first.keys() | second.keys()):
        pattern = generalise(path) or "/"
        alike = path in first and path in second and first[path] == second[path]
        fields[pattern] = fields.get(pattern, True) and alike
    return fields


def second_submit(*, run_id: str, user, verdict: str, note: str = "", expected=None,
                  base_version: int | None = None, via: str = Via.WEB, now: datetime | None = None) -> SecondReview:
    """Give the second review held by `user`: verdict, note and corrected output (None: no
    correction). The first review is copied beside it and the two compared: alike (same
    verdict, every corrected field alike) the run is done; otherwise it goes to the
    adjudication queue. `base_version` stale: StaleSecondReview."""
    _verdict(verdict)
    if not isinstance(note, str) or len(note) > 20_000:
        raise ReviewError("The note must be text of at most 20,000 characters.", field="body")
    now = now or timezone.now()
    with transaction.atomic():
        run, review, second = _locked(run_id)
        if second is None or second.reviewer_id != user.pk or second.submitted_at:
            raise ReviewError("Take this run's second review first (it is not held by you).", field="reviewer")
        if base_version is not None and base_version != second.version:
            raise StaleSecondReview(second)
        if user.pk in first_reviewers(review) or review is None or not review.rating:
            raise ReviewError("This run's first review changed hands; its second review cannot be given.",
                              field="reviewer")
        second.rating, second.body, second.expected, second.submitted_at = verdict, note, expected, now
        second.first_rating, second.first_body, second.first_expected = review.rating, review.body, review.expected
        second.first_by_id = review.updated_by_id or review.created_by_id
        second.fields = field_agreement(run.output, review.expected, expected)
        second.agrees = review.rating == verdict and all(second.fields.values())
        second.held_until = None
        second.version += 1
        second.save()
        run.double_review = DOUBLE_DONE if second.agrees else DOUBLE_DISPUTED
        Run.objects.filter(pk=run.pk).update(double_review=run.double_review)
        _audit(run, user, via, f"second_review:{verdict}",
               {"agrees": second.agrees, "fields": sorted(p for p, alike in second.fields.items() if not alike)})
    return second


def _changes(rating: str, body: str, expected) -> dict:
    return {**VERDICTS[rating], "body": body, "expected": expected}


def second_adjudicate(*, run_id: str, user, decision: str, verdict: str | None = None, note: str = "",
                      expected=UNCHANGED, base_version: int | None = None, via: str = Via.WEB,
                      now: datetime | None = None) -> Review:
    """A lead decides a disputed run: the first review, the second, or their own (verdict, note,
    corrected output). The decision becomes the run's review (review_update, audit action
    `adjudicate:<decision>`, in this transaction) and the run is done."""
    if decision not in Decision.values:
        raise ReviewError("Choose first, second or own.", field="decision")
    if decision == Decision.OWN:
        _verdict(verdict)
    now = now or timezone.now()
    with transaction.atomic():
        run, review, second = _locked(run_id)
        if run.double_review != DOUBLE_DISPUTED or second is None:
            raise ReviewError("This run does not wait for adjudication.", field="run")
        if base_version is not None and base_version != second.version:
            raise StaleSecondReview(second)
        if decision == Decision.FIRST:
            changes = _changes(second.first_rating, second.first_body, second.first_expected)
        elif decision == Decision.SECOND:
            changes = _changes(second.rating, second.body, second.expected)
        else:
            changes = _changes(verdict, note, None if expected is UNCHANGED else expected)
        second.decision, second.decided_by, second.decided_at = decision, user, now
        second.version += 1
        second.save(update_fields=["decision", "decided_by", "decided_at", "version"])
        Run.objects.filter(pk=run.pk).update(double_review=DOUBLE_DONE)
        before = review.version if review is not None else 0
        review = review_update(run=run, changes=changes, user=user, via=via, action=f"adjudicate:{decision}")
        if review.version == before:  # the decision is the review as it stands: recorded all the same
            _audit(run, user, via, f"adjudicate:{decision}", {"unchanged": True})
    return review
