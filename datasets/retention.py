"""Retention: delete an automation's runs older than a cutoff, with everything hanging off them
(files, steps, scores, reviews, corrections, expected files, audit events, human review tasks;
promoted examples keep their data and lose only the link to the source run). Set-based: each
batch is a handful of statements whatever its size (one DELETE per table that points at runs,
deepest first, by the batch's ids), not Django's collector, which loaded every run and review
of the batch into Python. Every counter and rollup is lowered by exactly what was deleted, in
the same transaction; stored files are deleted after the transaction commits, so a rollback
never leaves rows pointing at missing files. On PostgreSQL, whole months of runs go at once by
dropping their partition (runs_prune_months, runs.partitions; docs/scale.md#monthly-partitions)."""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, models, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone

from humanreview.calibration import task_marks_move, task_marks_states
from review.counters import run_review_states, run_review_states_move
from review.models import Claim, ExpectedFile, ReviewDayCount, ReviewerDayCount, ReviewTally
from runs import partitions
from runs.counters import chip_counts_add, day_counts_add, run_leave, stratum_counts_add, version_counts_add
from runs.files import files_delete_on_commit
from runs.models import Automation, ChipCount, Run, RunDayCount, RunFile, StratumDayCount, VersionHourCount
from runs.sql import in_values

DEFAULT_BATCH = 10_000


@dataclass
class PruneResult:
    runs: int = 0
    files: int = 0


def dependents(model, lookup: str):
    """What points at `model` rows found by `lookup`, deepest first, as (model, lookup from it,
    unlink): CASCADE relations to delete, SET_NULL ones to unlink (unlink = the field to set
    null). Any other on_delete stops the walk before anything is deleted."""
    for rel in model._meta.related_objects:
        if rel.many_to_many or rel.on_delete is models.DO_NOTHING:
            continue
        path = f"{rel.field.name}__{lookup}"
        if rel.on_delete not in (models.CASCADE, models.SET_NULL):
            raise RuntimeError(f"{rel.related_model.__name__}.{rel.field.name}: retention does not handle "
                               f"on_delete={rel.on_delete.__name__}.")
        if rel.on_delete is models.SET_NULL:
            yield rel.related_model, path, rel.field.name
        else:
            yield from dependents(rel.related_model, path)
            yield rel.related_model, path, None


def delete_with_dependents(model, lookup: str, ids, *, itself: bool = True) -> None:
    """Delete the rows of `model` whose `lookup` is in `ids` (a list or a subquery) after what
    points at them (dependents), one statement each (no row is loaded); `itself=False` leaves
    the rows of `model` (a month of runs whose partition is dropped after)."""
    for related, path, unlink in [*dependents(model, lookup), *([(model, lookup, None)] if itself else [])]:
        rows = related._base_manager.filter(in_values(path, ids))
        if unlink:
            rows.update(**{unlink: None})
        else:
            rows._raw_delete(rows.db)


def _run_moves(automation: Automation, rows: list[tuple]) -> tuple[Counter, Counter, Counter, Counter]:
    """(day, chip, per-stratum, per-version) counter moves that remove these runs."""
    days, chips, strata, versions = Counter(), Counter(), Counter(), Counter()
    zone = timezone.get_current_timezone()
    for _, *stored in rows:
        run_leave((automation.pk, *stored), zone, days, chips, strata, versions)
    return days, chips, strata, versions


def _zero_rows_delete(automation: Automation) -> None:
    for model in (ReviewTally, ReviewerDayCount, ReviewDayCount, RunDayCount, ChipCount, StratumDayCount,
                  VersionHourCount):
        model.objects.filter(automation=automation, count=0).delete()


def _prune_batch(automation: Automation, before: datetime, batch: int) -> tuple[int, int]:
    """One transaction: lock the oldest `batch` runs, move every counter, delete. (runs, files)."""
    rows = list(Run.objects.filter(automation=automation, created_at__lt=before)
                .order_by("created_at", "id").select_for_update()
                .values_list("pk", "created_at", "sampled", "chip", "version", "stratum", "inclusion_bp")[:batch])
    if not rows:
        return 0, 0
    ids = [pk for pk, *_ in rows]
    files = _runs_remove(ids, _run_moves(automation, rows), [automation.pk],
                         remove=lambda: delete_with_dependents(Run, "pk", ids))
    return len(rows), files


