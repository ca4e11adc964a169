"""Reviewers deciding one task at the same instant, in parallel transactions on PostgreSQL
(humanreview/services.py locks the task row in a statement of its own and reads what it checks
after): no confirmation is lost, a task is decided once, a repeated idempotency key writes once."""

import pytest
from django.contrib.auth.models import User

from humanreview.models import Decision, IdempotencyRecord, Task
from humanreview.services import TaskError, task_approve, task_confirm_field, task_reject
from runs.models import Run
from tests.concurrency import PARALLEL_WRITERS, race
from tests.factories import make_automation, make_paused_run

pytestmark = PARALLEL_WRITERS
WRITERS = 6
PATHS = ["/vendor/name", "/vendor/iban", "/total", "/currency", "/lines/0/amount", "/lines/1/amount"]


@pytest.fixture
def task():
    return Task.objects.get(run=make_paused_run(make_automation(), requiredPaths=PATHS))


@pytest.fixture
def users():
    return [User.objects.create_user(f"r{i}") for i in range(WRITERS)]


def test_one_version_one_winner_the_others_see_the_conflict(task, users):
    outcomes = race(WRITERS, lambda i: task_confirm_field(task_id=task.pk, user=users[i], path=PATHS[i],
                                                          value=f"v{i}", expected_version=1, idempotency_key=f"k{i}"))
    won = [o for o in outcomes if o.ok]
    lost = [o for o in outcomes if not o.ok]
    assert len(won) == 1, [o.error for o in outcomes]
    assert all(isinstance(o.error, TaskError) and o.error.code == "version_conflict" for o in lost)
    assert all(o.error.task["version"] == 2 for o in lost)  # the winner's write, read after the lock
    fresh = Task.objects.get(pk=task.pk)
    assert fresh.version == 2 and Decision.objects.filter(task=task).count() == 1


def test_reviewers_retrying_on_conflict_lose_no_confirmation(task, users):
    def confirm_until_done(i):
        while True:
            version = Task.objects.get(pk=task.pk).version
            try:
                return task_confirm_field(task_id=task.pk, user=users[i], path=PATHS[i], value=f"v{i}",
                                          expected_version=version, idempotency_key=f"k{i}-{version}")
            except TaskError as exc:
                if exc.code != "version_conflict":
                    raise

    outcomes = race(WRITERS, confirm_until_done)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    fresh = Task.objects.get(pk=task.pk)
    assert fresh.version == 1 + WRITERS and fresh.confirmed_count == WRITERS
    assert {d.path: d.current_value for d in Decision.objects.filter(task=task)} == {
        p: f"v{i}" for i, p in enumerate(PATHS)}
    assert task_approve(task_id=task.pk, user=users[0], expected_version=fresh.version)["status"] == "approved"


def test_approve_and_reject_at_once_decide_the_task_once(task, users):
    for i, path in enumerate(PATHS):
        task_confirm_field(task_id=task.pk, user=users[0], path=path, value=i, expected_version=1 + i,
                           idempotency_key=path)
    version = 1 + len(PATHS)

    def decide(i):
        if i % 2:
            return task_reject(task_id=task.pk, user=users[i], expected_version=version, reason=f"no {i}",
                               idempotency_key=f"r{i}")
        return task_approve(task_id=task.pk, user=users[i], expected_version=version)

    outcomes = race(WRITERS, decide)
    won = [o for o in outcomes if o.ok]
    assert len(won) == 1, [o.error for o in outcomes]
    assert all(o.error.status == 409 for o in outcomes if not o.ok)
    fresh = Task.objects.get(pk=task.pk)
    run = Run.objects.get(pk=task.run_id)
    assert fresh.status == won[0].value["status"] and fresh.version == version + 1
    assert run.status == ("running" if fresh.status == "approved" else "failed")


def test_one_idempotency_key_sent_at_once_writes_once_and_answers_the_same(task, users):
    outcomes = race(WRITERS, lambda i: task_confirm_field(task_id=task.pk, user=users[0], path="/total", value=9,
                                                          expected_version=1, idempotency_key="same"))
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    assert all(o.value == outcomes[0].value for o in outcomes)  # jsonb may order the keys differently
    assert Task.objects.get(pk=task.pk).version == 2 and IdempotencyRecord.objects.filter(task=task).count() == 1
