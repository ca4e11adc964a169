"""Rebuild the derived counters (chip counts, daily run counts, the daily review rollups, the
per-version rollup) from
the runs and reviews themselves.

The services keep them in step; this is for repairs, e.g. after deleting runs in SQL."""

from django.core.management.base import BaseCommand

from humanreview.calibration import task_marks_recount
from review.counters import review_counts_recount, review_day_counts_recount, reviewer_counts_recount
from runs.counters import chip_counts_recount, version_sampled_recount
from runs.models import Automation


class Command(BaseCommand):
    help = ("Rebuild chip counts, daily run counts (per stratum too), daily review counts and the calibration "
            "counts of every automation (or the named ones) from the runs.")

    def add_arguments(self, parser):
        parser.add_argument("automations", nargs="*", help="workflows.<slug> / agents.<slug>; default all")

    def handle(self, *args, automations: list[str], **options):
        found = [Automation.objects.by_ref(ref) for ref in automations] if automations else Automation.objects.all()
        for automation in found:
            chip_counts_recount(automation=automation)
            version_sampled_recount(automation=automation)
            review_counts_recount(automation=automation)
            task_marks_recount(automation=automation)
            review_day_counts_recount(automation=automation)
            reviewer_counts_recount(automation=automation)
            self.stdout.write(f"{automation.ref}: recounted")
