"""The task page's confirmation (backends/local_tasks.LocalTasks.confirm: the typed text read
under the service's lock) raced by reviewers in parallel transactions on PostgreSQL: one wins
each version, the others get a TaskConflict carrying the task as the winner left it, and none of
the retried confirmations is lost."""

import pytest
from django.contrib.auth.models import User

from backends.local_tasks import LocalTasks
from backends.tasks import TaskConflict
from humanreview.models import Decision, Task
from tests.concurrency import PARALLEL_WRITERS, race
from tests.factories import make_automation, make_paused_run

pytestmark = PARALLEL_WRITERS
PATHS = ["/vendor/name", "/vendor/iban", "/total", "/currency"]


@pytest.fixture
def task():
    return Task.objects.get(run=make_paused_run(make_automation(), requiredPaths=PATHS))


@pytest.fixture
def users():
    return [User.objects.create_user(f"p{i}") for i in range(len(PATHS))]


def test_one_winner_per_version_the_losers_see_the_winners_task(task, users):
    source = LocalTasks()
    outcomes = race(len(PATHS), lambda i: source.confirm(str(task.pk), user=users[i], path=PATHS[i],
                                                         typed="7" if PATHS[i] == "/total" else f"v{i}", version=1,
                                                         key=f"k{i}"))
    won = [o for o in outcomes if o.ok]
    lost = [o.error for o in outcomes if not o.ok]
    assert len(won) == 1 and all(isinstance(e, TaskConflict) and not e.decided for e in lost), lost
    winner = won[0].value
    assert all(e.current.version == 2 and [d.path for d in e.current.decisions] == [winner.decisions[0].path]
               for e in lost)


def test_reviewers_retrying_on_conflict_lose_no_confirmation(task, users):
    source = LocalTasks()

    def until_done(i):
        version = 1
        while True:
            try:
                return source.confirm(str(task.pk), user=users[i], path=PATHS[i],
                                      typed="7" if PATHS[i] == "/total" else f"v{i}", version=version,
                                      key=f"k{i}-{version}")
            except TaskConflict as exc:
                version = exc.current.version

    outcomes = race(len(PATHS), until_done)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    fresh = Task.objects.get(pk=task.pk)
    assert (fresh.version, fresh.confirmed_count) == (1 + len(PATHS), len(PATHS))
    values = {d.path: d.current_value for d in Decision.objects.filter(task=task)}
    assert values == {p: 7 if p == "/total" else f"v{i}" for i, p in enumerate(PATHS)}  # "7" read as a number
