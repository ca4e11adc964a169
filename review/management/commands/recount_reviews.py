"""Rebuild the review rollup (ReviewDayCount) from the reviews themselves.

review.services keeps it in step; this is for repairs, e.g. after deleting runs (and with them
their reviews) in the admin or in SQL. `recount` does the same for the run counters."""

from django.core.management.base import BaseCommand

from review.counters import review_day_counts_recount
from runs.models import Automation


class Command(BaseCommand):
    help = "Rebuild the per-day review counts of every automation (or the named ones) from the reviews."

    def add_arguments(self, parser):
        parser.add_argument("automations", nargs="*", help="workflows.<slug> / agents.<slug>; default all")

    def handle(self, *args, automations: list[str], **options):
        found = [Automation.objects.by_ref(ref) for ref in automations] if automations else Automation.objects.all()
        for automation in found:
            review_day_counts_recount(automation=automation)
            self.stdout.write(f"{automation.ref}: reviews recounted")
