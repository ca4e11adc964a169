"""The Waiting inbox at scale, for `manage.py benchmark` (docs/human-review.md#speed): pending
human review tasks seeded fast (bulk_create, 5,000 a statement batch) to each size asked for,
then the inbox and the nav count timed over HTTP against the bare page, interleaved, and on
PostgreSQL the inbox query's plan (it must walk the index hr_task_inbox, never sort the table).

The seeded runs are paused runs of their own automation (`workflows.bench-paused`), ids
`run_bench_hr_…`, written straight to the tables: they skip the chip and day counters (not
sampled) and open no webhooks. Each measurement starts by deleting the previous ones."""

import statistics
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from humanreview.models import Task
from humanreview.queries import pending_query
from runs.models import Run, RunStatus
from runs.services import automation_ensure

PREFIX = "run_bench_hr_"
BATCH = 5000
MACHINE = {"vendor": {"name": "ACME GmbH", "iban": "DE89370400440532013000"}, "total": 1234.5, "currency": "EUR"}
METADATA = {"/vendor/iban": {"confidence": 0.41, "label": "IBAN"}, "/total": {"confidence": "low", "label": "Total"},
            "/vendor/name": {"confidence": 0.97, "label": "Vendor"}}
REQUIRED = ["/vendor/iban", "/total"]
REASONS = {"/vendor/iban": "low_confidence", "/total": "low_confidence", "/vendor/name": "threshold_met"}


def clear() -> None:
    """Remove the tasks and runs an earlier measurement seeded."""
    with transaction.atomic():
        Task.objects.filter(run__id__startswith=PREFIX).delete()
        Run.objects.filter(id__startswith=PREFIX).delete()
    _vacuum()


def _vacuum() -> None:
    """On PostgreSQL, what autovacuum would do after a while: the deleted rows' index entries
    gone (else the inbox's index walk steps over every dead one: the seeded tasks are the
    oldest) and fresh statistics."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE humanreview_task")


def seed_pending(total: int) -> int:
    """Top the benchmark's pending tasks up to `total` (oldest first: older than any task a
    person opened, so the inbox's first page is theirs). Returns how many were written."""
    automation = automation_ensure(kind="workflow", slug="bench-paused", name="Bench: paused invoices")
    have = Task.objects.filter(automation=automation).count()
    now = timezone.now() - timedelta(days=30)
    for start in range(have, total, BATCH):
        ids = range(start, min(total, start + BATCH))
        runs = [Run(id=f"{PREFIX}{n:08d}", automation=automation, status=RunStatus.WAITING, output=None,
                    input={"invoice": f"inv-{n}.pdf"}, created_at=now - timedelta(seconds=n)) for n in ids]
        with transaction.atomic():
            Run.objects.bulk_create(runs)
            Task.objects.bulk_create([Task(
                run_id=run.id, automation=automation, source_label="Check the invoice", machine_data=MACHINE,
                draft_data=MACHINE, field_metadata=METADATA, required_paths=REQUIRED, selection_reasons=REASONS,
                required_count=len(REQUIRED), created_at=run.created_at, updated_at=run.created_at) for run in runs])
    _vacuum()
    return max(0, total - have)


def inbox_plan() -> str:
    """EXPLAIN of the inbox's page query (PostgreSQL; '' elsewhere), one line per plan node."""
    if connection.vendor != "postgresql":
        return ""
    return pending_query(with_policy=True)[:51].explain()


def measure(http, timed, line, sizes: list[int], repeat: int, write) -> None:
    """For each size: seed, then `repeat` rounds of bare page / inbox / nav count, interleaved;
    one line each, with its ratio to this size's bare median."""
    clear()
    try:
        for size in sorted(sizes):
            pending = _measure_size(http, timed, line, size, repeat)
        plan = inbox_plan()
        if plan:
            _write_plan(plan, pending, write)
    finally:
        clear()


def _measure_size(http, timed, line, size: int, repeat: int) -> int:
    """Seed `size` pending tasks, then time the inbox and the nav count against the bare page;
    returns the pending tasks."""
    seed_pending(size)
    pending = Task.objects.filter(status="pending").count()
    cases = {f"waiting inbox, {pending:,} pending tasks": "/waiting/",
             f"waiting nav count, {pending:,} pending": "/waiting/count/"}
    for url in cases.values():
        timed(http, "GET", url)
    bare, results = [], {label: [] for label in cases}
    for _ in range(repeat):
        for label, url in cases.items():
            bare.append(timed(http, "GET", "/__bench__/bare/"))
            results[label].append(timed(http, "GET", url))
    floor = statistics.median(t[0] for t in bare)
    for label, samples in results.items():
        line(label, samples, floor)
    return pending


def _write_plan(plan: str, pending: int, write) -> None:
    """The inbox query's plan, saying whether it walks the index hr_task_inbox."""
    uses = "hr_task_inbox" in plan and "Sort" not in plan.split("\n")[0]
    write(f"inbox query plan at {pending:,} pending ({'walks the index hr_task_inbox' if uses else 'NO INDEX'}):")
    for node in plan.splitlines():
        write(f"    {node}")
