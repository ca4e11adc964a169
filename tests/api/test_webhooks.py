"""Webhook subscriptions by API (ops only), their delivery log and "send again"; and the
inbound platform webhook (signed messages, replays, forgeries)."""

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from events.delivery import delivery_attempt
from events.models import Delivery, InboundMessage, Subscription
from events.outbox import event_emit
from events.types import REVIEW_CLOSED
from tests.events.receiver import Receiver

URL = "/api/v1/webhooks/subscriptions"


def _field(response) -> str:
    return response.json()["issues"][0]["field"]


@pytest.fixture
def receiver():
    started = Receiver().start()
    yield started
    started.stop()


def test_only_ops_manage_subscriptions(api, ops_api):
    assert api.get(URL).status_code == 403
    assert api.post(URL, {"url": "https://x.example"}, content_type="application/json").status_code == 403
    assert ops_api.get(URL).json() == {"data": [], "total": 0, "limit": 50, "offset": 0}


def test_create_shows_the_secret_once(ops_api, receiver, automation):
    response = ops_api.post(URL, {"url": receiver.url, "eventTypes": [REVIEW_CLOSED], "automationId": automation.ref,
                                  "description": "bridge"}, content_type="application/json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["secret"].startswith("whsec_") and created["automationId"] == automation.ref
    assert created["eventTypes"] == [REVIEW_CLOSED] and created["active"] is True
    again = ops_api.get(f"{URL}/{created['id']}").json()
    assert "secret" not in again and again["secretHint"] == created["secret"][:10] + "…"
    assert "secret" not in ops_api.get(URL).json()["data"][0]


@pytest.mark.parametrize(("body", "field"), [
    ({"url": "https://hooks.example.com/x", "eventTypes": ["review.exploded"]}, "eventTypes"),
    ({"url": "https://hooks.example.com/x", "eventTypes": "review.closed"}, "eventTypes"),
    ({"url": "ftp://hooks.example.com/x"}, "url"),
    ({}, "url"),
    ({"url": "https://hooks.example.com/x", "automationId": "workflows.nope"}, "automationId"),
    ({"url": "https://hooks.example.com/x", "secret": "mine"}, "secret"),
])
def test_bad_input_is_a_400_naming_the_field(ops_api, body, field):
    response = ops_api.post(URL, body, content_type="application/json")
    assert response.status_code == 400 and _field(response) == field, response.content
    assert Subscription.objects.count() == 0


def test_production_mode_refuses_http_and_private_addresses(ops_api, settings):
    settings.LOUPE_WEBHOOKS_ALLOW_PRIVATE = False
    settings.DEBUG = False
    for url, words in (("http://hooks.example.com/x", "https://"), ("https://127.0.0.1:8443/x", "loopback"),
                       ("https://10.1.2.3/x", "private"), ("https://[::1]/x", "loopback"),
                       ("https://169.254.169.254/latest", "private"), ("https://localhost/x", "loopback")):
        response = ops_api.post(URL, {"url": url}, content_type="application/json")
        assert response.status_code == 400 and _field(response) == "url", url
        assert words in response.json()["issues"][0]["message"], (url, response.json())
    # DEBUG allows loopback over http (a developer's own receiver), not private ranges
    settings.DEBUG = True
    assert ops_api.post(URL, {"url": "http://127.0.0.1:9/x"}, content_type="application/json").status_code == 201
    assert ops_api.post(URL, {"url": "http://10.1.2.3/x"}, content_type="application/json").status_code == 400


def test_pause_resume_and_delete(ops_api, receiver):
    sub_id = ops_api.post(URL, {"url": receiver.url}, content_type="application/json").json()["id"]
    paused = ops_api.patch(f"{URL}/{sub_id}", {"active": False}, content_type="application/json").json()
    assert paused["active"] is False and paused["pausedReason"] == "Paused by ops."
    assert event_emit(type=REVIEW_CLOSED, automation_id=None, data={}) is None
    resumed = ops_api.patch(f"{URL}/{sub_id}", {"active": True}, content_type="application/json").json()
    assert resumed["active"] is True and resumed["pausedReason"] is None
    bad = ops_api.patch(f"{URL}/{sub_id}", {"eventTypes": ["nope"]}, content_type="application/json")
    assert bad.status_code == 400 and _field(bad) == "eventTypes"
    assert ops_api.delete(f"{URL}/{sub_id}").status_code == 204
    assert ops_api.get(f"{URL}/{sub_id}").status_code == 404


def test_send_test_event_the_delivery_log_and_send_again(ops_api, receiver):
    created = ops_api.post(URL, {"url": receiver.url}, content_type="application/json").json()
    receiver.secret = created["secret"]
    receiver.statuses = [500]
    queued = ops_api.post(f"{URL}/{created['id']}/test")
    assert queued.status_code == 202 and queued.json()["eventType"] == "webhook.test"
    delivery = Delivery.objects.get()
    delivery_attempt(delivery.pk)  # what the worker does
    log = ops_api.get(f"{URL}/{created['id']}/deliveries").json()["data"]
    assert log[0]["status"] == "pending" and log[0]["attemptLog"][0]["statusCode"] == 500
    time.sleep(0.1)
    delivery_attempt(delivery.pk)
    log = ops_api.get(f"{URL}/{created['id']}/deliveries").json()["data"]
    assert log[0]["status"] == "succeeded" and [a["statusCode"] for a in log[0]["attemptLog"]] == [200, 500]
    resent = ops_api.post(f"/api/v1/webhooks/deliveries/{delivery.pk}/resend")
    assert resent.status_code == 202 and resent.json()["status"] == "pending"
    delivery_attempt(delivery.pk)
    assert len(receiver.received) == 3 and all(r.verified for r in receiver.received)
    assert {r.headers["webhook-id"] for r in receiver.received} == {delivery.message_id}
    assert json.loads(receiver.received[0].body)["data"]["subscriptionId"] == int(created["id"])


# --- inbound ----------------------------------------------------------------------------

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
INBOUND = "/api/v1/webhooks/eigenpal"


def _signed(client, payload: dict, *, msg_id: str = "msg_1", when: datetime | None = None, secret: str = SECRET,
            tamper: bool = False):
    body = json.dumps(payload)
    when = when or datetime.now(tz=UTC)
    signature = Webhook(secret).sign(msg_id, when, body)
    if tamper:
        body = body.replace("run_1", "run_2")
    return client.post(INBOUND, body, content_type="application/json", headers={
        "webhook-id": msg_id, "webhook-timestamp": str(int(when.timestamp())), "webhook-signature": signature})


def _run_event(run_id: str = "run_1", event_type: str = "run.created") -> dict:
    return {"id": "evt_1", "type": event_type, "apiVersion": "2026-01-01", "createdAt": "2026-12-06T07:00:00Z",
            "test": False, "data": {"run": {"id": run_id, "type": "workflow", "automationId": "a1",
                                            "status": "waiting", "triggerType": "api"},
                                    "previousStatus": "running", "currentStatus": "waiting"}}


@pytest.fixture
def inbound(settings, client, db):
    settings.LOUPE_INBOUND_WEBHOOK_SECRET = SECRET
    return client


def test_inbound_is_off_without_a_secret(client, db):
    assert _signed(client, _run_event()).status_code == 404


def test_a_signed_message_is_handled_once(inbound):
    first = _signed(inbound, _run_event())
    assert first.status_code == 200 and first.json() == {"ok": True, "duplicate": False, "refreshed": True}
    replay = _signed(inbound, _run_event())
    assert replay.status_code == 200 and replay.json()["duplicate"] is True
    assert InboundMessage.objects.get().type == "run.created"


@pytest.mark.parametrize("forgery", ["other secret", "tampered body", "no signature"])
def test_a_forgery_is_refused(inbound, forgery):
    if forgery == "other secret":
        response = _signed(inbound, _run_event(), secret="whsec_" + "A" * 32)
    elif forgery == "tampered body":
        response = _signed(inbound, _run_event(), tamper=True)
    else:
        response = inbound.post(INBOUND, json.dumps(_run_event()), content_type="application/json",
                                headers={"webhook-id": "msg_x", "webhook-timestamp": str(int(time.time()))})
    assert response.status_code in (400, 401)
    assert response.json()["issues"][0]["field"] == "webhook-signature"
    assert InboundMessage.objects.count() == 0


def test_a_message_older_than_five_minutes_is_refused(inbound):
    response = _signed(inbound, _run_event(), when=datetime.now(tz=UTC) - timedelta(minutes=6))
    assert response.status_code == 400 and response.json()["issues"][0]["field"] == "webhook-timestamp"
    assert _signed(inbound, _run_event(), msg_id="msg_2",
                   when=datetime.now(tz=UTC) - timedelta(minutes=4)).status_code == 200
