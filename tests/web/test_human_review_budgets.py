"""Pinned SQL budgets of human review tasks: the inbox page, a confirmation and an approval
(over the API, as the SDK sends them, and on the task page). A new query here must be a
decision, made here. Transaction control (BEGIN, SAVEPOINT) is not counted."""

from contextlib import contextmanager

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import ApiKey
from humanreview.models import Task
from humanreview.services import task_confirm_field
from tests.factories import make_automation, make_paused_run

pytestmark = pytest.mark.django_db

# session, the user with their roles, the page of tasks (automation and policy joined), the claims.
INBOX_QUERIES = 4
# The API: the key with its user, the user's roles; in one transaction the task locked (a
# statement of its own), the task with its automation, run and the key's idempotency record (one
# statement, after the lock), its decisions, the task updated, the decision written, the
# idempotency record stored.
API_CONFIRM_QUERIES = 8
# The page: session, user (instead of the key); then the service's six (locked; the task with
# its automation, review policy, run and idempotency record; its decisions; the task updated;
# the decision written; the idempotency record stored). The typed text is read as the type
# machineData has at the path from the task read under the lock, and the fields re-render from
# the service's answer: no read of the page's own (issue 19 asks at most 8).
PAGE_CONFIRM_QUERIES = 8
# The API: the key, the roles; locked, the task, its decisions, the task updated, the run
# resumed, the fields with a confidence counted for calibration (one upsert:
# humanreview.calibration), which webhook subscriptions want human_review.approved (none here).
API_APPROVE_QUERIES = 9
# The page: session, user, then the service's seven as over the API (issue 19 asks at most 15).
PAGE_APPROVE_QUERIES = 9


@pytest.mark.parametrize("tasks", [3, 30])
def test_the_inbox_has_a_fixed_budget(client, reviewer, django_assert_num_queries, tasks):
    automations = [make_automation(f"workflows.a{n}") for n in range(3)]
    for n in range(tasks):
        make_paused_run(automations[n % 3])
    client.force_login(reviewer)
    client.get("/waiting/")
    with django_assert_num_queries(INBOX_QUERIES):
        assert client.get("/waiting/").status_code == 200


@contextmanager
def statements(expected: int):
    """Exactly `expected` SQL statements, transaction control (SAVEPOINT, RELEASE) left out."""
    with CaptureQueriesContext(connection) as captured:
        yield
    sent = [q["sql"] for q in captured if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "BEGIN"))]
    assert len(sent) == expected, "\n".join(s[:160] for s in sent)


@pytest.fixture
def api(reviewer) -> Client:
    return Client(headers={"Authorization": f"Bearer {ApiKey.issue(user=reviewer, name='budget')[1]}"})


@pytest.fixture
def task(automation):
    return Task.objects.get(run=make_paused_run(automation))


def test_a_confirmation_over_the_api(api, task, django_assert_num_queries):
    api.get(f"/v1/human-reviews/{task.pk}")  # the key's last use is written at most once a minute
    with statements(API_CONFIRM_QUERIES):
        answer = api.put(f"/v1/human-reviews/{task.pk}/fields", {"expectedVersion": 1, "idempotencyKey": "k",
                                                                 "path": "/total", "value": 1},
                         content_type="application/json")
    assert answer.status_code == 200


def test_a_confirmation_on_the_page(client, reviewer, task, django_assert_num_queries):
    client.force_login(reviewer)
    client.get("/waiting/")
    with statements(PAGE_CONFIRM_QUERIES):
        answer = client.post(f"/waiting/{task.pk}/confirm/", {"path": "/total", "value": "1", "version": 1,
                                                             "key": "k"}, headers={"HX-Request": "true"})
    assert answer.status_code == 200 and answer["X-Loupe-Status"] == "200"
    assert "✓ confirmed" in answer.content.decode()
    task.refresh_from_db()
    assert (task.version, task.draft_data["total"]) == (2, 1)


def _confirm_required(task, reviewer) -> int:
    for version, path in enumerate(task.required_paths, start=1):
        task_confirm_field(task_id=task.pk, user=reviewer, path=path, value="x" if "iban" in path else 1,
                           expected_version=version, idempotency_key=path)
    return len(task.required_paths) + 1


def test_an_approval_on_the_page(client, reviewer, task):
    version = _confirm_required(task, reviewer)
    client.force_login(reviewer)
    client.get("/waiting/")
    with statements(PAGE_APPROVE_QUERIES):
        answer = client.post(f"/waiting/{task.pk}/approve/", {"version": version}, headers={"HX-Request": "true"})
    assert answer.status_code == 204 and answer["HX-Redirect"] == f"/waiting/?decided={task.pk}"
    task.refresh_from_db()
    assert task.status == "approved"


def test_an_approval_over_the_api(api, task, reviewer, django_assert_num_queries):
    assert _confirm_required(task, reviewer) == 3
    api.get(f"/v1/human-reviews/{task.pk}")
    with statements(API_APPROVE_QUERIES):
        answer = api.post(f"/v1/human-reviews/{task.pk}/approve", {"expectedVersion": 3},
                          content_type="application/json")
    assert answer.status_code == 200
