"""The Webhooks page (ops): create (secret shown once), bad input kept, pause / resume, test
event, delivery log and "send again"."""

import pytest

from events.delivery import delivery_attempt
from events.models import Delivery, DeliveryStatus, Subscription
from tests.events.receiver import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    started = Receiver().start()
    yield started
    started.stop()


@pytest.fixture
def ops_client(client, ops):
    client.force_login(ops)
    return client


def test_only_ops_see_the_page_and_the_nav_item(client, reviewer, ops):
    client.force_login(reviewer)
    assert client.get("/webhooks/").status_code == 403
    assert b'href="/webhooks/"' not in client.get("/sampling/").content
    client.force_login(ops)
    assert client.get("/webhooks/").status_code == 200
    assert b'href="/webhooks/"' in client.get("/sampling/").content


def test_create_shows_the_secret_once(ops_client, receiver, automation):
    response = ops_client.post("/webhooks/", {"url": receiver.url, "automation": automation.ref,
                                              "event_types": ["review.closed", "example.promoted"]})
    assert response.status_code == 302
    sub = Subscription.objects.get()
    assert sub.automation_id == automation.ref and sub.event_types == ["example.promoted", "review.closed"]
    page = ops_client.get("/webhooks/").content.decode()
    assert sub.secret in page and "not shown again" in page
    assert sub.secret not in ops_client.get("/webhooks/").content.decode()
    assert sub.secret not in ops_client.get(f"/webhooks/{sub.pk}/").content.decode()


def test_a_bad_url_is_refused_naming_the_field_and_keeping_the_input(ops_client, settings):
    settings.LOUPE_WEBHOOKS_ALLOW_PRIVATE = False
    response = ops_client.post("/webhooks/", {"url": "https://10.0.0.7/hook", "description": "my bridge",
                                              "event_types": ["review.closed"]})
    assert response.status_code == 400
    page = response.content.decode()
    assert "private" in page and 'value="https://10.0.0.7/hook"' in page and 'value="my bridge"' in page
    assert 'value="review.closed" checked' in page or 'checked' in page
    assert Subscription.objects.count() == 0


def test_test_event_log_send_again_and_pause(ops_client, receiver):
    sub = Subscription.objects.create(url=receiver.url)
    receiver.secret = sub.secret
    assert ops_client.post(f"/webhooks/{sub.pk}/test/").status_code == 302
    delivery = Delivery.objects.get()
    delivery_attempt(delivery.pk)
    page = ops_client.get(f"/webhooks/{sub.pk}/").content.decode()
    assert "webhook.test" in page and "delivered" in page and "Send again" in page
    assert ops_client.post(f"/webhooks/{sub.pk}/deliveries/{delivery.pk}/resend/").status_code == 302
    assert Delivery.objects.get().status == DeliveryStatus.PENDING
    ops_client.post(f"/webhooks/{sub.pk}/pause/")
    sub.refresh_from_db()
    assert not sub.active and "Paused by otto" in sub.paused_reason
    assert "Paused by otto" in ops_client.get(f"/webhooks/{sub.pk}/").content.decode()
    ops_client.post(f"/webhooks/{sub.pk}/resume/")
    sub.refresh_from_db()
    assert sub.active
    ops_client.post(f"/webhooks/{sub.pk}/delete/")
    assert Subscription.objects.count() == 0 and Delivery.objects.count() == 0