def _runs_remove(ids, moves: tuple[Counter, ...], automation_ids, *, remove, created: tuple | None = None) -> int:
    """Inside the caller's transaction: read what the review rollups hold for these runs (`ids`,
    a list or a subquery), `remove()` them with their dependents and claims, then take them off
    every counter and rollup (`moves`: their day, chip, per-stratum and per-version moves);
    their stored files are deleted once the transaction commits. The files. `created`: the span
    all these runs were created in, when known (a month: its partition alone is read)."""
    stored = [f.file for f in RunFile.objects.filter(in_values("run_id", ids)).only("file")]
    stored += [f.file for f in ExpectedFile.objects.filter(in_values("review__run_id", ids)).only("file")]
    reviews = run_review_states(ids, created)
    tasks = task_marks_states(ids, created)
    remove()
    Claim.objects.filter(in_values("run_id", ids))._raw_delete(Claim.objects.db)
    run_review_states_move(reviews)
    task_marks_move(tasks, Counter())
    days, chips, strata, versions = moves
    day_counts_add(days)
    chip_counts_add(chips)
    stratum_counts_add(strata)
    version_counts_add(versions)
    for automation in Automation.objects.filter(pk__in=automation_ids):
        _zero_rows_delete(automation)
    files_delete_on_commit(stored)
    return len(stored)


# The cells a month of runs is counted in, one row per (automation, UTC hour, local day, sampled,
# chip, version, stratum, inclusion) with a creation time inside it and the number of runs:
# what runs.counters.run_leave needs, from one grouped scan of the partition.
_MONTH_CELLS = """SELECT automation_id, min(created_at), sampled, chip, version, stratum, inclusion_bp, count(*)
    FROM {table} GROUP BY automation_id, date_trunc('hour', created_at AT TIME ZONE 'UTC'),
    (created_at AT TIME ZONE %s)::date, sampled, chip, version, stratum, inclusion_bp"""
_GONE = "loupe_gone_runs"


def runs_prune_months(*, automations: list[Automation], before: datetime, progress=None) -> PruneResult:
    """With the run table in monthly partitions (PostgreSQL, runs.partitions): drop each whole
    month that ended before `before` and holds runs of these automations only, one transaction
    a month: its run ids into a temporary table, its counter moves from one grouped scan, what
    hangs off its runs deleted by those ids, the partition detached and dropped. Seconds for
    millions of runs, and no dead rows left in the run table. What remains older than `before`
    (the month `before` falls in, months shared with other automations, the default partition)
    is runs_prune's. `progress(result, month, runs)` after each month."""
    result = PruneResult()
    ids = [a.pk for a in automations]
    for month in partitions.months():
        if month.end > before:
            break
        if partitions.month_has_others(month, ids):
            continue
        with transaction.atomic():
            runs, files = _prune_month(month)
        result.runs += runs
        result.files += files
        if progress is not None:
            progress(result, month, runs)
    return result


def _prune_month(month) -> tuple[int, int]:
    _commit_without_flush()
    with connection.cursor() as cursor:
        # Writers of the month's runs (a review save locks its run, as runs_prune's batches lock
        # theirs) wait until the month is gone, and then find no run; pages still read it. Without
        # this, a review saved meanwhile would outlive its run.
        cursor.execute(f"LOCK TABLE {month.table} IN EXCLUSIVE MODE")
        cursor.execute(f"CREATE TEMPORARY TABLE {_GONE} ON COMMIT DROP AS SELECT id FROM {month.table}")
        runs = cursor.rowcount
        cursor.execute(f"ANALYZE {_GONE}")
        cursor.execute(_MONTH_CELLS.format(table=month.table), [timezone.get_current_timezone_name()])
        cells = cursor.fetchall()
    moves = Counter(), Counter(), Counter(), Counter()
    zone = timezone.get_current_timezone()
    for *stored, n in cells:
        run_leave(tuple(stored), zone, *moves, n=n)
    gone = RawSQL(f"SELECT id FROM {_GONE}", ())
    files = _runs_remove(gone, moves, {stored[0] for stored in cells}, created=(month.start, month.end),
                         remove=lambda: delete_with_dependents(Run, "pk", gone, itself=False))
    # Last before the commit: detaching takes the run table's exclusive lock, which pages wait for.
    partitions.month_drop(month)
    return runs, files


def _commit_without_flush() -> None:
    """This transaction's commit does not wait for its WAL flush (PostgreSQL). A batch or a month
    is consistent on its own (rows and counters in one transaction); after a crash the last ones
    may come back whole and the next run deletes them again. It halved a batch's time here."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def runs_prune(*, automation: Automation, before: datetime, batch: int = DEFAULT_BATCH,
               progress=None) -> PruneResult:
    """Delete the runs of `automation` created before `before`, `batch` runs per transaction,
    oldest first; `progress(result)` after each batch."""
    result = PruneResult()
    while True:
        with transaction.atomic():
            _commit_without_flush()
            runs, files = _prune_batch(automation, before, batch)
        if not runs:
            return result
        result.runs += runs
        result.files += files
        if progress is not None:
            progress(result)
