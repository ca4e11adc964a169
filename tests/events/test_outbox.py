import json

import pytest
from django.db import transaction

from events.delivery import delivery_attempt
from events.models import Delivery, DeliveryStatus, Message, Subscription
from events.outbox import UnsafePayload, event_emit
from events.types import REVIEW_CREATED, SAMPLING_RATE_CHANGED

pytestmark = pytest.mark.django_db


def _sub(url="http://127.0.0.1:9/hook", **kwargs) -> Subscription:
    return Subscription.objects.create(url=url, **kwargs)


def test_emit_writes_one_delivery_per_matching_active_subscription():
    every = _sub()
    mine = _sub(automation_id="workflows.invoices", event_types=[REVIEW_CREATED])
    _sub(automation_id="workflows.other")
    _sub(event_types=[SAMPLING_RATE_CHANGED])
    _sub(active=False)
    message = event_emit(type=REVIEW_CREATED, automation_id="workflows.invoices", data={"reviewId": 7})
    assert message.id.startswith("msg_")
    assert message.payload["type"] == REVIEW_CREATED and message.payload["data"] == {"reviewId": 7}
    assert message.payload["timestamp"].endswith("Z")
    assert {d.subscription_id for d in Delivery.objects.filter(message=message)} == {every.pk, mine.pk}
    assert all(d.status == DeliveryStatus.PENDING for d in Delivery.objects.all())


def test_emit_without_a_matching_subscription_writes_nothing():
    _sub(automation_id="workflows.other")
    assert event_emit(type=REVIEW_CREATED, automation_id="workflows.invoices", data={}) is None
    assert Message.objects.count() == 0


def test_emit_is_part_of_the_callers_transaction():
    _sub()
    with pytest.raises(RuntimeError), transaction.atomic():
        event_emit(type=REVIEW_CREATED, automation_id=None, data={"reviewId": 1})
        raise RuntimeError("the decision failed")
    assert Message.objects.count() == 0 and Delivery.objects.count() == 0


def test_emit_enqueues_the_send_only_when_the_transaction_commits(django_capture_on_commit_callbacks):
    from django_tasks_db.models import DBTaskResult

    _sub()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        event_emit(type=REVIEW_CREATED, automation_id=None, data={})
    assert DBTaskResult.objects.count() == 0
    for callback in callbacks:
        callback()
    task = DBTaskResult.objects.get()
    assert task.task_path == "events.tasks.deliver"
    assert Delivery.objects.get().task_id == str(task.id)


@pytest.mark.parametrize("data", [
    {"secret": "x"}, {"nested": [{"sessionid": "abc"}]}, {"note": "whsec_abcdef"},
    {"file": "https://bucket.s3.example.com/a.pdf?X-Amz-Signature=abc&X-Amz-Credential=k"},
])
def test_emit_refuses_secrets_sessions_and_keyless_file_urls(data):
    _sub()
    with pytest.raises(UnsafePayload):
        event_emit(type=REVIEW_CREATED, automation_id=None, data=data)


def test_emit_refuses_an_unknown_type():
    with pytest.raises(ValueError):
        event_emit(type="review.exploded", automation_id=None, data={})


def test_a_delivery_is_signed_and_marked_succeeded(receiver):
    sub = _sub(url=receiver.url)
    receiver.secret = sub.secret
    message = event_emit(type=REVIEW_CREATED, automation_id=None, data={"reviewId": 3})
    delivery = Delivery.objects.get()
    assert delivery_attempt(delivery.pk) is None
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 1
    [got] = receiver.received
    assert got.verified, got.error
    assert got.headers["webhook-id"] == message.id
    assert json.loads(got.body) == message.payload
    assert delivery.attempt_log.get().status_code == 200
