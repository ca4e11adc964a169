"""The review rollup (review.models.ReviewDayCount): upkeep inside the review services'
transactions, and a rebuild for repairs (`manage.py recount_reviews`)."""

from django.db import transaction
from django.db.models import Case, CharField, Count, F, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from review.models import Review, ReviewDayCount
from runs.chips import Rating
from runs.models import Automation, Run

CORRECT, INCORRECT, NIT = "correct", "incorrect", "nit"


def verdict_bucket(rating: str | None) -> str:
    """The health endpoint's word for a review with this rating (docs/api-reviews.md mapping)."""
    if rating == Rating.PASS:
        return CORRECT
    if rating in (Rating.FAIL, Rating.PARTIAL):
        return INCORRECT
    return NIT


def review_day_count_move(*, run: Run, old: str | None, new: str | None) -> None:
    """Move one review of `run` from verdict bucket `old` to `new` (None: no review). Called
    inside the writing transaction, with the run row locked."""
    if old == new:
        return
    day = timezone.localdate(run.created_at)
    key = {"automation_id": run.automation_id, "day": day, "sampled": run.sampled}
    if old is not None:
        ReviewDayCount.objects.filter(**key, verdict=old).update(count=F("count") - 1)
    if new is not None:
        if not ReviewDayCount.objects.filter(**key, verdict=new).update(count=F("count") + 1):
            ReviewDayCount.objects.get_or_create(**key, verdict=new, defaults={"count": 0})
            ReviewDayCount.objects.filter(**key, verdict=new).update(count=F("count") + 1)


BUCKET_EXPRESSION = Case(
    When(rating=Rating.PASS, then=Value(CORRECT)),
    When(rating__in=(Rating.FAIL, Rating.PARTIAL), then=Value(INCORRECT)),
    default=Value(NIT), output_field=CharField(),
)


def review_day_counts_recount(*, automation: Automation) -> None:
    """Rebuild one automation's review rollup from its reviews (repairs, the migration)."""
    rows = (Review.objects.filter(run__automation=automation)
            .annotate(day=TruncDate("run__created_at"), verdict=BUCKET_EXPRESSION)
            .order_by().values("day", "run__sampled", "verdict").annotate(n=Count("pk")))
    with transaction.atomic():
        ReviewDayCount.objects.filter(automation=automation).delete()
        ReviewDayCount.objects.bulk_create([
            ReviewDayCount(automation=automation, day=r["day"], sampled=r["run__sampled"], verdict=r["verdict"],
                           count=r["n"]) for r in rows])
