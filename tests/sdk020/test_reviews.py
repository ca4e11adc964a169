"""SDK 0.20.93, unchanged, against a live Loupe: the review calls of the reviews generation.
Every answer is also parsed with the SDK's own generated model (`from_dict` raises KeyError
on a missing required key)."""

import io

import pytest
from eigenpal import EigenpalNotFoundError, EigenpalValidationError
from eigenpal._generated.models import (
    PromoteRunResponse,
    RunReviewDetail,
    RunReviewExpectedArtifacts,
    RunReviewExpectedFileMutationResponse,
    RunReviewExpectedFileUpdateResponse,
)

from review.models import AuditEvent, Correction, Review
from tests.factories import make_automation, make_run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def run(transactional_db):
    return make_run(make_automation(), files=[{"name": "out.csv", "role": "output", "text": "a,b\n1,2\n"}])


def parsed_review(http, run_id: str) -> dict:
    response = http.get(f"/v1/runs/{run_id}/reviews")
    assert response.status_code == 200
    RunReviewDetail.from_dict(response.json())
    return response.json()


def test_a_run_without_a_review_reads_null(sdk, http, run):
    assert sdk.runs.reviews.get(run.id) == {"review": None}
    assert parsed_review(http, run.id)["review"] is None


def test_update_creates_the_review_with_the_status_from_the_verdict(sdk, http, run):
    answer = sdk.runs.reviews.update(run.id, {"verdict": "correct", "note": "fine"})
    assert (answer.review.verdict, answer.review.status, answer.review.note) == ("correct", "closed", "fine")
    assert RunReviewDetail.from_dict(parsed_review(http, run.id)).review.closed_by_email == "sam@example.com"


def test_update_without_a_verdict_is_a_nit_and_stays_open(sdk, run):
    review = sdk.runs.reviews.update(run.id, {"note": "odd wording"}).review
    assert (review.verdict, review.status) == (None, "open")


def test_update_is_a_replace_of_verdict_status_and_note(sdk, run):
    sdk.runs.reviews.update(run.id, {"verdict": "incorrect", "status": "wont_fix", "note": "x"})
    review = sdk.runs.reviews.update(run.id, {"verdict": "correct"}).review
    assert (review.status, review.note) == ("closed", "")


def test_field_corrections_build_the_corrected_output(sdk, http, run):
    body = {"verdict": "incorrect", "corrections": [
        {"kind": "field", "path": "/total", "correctedValue": 1243.5, "note": "sum of the lines", "label": "Total"}]}
    review = sdk.runs.reviews.update(run.id, body).review
    assert review.correctedOutput["total"] == 1243.5
    correction = review.corrections[0]
    assert (correction.path, correction.originalValue, correction.correctedValue, correction.note) == (
        "/total", 1234.5, 1243.5, "sum of the lines")
    RunReviewDetail.from_dict(parsed_review(http, run.id))


def test_corrected_output_derives_one_correction_per_changed_field(sdk, run):
    output = {**run.output, "currency": "USD", "total": 1.0}
    review = sdk.runs.reviews.update(run.id, {"verdict": "incorrect", "correctedOutput": output}).review
    assert sorted(c.path for c in review.corrections) == ["/currency", "/total"]


def test_corrected_output_null_clears_the_corrections(sdk, run):
    sdk.runs.reviews.update(run.id, {"verdict": "incorrect", "correctedOutput": {**run.output, "total": 1}})
    review = sdk.runs.reviews.update(run.id, {"verdict": "incorrect", "correctedOutput": None}).review
    assert review.corrections == [] and review.correctedOutput is None


def test_a_bad_correction_path_is_refused_and_nothing_is_written(sdk, run):
    with pytest.raises(EigenpalValidationError) as caught:
        sdk.runs.reviews.update(run.id, {"verdict": "incorrect", "note": "n", "corrections": [
            {"kind": "field", "path": "/total"}, {"kind": "field", "path": "/nope/deeper", "correctedValue": 1}]})
    assert caught.value.issues[0]["field"] == "corrections[1].path"
    assert not Review.objects.filter(run=run).exists()


@pytest.mark.parametrize(("body", "field"), [
    ({"verdict": "partial"}, "verdict"), ({"status": "resolved"}, "status"), ({"rating": "pass"}, "rating"),
    ({"note": 3}, "note"), ({"corrections": [{"kind": "cell", "path": "/a"}]}, "corrections[0].kind"),
])
def test_bad_input_names_the_field(sdk, run, body, field):
    with pytest.raises(EigenpalValidationError) as caught:
        sdk.runs.reviews.update(run.id, body)
    assert caught.value.issues[0]["field"] == field


