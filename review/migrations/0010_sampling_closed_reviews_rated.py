"""Reviews closed (resolved) without a rating now count as reviewed in the estimate, as their
Failed chip says (runs.chips.estimate_verdict, issue 21): add them to ReviewTally's `rated`
rows, which counted only reviews with a rating. Not passed, so `passed` is unchanged."""

from collections import Counter

from django.db import migrations
from django.utils import timezone


def count_closed_reviews(apps, schema_editor):
    Review = apps.get_model("review", "Review")
    ReviewTally = apps.get_model("review", "ReviewTally")
    marks: Counter = Counter()
    rows = (Review.objects.filter(rating__isnull=True, status="resolved")
            .values_list("run__automation_id", "run__created_at", "run__sampled").iterator(2000))
    for automation_id, created_at, sampled in rows:
        marks[(automation_id, timezone.localdate(created_at), sampled)] += 1
    for (automation_id, day, sampled), n in marks.items():
        row, _ = ReviewTally.objects.get_or_create(automation_id=automation_id, day=day, sampled=sampled,
                                                   kind="rated", path="", defaults={"count": 0})
        ReviewTally.objects.filter(pk=row.pk).update(count=row.count + n)


class Migration(migrations.Migration):
    dependencies = [("review", "0009_claims")]

    operations = [migrations.RunPython(count_closed_reviews, migrations.RunPython.noop)]
