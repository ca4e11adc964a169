"""The calibration marks of human review tasks (docs/calibration.md): when a task is approved,
each field of its fieldMetadata with a confidence counts once as decided (`taskrev`) and, when
the approved data differs from what the automation produced at that pointer, once as edited
(`taskchg`), in review.models.ReviewTally by the run's day, keyed like the reviews' marks
(review.calibration), always with sampled false: tasks count whatever their run's sampling, so
re-sampling runs leaves these rows alone. Only approved tasks count: a rejected run's fields were not
judged one by one. Kept by task_approve, lowered when runs are pruned, rebuilt by `recount`."""

from collections import Counter

from django.db import transaction
from django.utils import timezone

from humanreview.models import Task, TaskStatus
from review.calibration import calibration_marks
from review.models import ReviewTally
from runs.counters import counts_upsert
from runs.pausing import resolve_pointer
from runs.sql import created_within, in_values

Kind = ReviewTally.Kind
_KEY = ("automation", "day", "sampled", "kind", "path")
_LIMIT = ReviewTally._meta.get_field("path").max_length
_MISSING = object()
_STATE = ("run__automation_id", "run__created_at", "field_metadata", "machine_data", "draft_data")


def _confidences(field_metadata) -> dict:
    return {pointer: meta.get("confidence") for pointer, meta in (field_metadata or {}).items()
            if isinstance(meta, dict) and meta.get("confidence") is not None}


def task_marks(*, automation_id: int, created_at, field_metadata, machine_data, draft_data) -> Counter:
    confidence = _confidences(field_metadata)
    changed = {p for p in confidence
               if resolve_pointer(draft_data, p, _MISSING) != resolve_pointer(machine_data, p, _MISSING)}
    marks: Counter = Counter()
    calibration_marks(marks, (automation_id, timezone.localdate(created_at), False), confidence, changed,
                      reviewed=Kind.TASK_REVIEWED, corrected=Kind.TASK_CHANGED, limit=_LIMIT)
    return marks


def task_approved_count(task: Task, run) -> None:
    """Count an approved task's fields (inside task_approve's transaction)."""
    counts_upsert(ReviewTally, _KEY, task_marks(
        automation_id=run.automation_id, created_at=run.created_at, field_metadata=task.field_metadata,
        machine_data=task.machine_data, draft_data=task.draft_data))


def _marks(tasks) -> Counter:
    total: Counter = Counter()
    for a, created, metadata, machine, draft in tasks.values_list(*_STATE).iterator(2000):
        total.update(task_marks(automation_id=a, created_at=created, field_metadata=metadata,
                                machine_data=machine, draft_data=draft))
    return total


def task_marks_states(run_ids, created: tuple | None = None) -> Counter:
    """The marks the approved tasks of these runs hold (one query); `created` as in
    runs.sql.created_within."""
    return _marks(Task.objects.filter(in_values("run_id", run_ids), created_within(created),
                                      status=TaskStatus.APPROVED))


def task_marks_move(before: Counter, after: Counter) -> None:
    moves = Counter(after)
    moves.subtract(before)
    counts_upsert(ReviewTally, _KEY, moves)


def task_marks_recount(*, automation) -> None:
    """Rebuild one automation's task marks from its approved tasks (`recount`)."""
    total = _marks(Task.objects.filter(run__automation=automation, status=TaskStatus.APPROVED))
    with transaction.atomic():
        ReviewTally.objects.filter(automation=automation, kind__in=(Kind.TASK_REVIEWED, Kind.TASK_CHANGED)).delete()
        ReviewTally.objects.bulk_create(
            [ReviewTally(automation_id=a, day=day, sampled=sampled, kind=kind, path=path, count=n)
             for (a, day, sampled, kind, path), n in total.items() if n], batch_size=2000)
