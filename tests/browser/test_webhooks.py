"""The Webhooks page as ops use it, in Chromium at 1280x720: add a receiver (the secret shown
once), send a test event, read the delivery log, see why a subscription was paused."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth.models import Group, User

from events.delivery import delivery_attempt
from events.models import Delivery, Subscription
from tests.browser.conftest import login, screenshot
from tests.events.receiver import Receiver

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def receiver():
    started = Receiver().start()
    yield started
    started.stop()


def test_ops_add_a_receiver_send_a_test_event_and_read_the_log(page, receiver, settings):
    user = User.objects.create_user("otto", password="ops-pass")
    user.groups.add(Group.objects.get_or_create(name="ops")[0])
    page.set_viewport_size({"width": 1280, "height": 720})
    login(page, "otto", "ops-pass")
    page.goto("/queue/")
    page.get_by_role("link", name="Webhooks").click()
    page.get_by_label("Receiver URL").fill(receiver.url)
    page.get_by_label("review.closed", exact=False).check()
    page.get_by_label("example.promoted", exact=False).check()
    page.get_by_label("Description").fill("Ticketing bridge")
    page.get_by_role("button", name="Add subscription").click()
    secret = page.get_by_test_id("secret").inner_text()
    sub = Subscription.objects.get()
    assert secret == sub.secret and sub.event_types == ["example.promoted", "review.closed"]
    screenshot(page, "webhooks-created-1280", full_page=False)
    page.reload()
    assert page.get_by_test_id("secret").count() == 0  # shown once

    receiver.secret = secret
    receiver.statuses = [503]
    page.get_by_role("button", name="Send test event").first.click()
    delivery = Delivery.objects.get()
    delivery_attempt(delivery.pk)  # the worker's first try: the receiver answers 503
    page.wait_for_timeout(150)
    delivery_attempt(delivery.pk)  # the retry: 200
    page.reload()
    page.get_by_text("2 attempts").click()
    assert page.get_by_text("delivered").is_visible()
    assert page.get_by_text("HTTP 503").first.is_visible()
    screenshot(page, "webhooks-log-1280", full_page=False)
    assert all(r.verified for r in receiver.received) and len(receiver.received) == 2
    assert _serious(Axe().run(page)) == []
    page.goto("/webhooks/")
    assert _serious(Axe().run(page)) == []


def _serious(results) -> list[str]:
    return [f"{v['id']}: {v['nodes'][0]['target']} {v['help']}" for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")]


def test_a_paused_subscription_says_why(page):
    user = User.objects.create_user("otto", password="ops-pass")
    user.groups.add(Group.objects.get_or_create(name="ops")[0])
    Subscription.objects.create(url="https://hooks.example.com/loupe", automation_id="workflows.invoices",
                                active=False, consecutive_dead=5, paused_reason=(
                                    "Paused automatically: the last 5 messages all failed after every retry "
                                    "(last error: HTTP 500)."))
    page.set_viewport_size({"width": 1280, "height": 720})
    login(page, "otto", "ops-pass")
    page.goto("/webhooks/")
    assert "last 5 messages all failed" in page.get_by_test_id("paused-reason").inner_text()
    screenshot(page, "webhooks-paused-1280", full_page=False)
    assert _serious(Axe().run(page)) == []
