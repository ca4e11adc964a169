"""`python manage.py prune_runs AUTOMATION --older-than DAYS`: retention for the runs table."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from datasets.retention import runs_prune
from runs.models import Automation


class Command(BaseCommand):
    help = (
        "Delete the runs of one automation created more than DAYS days ago, with their files, reviews, "
        "expected files and audit events (datasets/retention.py). Promoted examples stay. Chip counts and "
        "daily run counts stay exact; stored files are deleted once each batch has committed."
    )

    def add_arguments(self, parser):
        parser.add_argument("automation", help="workflows.<slug> or agents.<slug>")
        parser.add_argument("--older-than", type=int, required=True, metavar="DAYS",
                            help="Delete runs created more than DAYS days ago (at least 1).")
        parser.add_argument("--batch", type=int, default=2000, help="Runs deleted per transaction (default 2000).")
        parser.add_argument("--dry-run", action="store_true", help="Only say how many runs would be deleted.")

    def handle(self, *args, automation: str, older_than: int, batch: int, dry_run: bool, **options):
        if older_than < 1 or batch < 1:
            raise CommandError("--older-than and --batch must be at least 1.")
        try:
            found = Automation.objects.by_ref(automation)
        except Automation.DoesNotExist:
            raise CommandError(f"No automation {automation!r} (use workflows.<slug> or agents.<slug>).") from None
        before = timezone.now() - timedelta(days=older_than)
        if dry_run:
            count = found.runs.filter(created_at__lt=before).count()
            self.stdout.write(f"{found.ref}: {count} runs created before {before:%Y-%m-%d %H:%M} would be deleted.")
            return
        result = runs_prune(automation=found, before=before, batch=batch)
        self.stdout.write(f"{found.ref}: deleted {result.runs} runs created before {before:%Y-%m-%d %H:%M} "
                          f"and {result.files} stored files.")
