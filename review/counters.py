"""The review rollup (ReviewDayCount): which counts one review contributes, changes applied as
deltas by the services, and the rebuild from the source rows used by `manage.py recount`."""

from collections import Counter

from django.db import transaction
from django.utils import timezone

from review.models import Review, ReviewDayCount
from runs.chips import Rating
from runs.counters import counts_upsert

Kind = ReviewDayCount.Kind
PATH_LENGTH = ReviewDayCount._meta.get_field("path").max_length
_STATE = ("run_id", "run__automation_id", "run__created_at", "run__sampled", "rating", "resolved_at",
          "updated_at", "has_expected", "corrected_paths")


def review_marks(*, automation_id: int, created_at, sampled: bool, rating: str | None, resolved_at,
                 updated_at, has_expected: bool, corrected_paths) -> Counter:
    """The rollup keys one review counts under, each +1."""
    marks: Counter = Counter()
    day = timezone.localdate(created_at)
    if rating:
        marks[(automation_id, day, sampled, Kind.RATED, "")] += 1
        if rating == Rating.PASS:
            marks[(automation_id, day, sampled, Kind.PASSED, "")] += 1
    if resolved_at is not None:
        marks[(automation_id, timezone.localdate(resolved_at), sampled, Kind.RESOLVED, "")] += 1
    paths = {p[:PATH_LENGTH] for p in corrected_paths or [] if isinstance(p, str)} if has_expected else set()
    if paths:
        changed = timezone.localdate(updated_at)
        marks[(automation_id, changed, sampled, Kind.CORRECTED, "")] += 1
        for path in paths:
            marks[(automation_id, changed, sampled, Kind.PATH, path)] += 1
    return marks


def marks_of(run, review) -> Counter:
    if review is None:
        return Counter()
    return review_marks(automation_id=run.automation_id, created_at=run.created_at, sampled=run.sampled,
                        rating=review.rating, resolved_at=review.resolved_at, updated_at=review.updated_at,
                        has_expected=review.has_expected, corrected_paths=review.corrected_paths)


def _marks_of_row(row) -> Counter:
    _, automation_id, created_at, sampled, rating, resolved_at, updated_at, has_expected, paths = row
    return review_marks(automation_id=automation_id, created_at=created_at, sampled=sampled, rating=rating,
                        resolved_at=resolved_at, updated_at=updated_at, has_expected=has_expected,
                        corrected_paths=paths)


def review_counts_move(before: Counter, after: Counter) -> None:
    """Apply after - before (negative counts kept) in one statement."""
    moves = Counter(after)
    moves.subtract(before)
    counts_upsert(ReviewDayCount, ("automation", "day", "sampled", "kind", "path"), moves)


def review_counts_states(run_ids) -> dict[str, Counter]:
    """The marks of the reviews of these runs, from the database (one query)."""
    rows = Review.objects.filter(run_id__in=list(run_ids)).values_list(*_STATE)
    return {row[0]: _marks_of_row(row) for row in rows}


def review_counts_recount(*, automation) -> None:
    """Rebuild the review rollup of one automation from its reviews (commands, repairs), by the
    same rule the services apply as deltas."""
    total: Counter = Counter()
    for row in Review.objects.filter(run__automation=automation).order_by().values_list(*_STATE).iterator(2000):
        total.update(_marks_of_row(row))
    with transaction.atomic():
        ReviewDayCount.objects.filter(automation=automation).delete()
        ReviewDayCount.objects.bulk_create(
            [ReviewDayCount(automation_id=a, day=day, sampled=sampled, kind=kind, path=path, count=n)
             for (a, day, sampled, kind, path), n in total.items() if n], batch_size=2000)
