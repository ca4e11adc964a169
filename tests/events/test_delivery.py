"""One attempt after another against a real receiver on loopback: retries with backoff, dead
after the window, pausing, the bounds of an attempt and the address rules."""

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from events.delivery import backoff_seconds, delivery_attempt
from events.models import Delivery, DeliveryStatus, Subscription
from events.outbox import event_emit
from events.tasks import deliver, deliveries_recover
from events.types import REVIEW_CREATED
from tests.events.receiver import run_until_done

pytestmark = pytest.mark.django_db


def _subscribed(receiver, **kwargs) -> Subscription:
    sub = Subscription.objects.create(url=receiver.url, **kwargs)
    receiver.secret = sub.secret
    return sub


def _emit(n: int = 1) -> None:
    event_emit(type=REVIEW_CREATED, automation_id="workflows.invoices", data={"reviewId": n})


def test_failed_attempts_are_retried_with_backoff_and_logged(receiver):
    _subscribed(receiver)
    receiver.statuses = [500, 503]
    _emit()
    delivery = run_until_done(Delivery.objects.get())
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 3
    log = list(delivery.attempt_log.order_by("number"))
    assert [(a.number, a.status_code, a.succeeded) for a in log] == [(1, 500, False), (2, 503, False), (3, 200, True)]
    assert log[0].error == "HTTP 500" and log[0].response_excerpt == "not now"
    # the same message, the same id, a valid signature every time
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    assert all(r.verified for r in receiver.received)
    # the waits grow: base, then 2 × base
    assert (log[1].started_at - log[0].started_at).total_seconds() >= backoff_seconds(1)
    assert (log[2].started_at - log[1].started_at).total_seconds() >= backoff_seconds(2) == 2 * backoff_seconds(1)


