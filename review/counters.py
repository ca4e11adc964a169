"""The review rollup (ReviewDayCount): which counts one review contributes, changes applied as
deltas by the services, and the rebuild from the source rows used by `manage.py recount`."""

from collections import Counter

from django.db import transaction
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from review.models import Review, ReviewDayCount
from runs.chips import Rating
from runs.counters import counts_upsert

Kind = ReviewDayCount.Kind


def review_marks(*, automation_id: int, created_at, sampled: bool, rating: str | None, resolved_at) -> Counter:
    """The rollup keys one review counts under, each +1 (an empty Counter for no review)."""
    marks: Counter = Counter()
    day = timezone.localdate(created_at)
    if rating:
        marks[(automation_id, day, sampled, Kind.RATED)] += 1
        if rating == Rating.PASS:
            marks[(automation_id, day, sampled, Kind.PASSED)] += 1
    if resolved_at is not None:
        marks[(automation_id, timezone.localdate(resolved_at), sampled, Kind.RESOLVED)] += 1
    return marks


def marks_of(run, review) -> Counter:
    if review is None:
        return Counter()
    return review_marks(automation_id=run.automation_id, created_at=run.created_at, sampled=run.sampled,
                        rating=review.rating, resolved_at=review.resolved_at)


def review_counts_move(before: Counter, after: Counter) -> None:
    """Apply after - before (negative counts kept) in one statement."""
    moves = Counter(after)
    moves.subtract(before)
    counts_upsert(ReviewDayCount, ("automation", "day", "sampled", "kind"), moves)


def review_counts_states(run_ids) -> dict[str, Counter]:
    """The marks of the reviews of these runs, from the database (one query)."""
    rows = (Review.objects.filter(run_id__in=list(run_ids))
            .values_list("run_id", "run__automation_id", "run__created_at", "run__sampled", "rating", "resolved_at"))
    return {run_id: review_marks(automation_id=a, created_at=c, sampled=s, rating=r, resolved_at=res)
            for run_id, a, c, s, r, res in rows}


def review_counts_recount(*, automation) -> None:
    """Rebuild the review rollup of one automation from its reviews (commands, repairs)."""
    reviews = Review.objects.filter(run__automation=automation).order_by()
    by_run_day = (reviews.filter(rating__isnull=False).annotate(day=TruncDate("run__created_at"))
                  .values("day", "run__sampled")
                  .annotate(rated=Count("pk"), passed=Count("pk", filter=Q(rating=Rating.PASS))))
    by_resolved_day = (reviews.filter(resolved_at__isnull=False).annotate(day=TruncDate("resolved_at"))
                       .values("day", "run__sampled").annotate(n=Count("pk")))
    rows = []
    for row in by_run_day:
        rows.append(ReviewDayCount(automation=automation, day=row["day"], sampled=row["run__sampled"],
                                   kind=Kind.RATED, count=row["rated"]))
        if row["passed"]:
            rows.append(ReviewDayCount(automation=automation, day=row["day"], sampled=row["run__sampled"],
                                       kind=Kind.PASSED, count=row["passed"]))
    rows += [ReviewDayCount(automation=automation, day=row["day"], sampled=row["run__sampled"], kind=Kind.RESOLVED,
                            count=row["n"]) for row in by_resolved_day]
    with transaction.atomic():
        ReviewDayCount.objects.filter(automation=automation).delete()
        ReviewDayCount.objects.bulk_create(rows)
