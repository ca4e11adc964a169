"""Human review tasks over the JSON API: recording paused runs by the ingest API (bad humanReview
objects rejected by field, the rest of the batch stored), the policy endpoints, the decision
errors in the envelope. The SDK drives the same routes in tests/sdk020/test_human_reviews.py."""

import json

import pytest

from humanreview.models import Task
from tests.factories import make_paused_run, paused_record

pytestmark = pytest.mark.django_db
INGEST = "/api/v1/ingest/runs"


def test_ingest_opens_tasks_and_rejects_a_bad_human_review_by_field(ops_api, automation):
    good, bad, deep = (paused_record(automation), paused_record(automation, requiredPaths=["/lines"]),
                       paused_record(automation, fieldMetadata={"/total": {"confidence": -0.1}}))
    body = ops_api.post(INGEST, [good, bad, deep], content_type="application/json").json()
    assert body["created"] == [good["id"]]
    assert [(r["index"], r["field"]) for r in body["rejected"]] == [
        (1, "humanReview.requiredPaths.0"), (2, "humanReview.fieldMetadata./total.confidence")]
    assert "not a scalar" in body["rejected"][0]["message"]
    assert list(Task.objects.values_list("run_id", flat=True)) == [good["id"]]
    # Re-recording the run (NDJSON this time) never opens a second task.
    again = ops_api.post(INGEST, json.dumps(good) + "\n", content_type="application/x-ndjson").json()
    assert again["updated"] == [good["id"]] and Task.objects.count() == 1


def test_a_batch_of_only_bad_human_reviews_is_a_400_naming_the_field(ops_api, automation):
    answer = ops_api.post(INGEST, paused_record(automation, colour="red"), content_type="application/json")
    assert answer.status_code == 400
    assert answer.json()["issues"][0]["field"] == "0.humanReview.colour"


def test_the_policy_is_read_by_anyone_and_set_by_ops(api, ops_api, automation):
    url = f"/v1/automations/{automation.ref}/review-policy"
    assert api.get(url).json()["policy"]["confidenceThreshold"] == 0.8
    assert api.put(url, {"confidenceThreshold": 0.5}, content_type="application/json").status_code == 403
    refused = ops_api.put(url, {"confidenceThreshold": "high"}, content_type="application/json")
    assert refused.status_code == 400 and refused.json()["issues"][0]["field"] == "confidenceThreshold"
    refused = ops_api.put(url, {"threshold": 0.5}, content_type="application/json")
    assert refused.status_code == 400 and refused.json()["issues"][0]["field"] == "threshold"
    policy = ops_api.put(url, {"confidenceThreshold": 0.3, "fieldRules": {"/currency": "always"},
                               "deadlineMinutes": 120}, content_type="application/json").json()["policy"]
    assert policy["confidenceThreshold"] == 0.3 and policy["deadlineMinutes"] == 120
    task = Task.objects.get(run=make_paused_run(automation))
    assert task.required_paths == ["/total", "/currency"]  # 0.41 passes 0.3 now; "low" does not
    assert ops_api.put(url, {"deadlineMinutes": None}, content_type="application/json").json()[
        "policy"]["deadlineMinutes"] is None


def test_decision_bodies_are_checked_by_field(api, automation):
    task = Task.objects.get(run=make_paused_run(automation))
    url = f"/api/v1/human-reviews/{task.pk}/fields"
    for body, field in (({"idempotencyKey": "k", "path": "/total", "value": 1}, "expectedVersion"),
                        ({"expectedVersion": 1, "path": "/total", "value": 1}, "idempotencyKey"),
                        ({"expectedVersion": 1, "idempotencyKey": "k", "path": "/total"}, "value"),
                        ({"expectedVersion": "1", "idempotencyKey": "k", "path": "/total", "value": 1},
                         "expectedVersion"),
                        ({"expectedVersion": 1, "idempotencyKey": "k", "path": "/total", "value": 1, "x": 1}, "x")):
        answer = api.put(url, body, content_type="application/json")
        assert answer.status_code == 400 and answer.json()["issues"][0]["field"] == field, body
    answer = api.post(f"/api/v1/human-reviews/{task.pk}/reject", {"expectedVersion": 1, "idempotencyKey": "r",
                                                                  "reason": ""}, content_type="application/json")
    assert answer.status_code == 400 and answer.json()["issues"][0]["field"] == "reason"


def test_a_viewer_reads_but_cannot_decide(viewer_api, automation):
    task = Task.objects.get(run=make_paused_run(automation))
    assert viewer_api.get(f"/v1/human-reviews/{task.pk}").status_code == 200
    answer = viewer_api.post(f"/v1/human-reviews/{task.pk}/approve", {"expectedVersion": 1},
                             content_type="application/json")
    assert answer.status_code == 403
