"""Competing workers and competing platform retries in real parallel transactions
(tests/concurrency.py): a delivery is sent once per due attempt, an inbound message handled once."""

import json
import secrets
from datetime import UTC, datetime

import pytest
from django.test import Client
from standardwebhooks.webhooks import Webhook

from events.delivery import delivery_attempt
from events.models import Delivery, DeliveryStatus, InboundMessage, Subscription
from events.outbox import event_emit
from events.types import REVIEW_CLOSED
from tests.concurrency import race
from tests.events.receiver import Receiver

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only(db):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (the SQLite test database is one locked in-memory file)")


def test_workers_racing_for_one_delivery_send_it_once():
    receiver = Receiver().start()
    try:
        sub = Subscription.objects.create(url=receiver.url)
        receiver.secret = sub.secret
        event_emit(type=REVIEW_CLOSED, automation_id=None, data={"reviewId": 1})
        delivery = Delivery.objects.get()
        outcomes = race(6, lambda i: delivery_attempt(delivery.pk))
        assert all(o.ok for o in outcomes), [o.error for o in outcomes]
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 1
        assert len(receiver.received) == 1 and delivery.attempt_log.count() == 1
    finally:
        receiver.stop()


def test_a_platform_message_delivered_many_times_at_once_is_handled_once(settings):
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    settings.LOUPE_INBOUND_WEBHOOK_SECRET = secret
    body = json.dumps({"type": "run.created", "data": {"run": {"id": "run_1"}}})
    msg_id, now = f"msg_{secrets.token_hex(4)}", datetime.now(tz=UTC)
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": Webhook(secret).sign(msg_id, now, body)}

    def post(i):
        return Client().post("/api/v1/webhooks/eigenpal", body, content_type="application/json", headers=headers)

    outcomes = race(6, post)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    answers = [o.value.json() for o in outcomes]
    assert all(o.value.status_code == 200 for o in outcomes)
    assert sorted(a["duplicate"] for a in answers) == [False] + [True] * 5
    assert InboundMessage.objects.filter(pk=msg_id).count() == 1
