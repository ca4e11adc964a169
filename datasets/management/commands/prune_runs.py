"""`python manage.py prune_runs AUTOMATION --older-than DAYS`: retention for the runs table."""

import time
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from datasets.retention import DEFAULT_BATCH, runs_prune, runs_prune_months
from runs.models import Automation
from runs.partitions import partitioned, partitions_ensure
from runs.sizes import run_tables, sizes_lines, table_sizes, vacuum


class Command(BaseCommand):
    help = (
        "Delete the runs of one automation created more than DAYS days ago, with their files, reviews, "
        "expected files and audit events (datasets/retention.py); on PostgreSQL whole months of them at once, "
        "by dropping the month's partition of the run table. Promoted examples stay. Chip counts and "
        "daily run counts, the review rollups and the per-version rollup stay exact; stored files are deleted once "
        "each batch has committed. Set-based (one DELETE per table a batch); on PostgreSQL VACUUM (ANALYZE) "
        "afterwards, with the tables' sizes before and after."
    )

    def add_arguments(self, parser):
        parser.add_argument("automations", nargs="+", metavar="AUTOMATION",
                            help="workflows.<slug> or agents.<slug> (several: each in turn, one VACUUM after)")
        parser.add_argument("--older-than", type=int, required=True, metavar="DAYS",
                            help="Delete runs created more than DAYS days ago (at least 1).")
        parser.add_argument("--batch", type=int, default=DEFAULT_BATCH,
                            help=f"Runs deleted per transaction (default {DEFAULT_BATCH:,}).")
        parser.add_argument("--no-vacuum", action="store_true",
                            help="On PostgreSQL, skip the VACUUM (ANALYZE) of the run tables afterwards (it makes "
                                 "the freed space reusable by the next runs and prints the sizes before and after).")
        parser.add_argument("--dry-run", action="store_true", help="Only say how many runs would be deleted.")

    def handle(self, *args, automations: list[str], older_than: int, batch: int, dry_run: bool, **options):
        if older_than < 1 or batch < 1:
            raise CommandError("--older-than and --batch must be at least 1.")
        found = [_automation(ref) for ref in automations]
        before = timezone.now() - timedelta(days=older_than)
        if dry_run:
            for automation in found:
                count = automation.runs.filter(created_at__lt=before).count()
                self.stdout.write(f"{automation.ref}: {count} runs created before {before:%Y-%m-%d %H:%M} "
                                  "would be deleted.")
            return
        sizes = table_sizes(run_tables())
        partitions_ensure(say=self.stdout.write)
        self._prune_months(found, before)
        for automation in found:
            self._prune(automation, before, batch, verbosity=options["verbosity"])
        vacuumed = time.monotonic()
        if sizes and not options["no_vacuum"] and vacuum(sizes):
            self.stdout.write(f"VACUUM (ANALYZE) in {time.monotonic() - vacuumed:.1f} s; sizes before -> after "
                              "(freed pages are reused by new rows, the files do not grow back):")
            for line in sizes_lines(sizes, table_sizes(sizes)):
                self.stdout.write(line)

    def _prune_months(self, automations: list[Automation], before) -> None:
        """The whole months of these automations' runs first, each partition dropped at once."""
        if not partitioned():
            return
        started = last = time.monotonic()

        def progress(result, month, runs):
            nonlocal last
            self.stdout.write(f"  {month.table}: {runs:,} runs in {time.monotonic() - last:.1f} s, partition dropped")
            last = time.monotonic()

        result = runs_prune_months(automations=automations, before=before, progress=progress)
        if result.runs:
            elapsed = time.monotonic() - started
            self.stdout.write(f"Whole months: deleted {result.runs} runs and {result.files} stored files in "
                              f"{elapsed:.1f} s ({result.runs / max(elapsed, 1e-6):,.0f} runs/s), partitions dropped.")

    def _prune(self, automation: Automation, before, batch: int, *, verbosity: int) -> None:
        started = time.monotonic()

        def progress(result):
            if verbosity > 1:
                self.stdout.write(f"  {result.runs:,} runs in {time.monotonic() - started:.0f} s")

        result = runs_prune(automation=automation, before=before, batch=batch, progress=progress)
        elapsed = time.monotonic() - started
        self.stdout.write(f"{automation.ref}: deleted {result.runs} runs created before {before:%Y-%m-%d %H:%M} "
                          f"and {result.files} stored files in {elapsed:.1f} s "
                          f"({result.runs / max(elapsed, 1e-6):,.0f} runs/s).")


def _automation(ref: str) -> Automation:
    try:
        return Automation.objects.by_ref(ref)
    except Automation.DoesNotExist:
        raise CommandError(f"No automation {ref!r} (use workflows.<slug> or agents.<slug>).") from None
