"""Fill the per-version rollup (runs.VersionHourCount) of an existing database from its runs and
reviews: two grouped queries, by the rule review.counters keeps it by (sampled runs; of those,
reviewed and passed as runs.chips.estimate_verdict counts them)."""

from collections import Counter
from datetime import UTC
from datetime import UTC

from django.db import migrations
from django.db.models import Count
from django.db.models.functions import TruncHour

from runs.chips import estimate_verdict


def fill(apps, schema_editor):
    Run = apps.get_model("runs", "Run")
    Review = apps.get_model("review", "Review")
    VersionHourCount = apps.get_model("runs", "VersionHourCount")
    counts: Counter = Counter()
    runs = (Run.objects.filter(sampled=True).annotate(hour=TruncHour("created_at", tzinfo=UTC)).order_by()
            .values_list("automation_id", "hour", "version", "stratum", "inclusion_bp").annotate(n=Count("pk")))
    for automation_id, hour, version, stratum, rate, n in runs:
        counts[(automation_id, hour, version or "", stratum, rate, "sampled")] += n
    reviews = (Review.objects.filter(run__sampled=True).annotate(hour=TruncHour("run__created_at", tzinfo=UTC)).order_by()
               .values_list("run__automation_id", "hour", "run__version", "run__stratum", "run__inclusion_bp",
                            "rating", "status").annotate(n=Count("pk")))
    for automation_id, hour, version, stratum, rate, rating, status, n in reviews:
        verdict = estimate_verdict(rating, status)
        if verdict is not None:
            counts[(automation_id, hour, version or "", stratum, rate, "rated")] += n
            if verdict:
                counts[(automation_id, hour, version or "", stratum, rate, "passed")] += n
    VersionHourCount.objects.bulk_create([
        VersionHourCount(automation_id=a, hour=hour, version=version, stratum=stratum, inclusion_bp=rate, kind=kind,
                        count=n) for (a, hour, version, stratum, rate, kind), n in counts.items() if n],
        batch_size=2000)


class Migration(migrations.Migration):

    dependencies = [
        ("review", "0012_review_tally_stratum_and_calibration_kinds"),
        ("runs", "0011_version_hour_counts"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
