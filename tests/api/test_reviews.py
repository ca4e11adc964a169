"""Feedback, expected files and promote through the API share the page's service layer."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from review.models import AuditEvent, Review
from review.services import review_verdict
from tests.factories import make_run


def put(api, run, body):
    return api.put(f"/api/v1/runs/{run.id}/feedback", body, content_type="application/json")


def test_put_feedback_leaves_an_audit_event_via_api_by_the_key_user(api, run, reviewer):
    put(api, run, {"rating": "fail", "status": "open"})
    event = AuditEvent.objects.get(run=run)
    assert (event.via, event.user, event.changes["rating"]) == ("api", reviewer, [None, "fail"])


def test_an_api_verdict_moves_the_run_chip_the_queue_shows(api, run):
    put(api, run, {"rating": "fail", "status": "open"})
    run.refresh_from_db()
    assert run.chip == "open"


def test_a_verdict_given_on_the_page_reads_back_through_the_api(api, run, reviewer):
    review_verdict(run=run, verdict="pass", user=reviewer)
    feedback = api.get(f"/api/v1/runs/{run.id}/feedback").json()["feedback"]
    assert (feedback["rating"], feedback["status"], feedback["resolvedBy"]) == ("pass", "resolved", str(reviewer.pk))


def test_put_is_a_partial_merge_and_null_clears(api, run):
    put(api, run, {"rating": "fail", "body": "wrong total", "expected": {"total": 1}})
    body = put(api, run, {"body": None, "status": "open"}).json()
    assert (body["feedback"]["rating"], body["feedback"]["body"], body["expected"]) == ("fail", "", {"total": 1})


def test_rating_none_means_null(api, run):
    put(api, run, {"rating": "fail"})
    assert put(api, run, {"rating": "none"}).json()["feedback"]["rating"] is None


def test_repeating_the_same_put_changes_nothing(api, run):
    put(api, run, {"rating": "pass"})
    put(api, run, {"rating": "pass"})
    assert AuditEvent.objects.filter(run=run).count() == 1


def test_a_bad_rating_is_a_400_naming_the_field(api, run):
    response = put(api, run, {"rating": "great"})
    assert response.status_code == 400 and response.json()["issues"][0]["field"] == "rating"


def test_an_unknown_field_is_a_400(api, run):
    assert put(api, run, {"verdict": "pass"}).json()["issues"][0]["field"] == "verdict"


def test_feedback_of_an_unknown_run_is_a_404(api, db):
    assert api.get("/api/v1/runs/nope/feedback").status_code == 404


def test_a_user_without_the_reviewer_role_may_read_but_not_judge(viewer_api, run):
    assert viewer_api.get(f"/api/v1/runs/{run.id}/feedback").status_code == 200
    response = put(viewer_api, run, {"rating": "pass"})
    assert response.status_code == 403 and response.json()["issues"][0]["code"] == "forbidden"


def test_delete_removes_feedback_expected_and_files(api, run):
    put(api, run, {"rating": "fail", "expected": {"a": 1}})
    api.post(f"/api/v1/runs/{run.id}/feedback/expected", {"file": SimpleUploadedFile("x.json", b"{}")})
    body = api.delete(f"/api/v1/runs/{run.id}/feedback").json()
    assert body == {"feedback": None, "expected": None, "expectedFiles": []} and not Review.objects.exists()


def test_deleting_absent_feedback_is_harmless(api, run):
    assert api.delete(f"/api/v1/runs/{run.id}/feedback").status_code == 200


@pytest.fixture
def run_with_output(automation):
    return make_run(automation, files=[{"name": "out.csv", "role": "output", "text": "a,b\n"}])


def test_copying_an_output_file_answers_201_with_its_name(api, run_with_output):
    response = api.post(f"/api/v1/runs/{run_with_output.id}/feedback/expected", {"outputFileName": "out.csv"},
                        content_type="application/json")
    assert (response.status_code, response.json()) == (201, {"name": "out.csv"})


def test_an_upload_takes_the_name_field_over_the_file_name(api, run):
    response = api.post(f"/api/v1/runs/{run.id}/feedback/expected",
                        {"name": "fixed/v2.json", "file": SimpleUploadedFile("orig.json", b"{}")})
    assert response.json() == {"name": "fixed/v2.json"}


def test_an_upload_refuses_a_traversal_name(api, run):
    response = api.post(f"/api/v1/runs/{run.id}/feedback/expected",
                        {"name": "../etc/passwd", "file": SimpleUploadedFile("x", b"x")})
    assert response.status_code == 400 and response.json()["issues"][0]["field"] == "name"


def test_a_retried_rename_answers_the_new_name(api, run):
    api.post(f"/api/v1/runs/{run.id}/feedback/expected", {"file": SimpleUploadedFile("a.json", b"{}")})
    url = f"/api/v1/runs/{run.id}/feedback/expected/a.json"
    first = api.patch(url, {"name": "b.json"}, content_type="application/json")
    again = api.patch(url, {"name": "b.json"}, content_type="application/json")
    assert (first.json(), again.status_code, again.json()) == ({"name": "b.json"}, 200, {"name": "b.json"})


def test_a_retried_delete_answers_204(api, run):
    api.post(f"/api/v1/runs/{run.id}/feedback/expected", {"file": SimpleUploadedFile("a.json", b"{}")})
    url = f"/api/v1/runs/{run.id}/feedback/expected/a.json"
    assert [api.delete(url).status_code, api.delete(url).status_code] == [204, 204]


def test_expected_file_writes_are_audited_via_api(api, run):
    api.post(f"/api/v1/runs/{run.id}/feedback/expected", {"file": SimpleUploadedFile("a.json", b"{}")})
    assert AuditEvent.objects.get(run=run).action == "expected_file:upload"


def test_promote_upserts_by_name(api, run):
    url = f"/api/v1/runs/{run.id}/promote"
    first = api.post(url, {"name": "inv-1"}, content_type="application/json").json()
    again = api.post(url, {"name": "inv-1"}, content_type="application/json").json()
    assert first == again and first["name"] == "inv-1"


def test_promote_without_a_body_picks_a_name(api, run):
    response = api.post(f"/api/v1/runs/{run.id}/promote")
    assert response.status_code == 200 and response.json()["name"] == run.id


def test_promote_with_a_bad_name_is_a_400(api, run):
    response = api.post(f"/api/v1/runs/{run.id}/promote", {"name": "Bad Name"}, content_type="application/json")
    assert response.json()["issues"][0]["field"] == "name"


def test_promote_needs_the_reviewer_role(lead_api, run):
    assert lead_api.post(f"/api/v1/runs/{run.id}/promote").status_code == 403
