"""GET / PUT /api/v1/automations/{id}/sampling (and /v1/): default rate, strata and step-down
threshold by API, ops only, a reason required, now or later never earlier, in the page's
history; a bad field is a 400 naming it with nothing saved; If-Match against the version."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.utils import timezone

from runs.models import Automation, SamplingRateChange
from tests.api.conftest import _client_for
from tests.concurrency import race
from tests.factories import make_automation

STRATA = [{"name": "judge failed", "when": {"kind": "score", "evaluator": "judge", "failed": True}, "rate": 100},
          {"name": "big", "when": {"kind": "json", "source": "output", "path": "/total", "op": "gt", "value": 5000},
           "rate": 50}]


def _put(client, automation, body, **headers):
    return client.put(f"/api/v1/automations/{automation.ref}/sampling", json.dumps(body),
                      content_type="application/json", headers=headers)


@pytest.mark.django_db
def test_ops_reads_and_changes_sampling_recorded_in_the_pages_history(ops_api, ops):
    automation = make_automation("workflows.api-sampled", rate_bp=1500)
    got = ops_api.get(f"/api/v1/automations/{automation.ref}/sampling")
    assert got.status_code == 200 and got["ETag"] == '"1"'
    assert (got.json()["defaultRate"], got.json()["strata"], got.json()["stepDownThreshold"]) == (15, [], 95)
    put = _put(ops_api, automation, {"defaultRate": 5, "strata": STRATA, "stepDownThreshold": 97.5,
                                     "reason": "target risk"}, **{"If-Match": '"1"'})
    assert put.status_code == 200, put.json()
    body = put.json()
    assert put["ETag"] == '"2"' and body["version"] == 2
    assert (body["defaultRate"], [s["rate"] for s in body["strata"]], body["stepDownThreshold"]) == (5, [100, 50], 97.5)
    assert body["strata"][0]["description"] == "evaluator judge failed"
    assert body["history"][0]["reason"] == "target risk" and body["history"][0]["changedBy"] == ops.username
    change = SamplingRateChange.objects.filter(automation=automation).latest("id")
    assert (change.old_bp, change.new_bp, change.strata[1]["rate_bp"]) == (1500, 500, 5000)
    # The sampling page lists the same change.
    client = ops_api.__class__()
    client.force_login(ops)
    assert "target risk" in client.get("/sampling/").content.decode()
    # The /v1/ mount answers the same.
    assert ops_api.get(f"/v1/automations/{automation.ref}/sampling").json()["version"] == 2


@pytest.mark.django_db
def test_a_scheduled_change_and_a_change_in_the_past(ops_api):
    automation = make_automation("workflows.api-later", rate_bp=1500)
    later = (timezone.now() + timedelta(days=1)).isoformat()
    put = _put(ops_api, automation, {"defaultRate": 5, "reason": "tomorrow", "effectiveAt": later})
    assert put.status_code == 200 and put.json()["history"][0]["scheduled"] is True
    past = (timezone.now() - timedelta(minutes=5)).isoformat()
    refused = _put(ops_api, automation, {"defaultRate": 1, "reason": "yesterday", "effectiveAt": past})
    assert refused.status_code == 400 and refused.json()["issues"][0]["field"] == "effectiveAt"


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "field"), [
    ({"defaultRate": 101, "reason": "r"}, "defaultRate"),
    ({"defaultRate": -1, "reason": "r"}, "defaultRate"),
    ({"defaultRate": "5", "reason": "r"}, "defaultRate"),
    ({"defaultRate": 5}, "reason"),
    ({"defaultRate": 5, "reason": "  "}, "reason"),
    ({"stepDownThreshold": 0, "reason": "r"}, "stepDownThreshold"),
    ({"stepDownThreshold": 150, "reason": "r"}, "stepDownThreshold"),
    ({"strata": [{"name": "x", "when": {"kind": "score"}, "rate": 5}], "reason": "r"}, "strata[0].when"),
    ({"strata": [*STRATA, {"name": "y", "when": {"kind": "tag", "tag": "t"}, "rate": 200}], "reason": "r"},
     "strata[2].rate"),
    ({"strata": None, "reason": "r"}, "strata"),
    ({"defaultRate": 5, "reason": "r", "effectiveAt": "tomorrow"}, "effectiveAt"),
    ({"defaultRate": 5, "reason": "r", "rate": 3}, "rate"),
    ({"reason": "r"}, "<root>"),
])
def test_bad_input_is_a_400_naming_the_field_and_saves_nothing(ops_api, body, field):
    automation = make_automation("workflows.api-bad", rate_bp=1500)
    response = _put(ops_api, automation, {"strata": STRATA, **body} if field == "defaultRate" else body)
    assert response.status_code == 400, response.content
    assert response.json()["issues"][0]["field"] == field
    automation.refresh_from_db()
    assert (automation.sampling_rate_bp, automation.sampling_strata, automation.step_down_threshold,
            automation.sampling_version) == (1500, [], 0.95, 1)
    assert SamplingRateChange.objects.filter(automation=automation).count() == 1


@pytest.mark.django_db
def test_only_ops_may_change_and_a_stale_version_is_a_412(api, ops_api):
    automation = make_automation("workflows.api-roles", rate_bp=1500)
    assert api.get(f"/api/v1/automations/{automation.ref}/sampling").status_code == 200
    assert _put(api, automation, {"defaultRate": 5, "reason": "r"}).status_code == 403
    assert _put(ops_api, automation, {"defaultRate": 5, "reason": "first"}).status_code == 200
    stale = _put(ops_api, automation, {"defaultRate": 1, "reason": "second"}, **{"If-Match": '"1"'})
    assert stale.status_code == 412 and stale.json()["defaultRate"] == 5 and stale["ETag"] == '"2"'
    assert _put(ops_api, automation, {"defaultRate": 1, "reason": "r", "version": 1}).status_code == 412


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_simultaneous_puts_of_one_version_one_wins():
    automation = make_automation("workflows.api-race", rate_bp=1500)
    group = Group.objects.get_or_create(name="ops")[0]
    clients = []
    for i in range(4):
        user = User.objects.create_user(f"ops{i}")
        user.groups.add(group)
        clients.append(_client_for(user))
    outcomes = race(4, lambda i: _put(clients[i], automation, {"defaultRate": i + 1, "reason": f"by {i}"},
                                      **{"If-Match": '"1"'}))
    codes = sorted(o.value.status_code for o in outcomes)
    assert all(o.ok for o in outcomes) and codes == [200, 412, 412, 412], codes
    winner = next(i for i, o in enumerate(outcomes) if o.value.status_code == 200)
    automation.refresh_from_db()
    assert (automation.sampling_rate_bp, automation.sampling_version) == ((winner + 1) * 100, 2)
    assert SamplingRateChange.objects.filter(automation=automation).count() == 2
    assert Automation.objects.get(pk=automation.pk).sampling_version == 2
