"""`python manage.py partitions`: the run table's monthly partitions on PostgreSQL (runs/partitions.py)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from runs.partitions import AHEAD, DEFAULT, months, partitioned, partitions_ensure


class Command(BaseCommand):
    help = ("Create the run table's monthly partitions ahead (and the months of any runs waiting in its default "
            "partition, moved in), then list them with their approximate run counts. PostgreSQL; run it nightly "
            "(prune_runs does it too).")

    def add_arguments(self, parser):
        parser.add_argument("--ahead", type=int, default=AHEAD, help=f"Months created ahead of this one (default {AHEAD}).")

    def handle(self, *args, ahead: int, **options):
        if ahead < 0:
            raise CommandError("--ahead must be 0 or more.")
        if not partitioned():
            self.stdout.write("The run table is not partitioned here (only on PostgreSQL): nothing to do.")
            return
        partitions_ensure(ahead=ahead, say=self.stdout.write)
        with connection.cursor() as cursor:
            for month in months():
                self.stdout.write(f"{month.table}  {month.start:%Y-%m-%d} .. {month.end:%Y-%m-%d}  "
                                  f"about {_estimate(cursor, month.table):,} runs")
            self.stdout.write(f"{DEFAULT}  (runs of any other month)  about {_estimate(cursor, DEFAULT):,} runs")


def _estimate(cursor, table: str) -> int:
    """The planner's row estimate (cheap; exact after ANALYZE)."""
    cursor.execute("SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = %s::regclass", [table])
    return cursor.fetchone()[0]