def test_backoff_doubles_and_is_capped(settings):
    settings.LOUPE_WEBHOOKS_BACKOFF_BASE_SECONDS = 30
    settings.LOUPE_WEBHOOKS_BACKOFF_MAX_SECONDS = 4 * 3600
    assert [backoff_seconds(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff_seconds(20) == 4 * 3600
    # the defaults keep retrying for the whole day: attempts needed to pass 24 h
    total, n = 0.0, 0
    while total < 24 * 3600:
        n += 1
        total += backoff_seconds(n)
    assert 10 <= n <= 20


def test_the_task_enqueues_the_retry_with_run_after(receiver, settings):
    settings.LOUPE_WEBHOOKS_BACKOFF_BASE_SECONDS = settings.LOUPE_WEBHOOKS_BACKOFF_MAX_SECONDS = 30  # due later
    _subscribed(receiver)
    receiver.statuses = [500]
    _emit()
    delivery = Delivery.objects.get()
    deliver.call(delivery.pk)
    delivery.refresh_from_db()
    task = DBTaskResult.objects.get(pk=delivery.task_id)
    assert task.status == "READY" and task.args_kwargs["args"] == [delivery.pk]
    assert abs((task.run_after - delivery.next_attempt_at).total_seconds()) < 0.01
    assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=25)


def test_a_delivery_is_dead_after_the_retry_window_and_enough_dead_messages_pause_the_subscription(receiver, settings):
    settings.LOUPE_WEBHOOKS_RETRY_WINDOW_SECONDS = 0
    settings.LOUPE_WEBHOOKS_PAUSE_AFTER_DEAD = 2
    sub = _subscribed(receiver)
    receiver.statuses = [500] * 10
    _emit(1)
    first = run_until_done(Delivery.objects.get())
    assert first.status == DeliveryStatus.DEAD and first.attempts == 1
    sub.refresh_from_db()
    assert sub.active and sub.consecutive_dead == 1
    _emit(2)
    run_until_done(Delivery.objects.exclude(pk=first.pk).get())
    sub.refresh_from_db()
    assert not sub.active
    assert "last 2 messages all failed" in sub.paused_reason and "HTTP 500" in sub.paused_reason
    # a paused subscription gets no new messages
    assert event_emit(type=REVIEW_CREATED, automation_id=None, data={}) is None


def test_a_success_resets_the_dead_count(receiver, settings):
    settings.LOUPE_WEBHOOKS_RETRY_WINDOW_SECONDS = 0
    sub = _subscribed(receiver)
    receiver.statuses = [500]
    _emit(1)
    run_until_done(Delivery.objects.get())
    sub.refresh_from_db()
    assert sub.consecutive_dead == 1
    _emit(2)
    run_until_done(Delivery.objects.filter(status=DeliveryStatus.PENDING).get())
    sub.refresh_from_db()
    assert sub.consecutive_dead == 0 and sub.active


def test_a_redirect_is_not_followed(receiver):
    _subscribed(receiver)
    receiver.statuses = [302]
    _emit()
    delivery_attempt(Delivery.objects.get().pk)
    attempt = Delivery.objects.get().attempt_log.get()
    assert attempt.status_code == 302 and "not followed" in attempt.error
    assert len(receiver.received) == 1


def test_an_attempt_is_bounded_in_time(receiver, settings):
    import threading

    settings.LOUPE_WEBHOOKS_TIMEOUT_SECONDS = 0.5
    receiver.hold = threading.Event()  # the receiver never answers in time
    _subscribed(receiver)
    _emit()
    started = time.monotonic()
    delivery_attempt(Delivery.objects.get().pk)
    assert time.monotonic() - started < 3
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and "Timed out" in delivery.last_error
    receiver.hold.set()


def test_private_and_loopback_addresses_are_refused_unless_allowed(receiver, settings):
    settings.LOUPE_WEBHOOKS_ALLOW_PRIVATE = False
    settings.DEBUG = False
    _subscribed(receiver)
    _emit()
    delivery_attempt(Delivery.objects.get().pk)
    delivery = Delivery.objects.get()
    assert receiver.received == []
    assert "https" in delivery.last_error  # http:// refused first
    Subscription.objects.update(url=receiver.url.replace("http://", "https://"))
    Delivery.objects.update(next_attempt_at=timezone.now())
    delivery_attempt(delivery.pk)
    delivery.refresh_from_db()
    assert "loopback" in delivery.last_error and receiver.received == []


def test_the_body_is_the_messages_payload_exactly(receiver):
    _subscribed(receiver)
    _emit(5)
    delivery_attempt(Delivery.objects.get().pk)
    [got] = receiver.received
    body = json.loads(got.body)
    assert body["type"] == REVIEW_CREATED and body["data"] == {"reviewId": 5}
    assert got.headers["user-agent"].startswith("Loupe-Webhooks")


def test_a_delivery_whose_worker_died_is_recovered_once_its_lease_ran_out(receiver):
    _subscribed(receiver)
    _emit()
    delivery = Delivery.objects.get()
    # a worker claimed it (lease), then died: its task is gone, the lease still holds
    Delivery.objects.filter(pk=delivery.pk).update(leased_until=timezone.now() + timedelta(seconds=30),
                                                   task_id="gone", attempts=1)
    assert deliveries_recover() == 0
    Delivery.objects.filter(pk=delivery.pk).update(leased_until=timezone.now() - timedelta(seconds=1))
    assert deliveries_recover() == 1
    delivery.refresh_from_db()
    assert DBTaskResult.objects.get(pk=delivery.task_id).status == "READY"
    assert deliveries_recover() == 0  # its task is now waiting: not enqueued twice


def test_a_paused_subscription_is_not_sent_to(receiver):
    sub = _subscribed(receiver)
    _emit()
    Subscription.objects.filter(pk=sub.pk).update(active=False, paused_reason="by ops")
    assert delivery_attempt(Delivery.objects.get().pk) is None
    assert receiver.received == [] and Delivery.objects.get().status == DeliveryStatus.PENDING


def test_the_sweep_prunes_finished_deliveries_after_the_keep_days(receiver, settings):
    from events.models import Message
    from events.tasks import prune

    settings.LOUPE_WEBHOOKS_KEEP_DAYS = 30
    _subscribed(receiver)
    _emit(1)
    _emit(2)
    done, waiting = Delivery.objects.order_by("pk")
    delivery_attempt(done.pk)
    Delivery.objects.filter(pk=done.pk).update(finished_at=timezone.now() - timedelta(days=31))
    Message.objects.update(created_at=timezone.now() - timedelta(days=31))
    prune()
    assert list(Delivery.objects.values_list("pk", flat=True)) == [waiting.pk]  # pending: kept
    assert Message.objects.count() == 1
