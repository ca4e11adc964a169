"""The decision webhooks: approving or rejecting a task stores a human_review.* message in the
decision's transaction, and the delivery reaches a real receiver on loopback, signed (Standard
Webhooks, checked by the receiver with the `standardwebhooks` package), after failed attempts."""

import json

import pytest

from events.models import Delivery, DeliveryStatus, Message, Subscription
from humanreview.models import Task
from humanreview.services import TaskError, task_approve, task_confirm_field, task_reject
from tests.events.receiver import Receiver, run_until_done
from tests.factories import make_paused_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    started = Receiver().start()
    yield started
    started.stop()


def _confirmed_task(automation, reviewer) -> Task:
    task = Task.objects.get(run=make_paused_run(automation, requiredPaths=["/total"]))
    task_confirm_field(task_id=task.pk, user=reviewer, path="/total", value=1243.5, expected_version=1,
                       idempotency_key="k")
    return task


def test_approve_sends_the_task_its_draft_and_decisions_signed_after_failures(automation, reviewer, receiver,
                                                                            settings):
    settings.LOUPE_WEBHOOKS_BACKOFF_BASE_SECONDS = 0.05
    subscription = Subscription.objects.create(url=receiver.url, automation_id=automation.ref,
                                               event_types=["human_review.approved", "human_review.rejected"])
    receiver.secret, receiver.statuses = subscription.secret, [500, 502]
    task = _confirmed_task(automation, reviewer)
    task_approve(task_id=task.pk, user=reviewer, expected_version=2)
    delivery = run_until_done(Delivery.objects.get())
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 3
    assert all(r.verified for r in receiver.received) and len({r.headers["webhook-id"] for r in receiver.received}) == 1
    body = json.loads(receiver.received[-1].body)
    assert body["type"] == "human_review.approved"
    data = body["data"]
    assert data["id"] == str(task.pk) and data["runId"] == task.run_id and data["status"] == "approved"
    assert data["draftData"]["total"] == 1243.5 and data["decisions"][0]["path"] == "/total"
    assert "input" not in data  # the run's input is fetched with a key, never pushed


def test_reject_sends_the_reason_and_a_refused_decision_sends_nothing(automation, reviewer, receiver):
    Subscription.objects.create(url=receiver.url, event_types=["human_review.rejected"])
    task = _confirmed_task(automation, reviewer)
    with pytest.raises(TaskError):
        task_reject(task_id=task.pk, user=reviewer, expected_version=1, reason="stale", idempotency_key="r0")
    assert not Message.objects.exists()  # the 409 rolled back: no event
    task_reject(task_id=task.pk, user=reviewer, expected_version=2, reason="Not our vendor", idempotency_key="r")
    message = Message.objects.get()
    assert message.type == "human_review.rejected" and message.payload["data"]["outcomeReason"] == "Not our vendor"
    assert message.automation_id == automation.ref


def test_a_run_holding_a_key_that_never_leaves_loupe_still_sends_the_decision(automation, reviewer):
    Subscription.objects.create(url="http://127.0.0.1:9/hook", event_types=["human_review.approved"])
    task = Task.objects.get(run=make_paused_run(automation, machineData={"password": "hunter2", "total": 1},
                                                fieldMetadata={}, requiredPaths=[]))
    task_approve(task_id=task.pk, user=reviewer, expected_version=1)
    data = Message.objects.get().payload["data"]
    assert data["status"] == "approved" and "draftData" not in data and "password" in data["omitted"]


def test_due_soon_is_announced_once_and_overdue_tasks_stay_pending(automation, ops, reviewer):
    from datetime import timedelta

    from django.core.management import call_command

    from humanreview.services import policy_set, tasks_due_soon_announce

    Subscription.objects.create(url="http://127.0.0.1:9/hook", event_types=["human_review.due_soon"])
    policy_set(automation=automation, user=ops, deadline_minutes=120, warning_minutes=30)
    task = Task.objects.get(run=make_paused_run(automation))
    opened = task.created_at
    assert tasks_due_soon_announce(now=opened + timedelta(minutes=80)) == []  # 40 min left > 30
    assert tasks_due_soon_announce(now=opened + timedelta(minutes=95)) == [task.pk]
    assert tasks_due_soon_announce(now=opened + timedelta(minutes=96)) == []  # once
    call_command("human_review_deadlines")
    message = Message.objects.get()
    assert message.type == "human_review.due_soon" and message.payload["data"]["id"] == str(task.pk)
    assert Task.objects.get(pk=task.pk).status == "pending"  # the clock never decides
