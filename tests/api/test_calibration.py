"""The calibration API (GET /api/v1/automations/{id}/calibration, docs/calibration.md) and field
confidence at ingest: a bad confidence is a 400 naming the field, the rest of the batch stored."""

import copy

import pytest

from review.services import review_save, review_verdict
from runs.models import Run
from tests.factories import INVOICE_OUTPUT, make_run, run_record

pytestmark = pytest.mark.django_db
URL = "/api/v1/ingest/runs"


def test_the_ingest_api_stores_the_good_runs_and_names_the_bad_field(ops_api, automation):
    good = run_record(automation, fieldMetadata={"/total": "high"})
    bad = run_record(automation, fieldMetadata={"/total": 1.5})
    body = ops_api.post(URL, [good, bad], content_type="application/json").json()
    assert body["created"] == [good["id"]]
    assert body["rejected"][0]["field"] == "fieldMetadata./total" and "0 to 1" in body["rejected"][0]["message"]
    assert not Run.objects.filter(pk=bad["id"]).exists()  # nothing of the bad run half-saved
    alone = ops_api.post(URL, bad, content_type="application/json")
    assert alone.status_code == 400 and alone.json()["issues"][0]["field"] == "0.fieldMetadata./total"



def test_calibration_by_api(api, automation, reviewer):
    runs = [make_run(automation, fieldMetadata={"/total": "high" if i % 2 else "low"}) for i in range(6)]
    for run in runs:
        review_verdict(run=run, verdict="pass", user=reviewer)
    expected = copy.deepcopy(INVOICE_OUTPUT)
    expected["total"] = 1.0
    review_save(run=runs[1], user=reviewer, verdict="fail", expected=expected)
    response = api.get(f"/api/v1/automations/{automation.ref}/calibration")
    assert response.status_code == 200
    body = response.json()
    assert body["automationId"] == str(automation.pk) and body["rule"]["minReviewed"] == 30
    (total,) = body["fields"]
    assert total["path"] == "/total" and (total["reviewed"], total["changed"]) == (6, 1)
    high = next(level for level in total["levels"] if level["level"] == "high")
    assert (high["reviewed"], high["changed"]) == (3, 1) and high["interval"]["method"] == "wilson"
    assert 0 < high["interval"]["low"] < 1 / 3 < high["interval"]["high"] < 1
    assert total["flag"]["test"] == "fisher-exact-one-sided" and total["flag"]["significant"] is False


def test_calibration_of_an_unknown_automation_or_with_a_stray_parameter(api, automation):
    assert api.get("/api/v1/automations/workflows.nope/calibration").status_code == 404
    stray = api.get(f"/api/v1/automations/{automation.pk}/calibration?level=high")
    assert stray.status_code == 400 and stray.json()["issues"][0]["field"] == "level"


def test_calibration_reads_a_fixed_number_of_queries(api, automation, reviewer, django_assert_max_num_queries):
    for i in range(5):
        run = make_run(automation, fieldMetadata={"/total": i / 5, "/currency": "low"})
        review_verdict(run=run, verdict="pass", user=reviewer)
    with django_assert_max_num_queries(6):
        assert len(api.get(f"/api/v1/automations/{automation.pk}/calibration").json()["fields"]) == 2
