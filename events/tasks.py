"""The queue wiring: Django's tasks framework (the `django-tasks` backport) with the database
backend of `django-tasks-db`; a worker is `manage.py db_worker` (docs/webhooks.md#the-worker).

`deliver` makes one attempt and enqueues the next one with `run_after`. The database rows of
events/models.py stay the truth: `sweep` (run when a worker starts and then every
LOUPE_WEBHOOKS_SWEEP_SECONDS) enqueues again any pending delivery whose task was lost — the
worker was killed mid-attempt, or the process died between commit and enqueue."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import TaskResultStatus, task

from events.delivery import deliveries_orphaned, delivery_attempt, delivery_interrupted
from events.models import Delivery

logger = logging.getLogger("loupe.webhooks")


@task()
def deliver(delivery_id: int) -> str:
    delivery = delivery_attempt(delivery_id)
    if delivery is not None:
        _enqueue_one(delivery.pk, delivery.next_attempt_at)
        return f"retry at {delivery.next_attempt_at.isoformat()}"
    return "done"


@task()
def sweep() -> int:
    """Enqueue lost deliveries again; keeps one sweep scheduled ahead."""
    _schedule_sweep()
    return deliveries_recover()


def _enqueue_one(delivery_id: int, when) -> None:
    now = timezone.now()
    run_after = when if when and when > now else None
    result = deliver.using(run_after=run_after).enqueue(delivery_id)
    Delivery.objects.filter(pk=delivery_id).update(task_id=str(result.id))


def deliveries_enqueue(ids: list[int]) -> None:
    """Wake a worker for each delivery (called when the emitting transaction commits). A failure
    here loses nothing: the rows are pending and the sweep finds them."""
    for delivery_id in ids:
        try:
            _enqueue_one(delivery_id, None)
        except Exception:  # noqa: BLE001 - the sweep recovers it; never fail the caller's request
            logger.exception("Could not enqueue webhook delivery %s; the sweep will.", delivery_id)


def _ready_ids(task_path: str) -> set[str]:
    from django_tasks_db.models import DBTaskResult

    return {str(i) for i in DBTaskResult.objects.filter(status=TaskResultStatus.READY, task_path=task_path)
            .values_list("id", flat=True)}


def deliveries_recover() -> int:
    """Enqueue every pending delivery that no task or lease covers; returns how many."""
    now = timezone.now()
    orphans = deliveries_orphaned(now, _ready_ids(deliver.module_path))
    for delivery in orphans:
        if delivery.leased_until is not None:
            delivery_interrupted(delivery.pk)
        _enqueue_one(delivery.pk, delivery.next_attempt_at)
    if orphans:
        logger.warning("Re-enqueued %d webhook deliveries whose task was lost.", len(orphans))
    return len(orphans)


def _schedule_sweep() -> None:
    if _ready_ids(sweep.module_path):
        return
    seconds = float(settings.LOUPE_WEBHOOKS_SWEEP_SECONDS)
    sweep.using(run_after=timezone.now() + timedelta(seconds=seconds)).enqueue()


def worker_started() -> int:
    """Called by `manage.py db_worker` before it starts: recover, and keep a sweep scheduled."""
    with transaction.atomic():
        _schedule_sweep()
    return deliveries_recover()
