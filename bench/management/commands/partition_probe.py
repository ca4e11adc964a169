"""`manage.py partition_probe --yes`: measures the monthly-partition design of docs/scale.md
("Why not monthly partitions (yet)") on a loaded database, before it is built.

PostgreSQL only, and only on a copy (`createdb -T loupe_10m probe`): it deletes the oldest month's
reviews and audit events for real. Two figures, each step timed:

1. The migration of an existing database: a copy of `runs_run` partitioned by month
   (`runs_run_probe`, its key (id, created_at), the same indexes), filled from `runs_run`.
2. Retention of the oldest whole month on it: the counter moves of the month read by grouped
   scans of its partition, the rows hanging off its runs deleted set-based, the partition
   detached and dropped, in one transaction.

The application keeps using `runs_run`; the probe table is dropped at the end unless --keep."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models.expressions import RawSQL

from datasets.retention import dependents
from review.models import Claim
from runs.models import Run

PROBE = "runs_run_probe"
GONE = RawSQL("SELECT id FROM gone", ())  # the month's run ids, a temporary table
# What the month's rollups would be lowered by: one grouped scan each.
COUNTER_SCANS = [
    "SELECT automation_id, sampled, chip, count(*) FROM {part} GROUP BY 1, 2, 3",
    "SELECT automation_id, (created_at AT TIME ZONE 'UTC')::date, sampled, count(*) FROM {part} GROUP BY 1, 2, 3",
    "SELECT automation_id, version, date_trunc('hour', created_at), sampled, count(*) FROM {part} GROUP BY 1, 2, 3, 4",
    "SELECT automation_id, stratum, (created_at AT TIME ZONE 'UTC')::date, count(*) FROM {part} GROUP BY 1, 2, 3",
]


class Command(BaseCommand):
    help = __doc__.split("\n\n")[0]

    def add_arguments(self, parser):
        parser.add_argument("--yes", action="store_true", help="Run it (on a copy: it deletes the oldest month's reviews).")
        parser.add_argument("--keep", action="store_true", help=f"Keep {PROBE} afterwards.")

    def handle(self, *args, yes: bool, keep: bool, **options):
        if connection.vendor != "postgresql":
            raise CommandError("partition_probe measures PostgreSQL's declarative partitioning; DATABASE_URL is not PostgreSQL.")
        if not yes:
            raise CommandError("It deletes the oldest month's reviews and audit events: run it on a copy "
                               "(createdb -T loupe_10m probe), with --yes.")
        with connection.cursor() as cursor:
            self.cursor = cursor
            total = self._migrate()
            self.stdout.write(f"migration of {self._one('SELECT count(*) FROM runs_run'):,} runs: {total:.1f} s")
            part, runs, seconds, size = self._drop_oldest_month()
            self.stdout.write(f"retention of the oldest month ({part}): {runs:,} runs in {seconds:.1f} s; "
                              f"{PROBE} {size[0]:,} MB before, {size[1]:,} MB after")
            if not keep:
                cursor.execute(f"DROP TABLE {PROBE}")

    def _one(self, sql: str):
        self.cursor.execute(sql)
        return self.cursor.fetchone()[0]

    def _timed(self, label: str, sql: str) -> float:
        started = time.perf_counter()
        self.cursor.execute(sql)
        return self._report(label, started, self.cursor.rowcount)

    def _report(self, label: str, started: float, rows: int | None) -> float:
        seconds = time.perf_counter() - started
        self.stdout.write(f"  {seconds:7.2f} s  {label}" + (f" ({rows:,} rows)" if rows and rows > 0 else ""))
        return seconds

    def _migrate(self) -> float:
        c = self.cursor
        c.execute(f"DROP TABLE IF EXISTS {PROBE}")
        c.execute(f"CREATE TABLE {PROBE} (LIKE runs_run INCLUDING DEFAULTS) PARTITION BY RANGE (created_at)")
        c.execute("SELECT m FROM generate_series(date_trunc('month', (SELECT min(created_at) FROM runs_run)), "
                  "date_trunc('month', now()) + interval '1 month', interval '1 month') AS m")
        for (month,) in c.fetchall():
            c.execute(f"CREATE TABLE {PROBE}_{month:%Y%m} PARTITION OF {PROBE} "
                      "FOR VALUES FROM (%s) TO (%s::timestamptz + interval '1 month')", [month, month])
        c.execute(f"CREATE TABLE {PROBE}_default PARTITION OF {PROBE} DEFAULT")
        total = self._timed("copy the runs into monthly partitions", f"INSERT INTO {PROBE} SELECT * FROM runs_run")
        total += self._timed("primary key (id, created_at)", f"ALTER TABLE {PROBE} ADD PRIMARY KEY (id, created_at)")
        c.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'runs_run' AND indexname NOT LIKE '%pkey'")
        for name, definition in c.fetchall():
            probe = definition.replace(" ON public.runs_run ", f" ON public.{PROBE} ").replace(f"INDEX {name} ", f"INDEX {name}_probe ")
            total += self._timed(f"index {name}", probe)
        return total + self._timed("VACUUM ANALYZE", f"VACUUM ANALYZE {PROBE}")

    def _size_mb(self) -> int:
        return self._one("SELECT (coalesce(sum(pg_total_relation_size(inhrelid)), 0) / 1048576)::bigint "
                         f"FROM pg_inherits WHERE inhparent = '{PROBE}'::regclass")

    def _drop_oldest_month(self) -> tuple[str, int, float, tuple[int, int]]:
        c = self.cursor
        c.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                  "WHERE i.inhparent = %s::regclass AND c.relname <> %s ORDER BY c.relname LIMIT 2",
                  [PROBE, f"{PROBE}_default"])
        # The first partition holds the first, partial month; the second is the oldest whole one.
        part = c.fetchall()[-1][0]
        before = self._size_mb()
        runs = self._one(f"SELECT count(*) FROM {part}")
        with transaction.atomic():
            c.execute("SET LOCAL synchronous_commit TO OFF")
            seconds = self._timed("the month's run ids", f"CREATE TEMP TABLE gone ON COMMIT DROP AS SELECT id FROM {part}")
            seconds += self._timed("ANALYZE them", "ANALYZE gone")
            for scan in COUNTER_SCANS:
                seconds += self._timed("counter moves: " + scan.split(" FROM")[0][7:], scan.format(part=part))
            seconds += self._timed("their reviews' states", "SELECT rating, status, count(*) FROM review_review "
                                   "WHERE run_id IN (SELECT id FROM gone) GROUP BY 1, 2")
            # What hangs off the runs, walked as datasets.retention walks it, by the month's ids.
            for model, path, unlink in [*dependents(Run, "pk"), (Claim, "run_id", None)]:
                rows = model._base_manager.filter(**{f"{path}__in": GONE})
                started = time.perf_counter()
                count = rows.update(**{unlink: None}) if unlink else rows._raw_delete(rows.db)
                seconds += self._report(f"{'unlink' if unlink else 'DELETE'} {model._meta.db_table}", started, count)
            seconds += self._timed("DETACH the month", f"ALTER TABLE {PROBE} DETACH PARTITION {part}")
            seconds += self._timed("DROP it", f"DROP TABLE {part}")
            committing = time.perf_counter()
        seconds += self._report("COMMIT", committing, 0)
        return part, runs, seconds, (before, self._size_mb())
