"""Retention: delete an automation's runs older than a cutoff, with everything hanging off them
(files, steps, scores, reviews, corrections, expected files, audit events, human review tasks;
promoted examples keep their data and lose only the link to the source run). Set-based: each
batch is a handful of statements whatever its size (one DELETE per table that points at runs,
deepest first, by the batch's ids), not Django's collector, which loaded every run and review
of the batch into Python. Every counter and rollup is lowered by exactly what was deleted, in
the same transaction; stored files are deleted after the transaction commits, so a rollback
never leaves rows pointing at missing files. Why not partitions by month: docs/scale.md."""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, models, transaction
from django.utils import timezone

from humanreview.calibration import task_marks_move, task_marks_states
from review.counters import run_review_states, run_review_states_move
from review.models import Claim, ExpectedFile, ReviewDayCount, ReviewerDayCount, ReviewTally
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


def delete_with_dependents(model, lookup: str, ids: list) -> None:
    """Delete the rows of `model` whose `lookup` is in `ids` after what points at them
    (dependents), one statement each (no row is loaded)."""
    for related, path, unlink in [*dependents(model, lookup), (model, lookup, None)]:
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
    stored = [f.file for f in RunFile.objects.filter(in_values("run_id", ids)).only("file")]
    stored += [f.file for f in ExpectedFile.objects.filter(in_values("review__run_id", ids)).only("file")]
    days, chips, strata, versions = _run_moves(automation, rows)
    reviews = run_review_states(ids)
    tasks = task_marks_states(ids)
    delete_with_dependents(Run, "pk", ids)
    Claim.objects.filter(in_values("run_id", ids)).delete()
    run_review_states_move(reviews)
    task_marks_move(tasks, Counter())
    day_counts_add(days)
    chip_counts_add(chips)
    stratum_counts_add(strata)
    version_counts_add(versions)
    _zero_rows_delete(automation)
    files_delete_on_commit(stored)
    return len(rows), len(stored)


def runs_prune(*, automation: Automation, before: datetime, batch: int = DEFAULT_BATCH,
               progress=None) -> PruneResult:
    """Delete the runs of `automation` created before `before`, `batch` runs per transaction,
    oldest first; `progress(result)` after each batch."""
    result = PruneResult()
    while True:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # A batch is consistent on its own (rows and counters in one transaction); after a
                # crash the last batches may come back whole and the next run deletes them again.
                # Not waiting for each commit's WAL flush halved a batch's time here.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
            runs, files = _prune_batch(automation, before, batch)
        if not runs:
            return result
        result.runs += runs
        result.files += files
        if progress is not None:
            progress(result)
