"""`python manage.py seed_runs --runs N`: bulk-insert N more runs for volume testing."""

import random
import secrets
import sys
import time
from contextlib import nullcontext
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone
from tqdm import tqdm

from demo import seed_sql
from demo.generate import AUTOMATIONS, DemoAutomation, demo_run, random_created_at
from demo.load import automations_ensure
from runs.chips import Chip
from runs.counters import chip_counts_recount, version_sampled_recount
from runs.models import Automation, Run
from runs.partitions import partitions_ensure
from runs.sampling import sample_bucket
from runs.services import automation_ensure, output_preview, runs_insert

# Automations beyond the demo three: (kind, slug stem, the demo automation whose payloads they reuse).
EXTRA_AUTOMATIONS = (
    ("workflow", "extract-receipt", "workflows.extract-invoice"),
    ("workflow", "extract-bank-export", "workflows.extract-statement"),
    ("agent", "route-ticket", "agents.triage-email"),
)
# Distinct payloads generated per automation and day; runs draw from them. Volume tests
# need realistic shapes and sizes, not a million unique invoices, and generating every
# payload would dominate the run time.
POOL_PER_DAY = 24


def _automations(count: int) -> list[tuple[Automation, DemoAutomation]]:
    specs = {spec.ref: spec for spec in AUTOMATIONS}
    demo = automations_ensure(now=timezone.now(), lead=None)
    chosen = [(demo[spec.ref], spec) for spec in AUTOMATIONS][:count]
    for index in range(len(chosen), count):
        kind, stem, like = EXTRA_AUTOMATIONS[index % len(EXTRA_AUTOMATIONS)]
        automation = automation_ensure(kind=kind, slug=f"{stem}-{index}")
        chosen.append((automation, specs[like]))
    return chosen


def _payload_pool(spec: DemoAutomation, rng: random.Random, *, now, days: int) -> list[list[tuple[dict, str]]]:
    """Per day ago, POOL_PER_DAY finished demo records of `spec` with their output preview."""
    pool = []
    for day in range(days):
        records = []
        for _ in range(POOL_PER_DAY):
            created_at = now - timedelta(days=day, hours=rng.randint(0, 20))
            # `now` a day later: every pooled run has finished (seeded runs are never "running").
            record = demo_run(spec, rng, run_id="pool", created_at=created_at, now=now + timedelta(days=1),
                              with_files=False).record
            records.append((record, output_preview(record["output"], record["error"])))
        pool.append(records)
    return pool


def _unique_prefix() -> str:
    """A random id prefix no existing run uses, so repeated seeding never collides."""
    while True:
        prefix = f"run_s{secrets.token_hex(5)}_"
        if not Run.objects.filter(id__startswith=prefix).exists():
            return prefix