def test_close_closes_with_a_note_and_reopen_clears_it(sdk, run):
    sdk.runs.reviews.update(run.id, {"verdict": "incorrect"})
    closed = sdk.runs.reviews.close(run.id, {"closedNote": "fixed in v4"}).review
    assert (closed.status, closed.closedNote, closed.closedByEmail) == ("closed", "fixed in v4", "sam@example.com")
    reopened = sdk.runs.reviews.close(run.id, {"status": "open"}).review
    assert (reopened.status, reopened.closedNote, reopened.closedAt) == ("open", None, None)


def test_close_without_a_body_closes(sdk, run):
    sdk.runs.reviews.update(run.id, {"verdict": "incorrect"})
    assert sdk.runs.reviews.close(run.id).review.status == "closed"


def test_close_of_a_run_without_review_is_not_found(sdk, run):
    with pytest.raises(EigenpalNotFoundError):
        sdk.runs.reviews.close(run.id)


def test_clear_deletes_review_corrections_and_files(sdk, run):
    sdk.runs.reviews.update(run.id, {"verdict": "incorrect", "correctedOutput": {"total": 1}})
    sdk.runs.reviews.upload_expected(run.id, io.BytesIO(b"x"), name="fixed.csv")
    assert sdk.runs.reviews.clear(run.id) == {"review": None}
    assert not Correction.objects.exists() and sdk.runs.reviews.list_expected(run.id) == {"files": []}


def test_expected_files_upload_copy_download_rename_delete(sdk, http, run):
    uploaded = sdk.runs.reviews.upload_expected(run.id, io.BytesIO(b"fixed"), name="sub/fixed.csv")
    copied = sdk.runs.reviews.copy_output_to_expected(run.id, "out.csv", expected_name="copy.csv")
    assert (uploaded.name, copied.name) == ("sub/fixed.csv", "copy.csv")
    assert sdk.runs.reviews.download_expected(run.id, "sub/fixed.csv") == b"fixed"
    renamed = sdk.runs.reviews.rename_expected(run.id, "copy.csv", "renamed.csv")
    RunReviewExpectedFileUpdateResponse.from_dict(dict(renamed))
    sdk.runs.reviews.delete_expected(run.id, "sub/fixed.csv")
    listed = http.get(f"/v1/runs/{run.id}/reviews/expected").json()
    assert RunReviewExpectedArtifacts.from_dict(listed).files[0].name == "renamed.csv"


def test_an_expected_file_is_a_file_correction(sdk, run):
    RunReviewExpectedFileMutationResponse.from_dict(
        dict(sdk.runs.reviews.upload_expected(run.id, io.BytesIO(b"x"), name="fixed.csv")))
    review = sdk.runs.reviews.get(run.id).review
    assert [(c.kind, c.path, c.correctedArtifactPath) for c in review.corrections] == [
        ("file", "fixed.csv", "expected/fixed.csv")]


def test_a_file_correction_carries_its_note(sdk, run):
    sdk.runs.reviews.upload_expected(run.id, io.BytesIO(b"x"), name="fixed.csv")
    review = sdk.runs.reviews.update(run.id, {"verdict": "incorrect", "corrections": [
        {"kind": "file", "path": "fixed.csv", "note": "header row missing"}]}).review
    assert [(c.kind, c.note) for c in review.corrections] == [("file", "header row missing")]


def test_a_stale_if_match_gets_412_with_the_current_review(http, run):
    first = http.put(f"/v1/runs/{run.id}/reviews", json={"verdict": "incorrect"})
    etag = first.headers["ETag"]
    http.put(f"/v1/runs/{run.id}/reviews", json={"verdict": "correct"}, headers={"If-Match": etag})
    stale = http.put(f"/v1/runs/{run.id}/reviews", json={"verdict": "incorrect"}, headers={"If-Match": etag})
    assert stale.status_code == 412 and stale.json()["review"]["verdict"] == "correct"


def test_a_write_without_if_match_applies_and_the_audit_keeps_what_it_replaced(http, run):
    http.put(f"/v1/runs/{run.id}/reviews", json={"verdict": "incorrect", "note": "first"})
    http.put(f"/v1/runs/{run.id}/reviews", json={"verdict": "correct", "note": "second"})
    last = AuditEvent.objects.filter(run=run).first()
    assert last.changes["body"] == ["first", "second"] and last.via == "api"


def test_promote_creates_the_example(sdk, run):
    sdk.runs.reviews.update(run.id, {"verdict": "incorrect", "correctedOutput": {"total": 2}})
    promoted = PromoteRunResponse.from_dict(dict(sdk.runs.promote(run.id, {"name": "invoice-2"})))
    assert promoted.name == "invoice-2"
