"""Inbound platform webhooks refresh proxy mode at once (docs/webhooks.md): a signed
run.created makes a new upstream automation and its runs show without waiting for the cached
automation list to expire, in every process (the stamp is in the shared cache: Redis here)."""

import json
import os
import secrets
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook

from backends.eigenpal import EigenpalBackend, upstream_run_changed
from tests.factories import make_automation, make_run
from tests.proxy import proxy_settings

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
REDIS_URL = os.environ.get("LOUPE_TEST_REDIS_URL", "redis://127.0.0.1:6379/6")


def _post(client, event_type: str, run_id: str, status: str = "completed"):
    body = json.dumps({"id": "evt", "type": event_type, "apiVersion": "1", "createdAt": "2026-12-06T07:00:00Z",
                       "test": False, "data": {"run": {"id": run_id, "type": "workflow", "automationId": "9",
                                                       "status": status, "triggerType": "api"},
                                               "previousStatus": "running", "currentStatus": status}})
    msg_id = f"msg_{secrets.token_hex(6)}"
    now = datetime.now(tz=UTC)
    return client.post("/api/v1/webhooks/eigenpal", body, content_type="application/json", headers={
        "webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(SECRET).sign(msg_id, now, body)})


@pytest.fixture
def shared_cache(settings):
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("LOUPE_REQUIRE_REDIS") == "1":
            pytest.fail(f"LOUPE_REQUIRE_REDIS=1 but Redis at {REDIS_URL} does not answer: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} does not answer ({exc})")
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                                   "KEY_PREFIX": f"loupe-test-{secrets.token_hex(4)}"}}


@pytest.mark.django_db(transaction=True)
def test_a_signed_run_created_refreshes_every_process_automation_list(settings, live_server, client, ops,
                                                                    shared_cache):
    proxy_settings(settings, live_server.url, "reviews")
    settings.LOUPE_PROXY_AUTOMATIONS_TTL = 3600
    settings.LOUPE_INBOUND_WEBHOOK_SECRET = SECRET
    make_run(make_automation("workflows.first"))
    # two processes' backends, each with its own cached automation list
    one, two = EigenpalBackend(), EigenpalBackend()
    try:
        assert [a.ref for a in one.automations()] == ["workflows.first"]
        assert [a.ref for a in two.automations()] == ["workflows.first"]
        make_run(make_automation("workflows.second"))
        assert [a.ref for a in one.automations()] == ["workflows.first"]  # cached for an hour
        heard = []
        upstream_run_changed.connect(lambda **kw: heard.append(kw), weak=False, dispatch_uid="t-heard")
        try:
            response = _post(client, "run.created", "run_9")
        finally:
            upstream_run_changed.disconnect(dispatch_uid="t-heard")
        assert response.status_code == 200 and response.json()["refreshed"] is True
        assert heard[0]["run_id"] == "run_9" and heard[0]["event_type"] == "run.created"
        assert [a.ref for a in one.automations()] == ["workflows.first", "workflows.second"]
        assert [a.ref for a in two.automations()] == ["workflows.first", "workflows.second"]
    finally:
        one.close()
        two.close()


@pytest.mark.django_db(transaction=True)
def test_the_sampling_page_shows_a_new_automation_after_the_webhook(settings, live_server, client, ops):
    proxy_settings(settings, live_server.url, "reviews")
    settings.LOUPE_PROXY_AUTOMATIONS_TTL = 3600
    settings.LOUPE_INBOUND_WEBHOOK_SECRET = SECRET
    make_run(make_automation("workflows.first"))
    client.force_login(ops)
    assert "workflows.first" in client.get("/sampling/").content.decode()
    make_run(make_automation("workflows.second"))
    assert "workflows.second" not in client.get("/sampling/").content.decode()
    assert _post(client, "run.status_changed", "run_9", status="waiting").status_code == 200
    assert "workflows.second" in client.get("/sampling/").content.decode()
    # a replayed message does nothing more, an unrelated type refreshes nothing
    assert _post(client, "automation.updated", "run_9").json()["refreshed"] is False