class Command(BaseCommand):
    help = (
        "Bulk-insert N generated runs (no files, no reviews) spread over K automations and the last D "
        "days, for volume and speed testing. Runs get their sample bucket, sampled flag (from each "
        "automation's rate history), output preview and chip at insert time; chip counters are "
        "recounted at the end. Ids use a fresh random prefix, so seeding twice adds runs."
    )

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, required=True, help="How many runs to insert.")
        parser.add_argument("--automations", type=int, default=3,
                            help="Spread over K automations: the three demo ones first, then generated "
                                 "ones such as workflows.extract-receipt-3 (default 3).")
        parser.add_argument("--days", type=int, default=30, help="Spread creation times over D days (default 30).")
        seed_sql.add_load_arguments(parser, rows="runs", batch=2000,
                                    python="generate the runs in Python and COPY them (about 3,000 runs/s here)",
                                    keeping="during the load")
        parser.add_argument("--no-copy", action="store_true",
                            help="On PostgreSQL, insert with bulk_create instead of COPY (slower; the "
                                 "path every other database takes).")
        parser.add_argument("--chunk", type=int, default=250_000, help="Runs per INSERT ... SELECT (default 250,000).")

    def handle(self, *args, runs: int, automations: int, days: int, batch: int, seed: int | None,
               no_copy: bool, python: bool, keep_indexes: bool, chunk: int, **options):
        if runs < 1 or automations < 1 or days < 1 or batch < 1 or chunk < 1:
            raise CommandError("--runs, --automations, --days, --batch and --chunk must be at least 1.")
        rng = random.Random(seed)
        now = timezone.now()
        chosen = _automations(automations)
        schedules = {automation.pk: automation.rate_schedule() for automation, _ in chosen}
        pools = {automation.pk: _payload_pool(spec, rng, now=now, days=days) for automation, spec in chosen}
        prefix = _unique_prefix()
        # Every month the runs fall in gets its partition first (runs.partitions; PostgreSQL).
        partitions_ensure(since=now - timedelta(days=days), say=self.stdout.write if options["verbosity"] > 1 else None)
        if connection.vendor == "postgresql" and not (no_copy or python):
            self._seed_sql(chosen=chosen, schedules=schedules, pools=pools, prefix=prefix, runs=runs, days=days,
                           now=now, chunk=chunk, drop_indexes=seed_sql.drops_indexes(runs, keep_indexes))
            return
        use_copy = connection.vendor == "postgresql" and not no_copy
        started = time.monotonic()
        inserted = sampled_count = 0
        bar = tqdm(total=runs, unit="run", desc="Seeding runs", file=sys.stderr,
                   disable=None if options["verbosity"] > 0 else True)
        while inserted < runs:
            rows = []
            for number in range(inserted, min(inserted + batch, runs)):
                automation, _ = chosen[number % len(chosen)]
                created_at = random_created_at(rng, now, days)
                day = min((now - created_at).days, days - 1)
                source, preview = rng.choice(pools[automation.pk][day])
                run_id = f"{prefix}{number:09d}"
                bucket = sample_bucket(run_id)
                sampled = bucket < schedules[automation.pk].rate_at(created_at)
                sampled_count += sampled
                duration = source["durationMs"]
                start = created_at + timedelta(milliseconds=rng.randint(40, 900))
                rows.append(Run(
                    id=run_id, automation_id=automation.pk, status=source["status"], trigger=source["trigger"],
                    triggered_by=source["triggeredBy"], version=source["version"], input=source["input"],
                    output=source["output"], error=source["error"], usage=source["usage"],
                    metadata=source["metadata"], created_at=created_at, started_at=start,
                    completed_at=start + timedelta(milliseconds=duration) if duration is not None else None,
                    duration_ms=duration, sample_bucket=bucket, sampled=sampled, chip=Chip.UNREVIEWED,
                    output_preview=preview, field_confidence=source.get("fieldMetadata"),
                ))
            if use_copy:
                runs_insert(rows)
            else:
                Run.objects.bulk_create(rows, batch_size=batch)
            inserted += len(rows)
            bar.update(len(rows))
        bar.close()
        _recount(chosen)
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"Inserted {inserted} runs ({sampled_count} sampled) into {len(chosen)} automations in "
            f"{elapsed:.1f} s ({inserted / elapsed:,.0f} runs/s, {'COPY' if use_copy else 'bulk_create'})."
        )

    def _seed_sql(self, *, chosen, schedules, pools, prefix, runs, days, now, chunk, drop_indexes):
        """The in-database load (demo/seed_sql.py): chunks of INSERT ... SELECT, indexes after."""
        ids = [automation.pk for automation, _ in chosen]
        started = time.monotonic()
        seed_sql.pool_copy([pools[pk] for pk in ids])
        seed_sql.periods_copy(ids, schedules)
        sampled = 0
        say = self.stdout.write
        with seed_sql.indexes_after(say=say) if drop_indexes else nullcontext():
            for first in range(0, runs, chunk):
                last = min(first + chunk, runs) - 1
                sampled += seed_sql.runs_chunk(prefix=prefix, first=first, last=last, automation_ids=ids, days=days,
                                               pool_size=POOL_PER_DAY, now=now)
                elapsed = time.monotonic() - started
                say(f"  {last + 1:,} runs in {elapsed:.0f} s ({(last + 1) / elapsed:,.0f} runs/s)")
        counted = time.monotonic()
        _recount(chosen)
        seed_sql.rollups_vacuumed(say=say)
        elapsed = time.monotonic() - started
        say(f"Inserted {runs} runs ({sampled} sampled) into {len(chosen)} automations in {elapsed:.1f} s "
            f"({runs / elapsed:,.0f} runs/s, INSERT ... SELECT{', indexes built after' if drop_indexes else ''}; "
            f"counters rebuilt in {time.monotonic() - counted:.0f} s).")


def _recount(chosen) -> None:
    for automation, _ in chosen:
        chip_counts_recount(automation=automation)
        version_sampled_recount(automation=automation)
