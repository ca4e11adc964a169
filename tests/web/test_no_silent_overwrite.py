"""No silent overwrite (docs/security.md): a same-name upload on the page is kept beside the
first, promoting under another run's example name asks first, and every overwrite (the API
keeps its contract and replaces) is in the audit with what it replaced."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from datasets.models import Example
from review.models import AuditEvent, ExpectedFile
from review.services import review_update
from tests.api.conftest import _client_for
from tests.factories import make_run
from tests.web.conftest import pane_version

pytestmark = pytest.mark.django_db


def url(run, action=""):
    return f"/runs/{run.pk}/" + (f"{action}/" if action else "")


def csv(content: bytes = b"a,b\n1,2\n", name: str = "fixed.csv"):
    return SimpleUploadedFile(name, content, content_type="text/csv")


def test_a_second_upload_of_the_same_name_is_kept_beside_the_first(backend, reviewer_client, run):
    reviewer_client.post(url(run, "expected/upload"), {"file": csv(b"first\n")})
    response = reviewer_client.post(url(run, "expected/upload"), {"file": csv(b"second\n")}, follow=True)
    assert "saved as fixed-2.csv" in response.content.decode()
    if backend == "local":
        files = {f.name: f.file.open("rb").read() for f in ExpectedFile.objects.filter(review__run=run)}
        assert files == {"fixed.csv": b"first\n", "fixed-2.csv": b"second\n"}


def test_a_name_taken_after_the_pane_was_read_is_chosen_from_the_requested_name(reviewer, run):
    """The free name is chosen once, from the name asked for, under the run's lock: a file that
    landed after the run was read gives `fixed-3.csv`, not `fixed-2-2.csv` (a name chosen from
    the stale read and then again)."""
    from backends import get_backend
    from review.services import expected_file_upload

    backend = get_backend()
    expected_file_upload(run=run, upload=csv(b"first\n"), name=None, user=reviewer)
    seen = backend.run(run.pk)  # the page's read: fixed.csv
    expected_file_upload(run=run, upload=csv(b"other tab\n"), name=None, user=reviewer, keep_existing=True)
    assert backend.expected_file_upload(run=seen, upload=csv(b"mine\n"), name="fixed.csv", user=reviewer) == "fixed-3.csv"
    assert sorted(ExpectedFile.objects.filter(review__run=run).values_list("name", flat=True)) == [
        "fixed-2.csv", "fixed-3.csv", "fixed.csv"]


def test_copying_an_output_twice_keeps_the_corrected_copy(reviewer_client, run):
    from runs.services import run_file_store

    run_file_store(run_id=run.pk, name="out.csv", role="output", content=b"orig\n", content_type="text/csv")
    reviewer_client.post(url(run, "expected/copy"), {"output_name": "out.csv"})
    reviewer_client.post(url(run, "expected/copy"), {"output_name": "out.csv"})
    assert sorted(ExpectedFile.objects.filter(review__run=run).values_list("name", flat=True)) == [
        "out-2.csv", "out.csv"]


def test_the_api_replaces_as_its_contract_says_and_the_audit_keeps_what_was_replaced(reviewer, run):
    api = _client_for(reviewer)
    for content in (b"first\n", b"second, longer\n"):
        response = api.post(f"/api/v1/runs/{run.pk}/feedback/expected", {"file": csv(content)})
        assert response.status_code in (200, 201), response.content
    assert ExpectedFile.objects.filter(review__run=run).count() == 1
    event = AuditEvent.objects.filter(run=run, action="expected_file:upload").order_by("-id").first()
    assert event.changes["replaced"]["size"] == len(b"first\n")
    assert event.changes["replaced"]["createdBy"] == reviewer.username


def _example_of(other_run, reviewer):
    review_update(run=other_run, changes={"rating": "fail", "expected": {"total": 1}}, user=reviewer)
    from datasets.services import example_promote

    return example_promote(run=other_run, name="taken", user=reviewer)


def test_promoting_under_another_runs_example_name_asks_first(reviewer_client, reviewer, run, automation):
    # Local mode only: proxy mode keeps the upstream's upsert (docs/security.md).
    other = _example_of(make_run(automation), reviewer)
    review_update(run=run, changes={"rating": "fail", "expected": {"total": 2}}, user=reviewer)
    promote = {"op": "promote", "example_name": "taken", "version": pane_version(reviewer_client, run)}
    response = reviewer_client.post(url(run, "save"), promote)
    body = response.content.decode()
    assert "already exists, promoted from" in body and 'name="replace_example"' in body
    assert 'value="taken"' in body  # the typed name is kept
    other.refresh_from_db()
    assert other.expected == {"total": 1} and other.source_run_id != run.pk

    reviewer_client.post(url(run, "save"), {**promote, "replace_example": "on"})
    other.refresh_from_db()
    assert other.expected == {"total": 2} and other.source_run_id == run.pk
    event = AuditEvent.objects.filter(run=run, action="promote").get()
    assert event.changes["replaced"]["expected"] == {"total": 1}


def test_promoting_again_from_the_same_run_refreshes_without_asking(reviewer_client, reviewer, run):
    review_update(run=run, changes={"rating": "fail", "expected": {"total": 2}}, user=reviewer)
    promote = {"op": "promote", "example_name": "mine"}
    reviewer_client.post(url(run, "save"), {**promote, "version": pane_version(reviewer_client, run)})
    review_update(run=run, changes={"expected": {"total": 3}}, user=reviewer)
    reviewer_client.post(url(run, "save"), {**promote, "version": pane_version(reviewer_client, run)})
    assert Example.objects.get(name="mine").expected == {"total": 3}


def test_api_promote_keeps_the_upsert_and_audits_the_replaced_example(reviewer, run, automation):
    other = _example_of(make_run(automation), reviewer)
    response = _client_for(reviewer).post(f"/api/v1/runs/{run.pk}/promote", {"name": "taken"},
                                          content_type="application/json")
    assert response.status_code == 200, response.content
    event = AuditEvent.objects.filter(run=run, action="promote").get()
    assert event.changes["replaced"]["sourceRunId"] == other.source_run_id


def test_put_feedback_over_a_newer_page_note_keeps_the_replaced_note_in_the_audit(reviewer, reviewer_client, run):
    reviewer_client.post(url(run, "save"), {"body": "typed on the page", "version": pane_version(reviewer_client, run)})
    api = _client_for(reviewer)
    response = api.put(f"/api/v1/runs/{run.pk}/feedback", {"body": "from a script"}, content_type="application/json")
    assert response.status_code == 200
    event = AuditEvent.objects.filter(run=run, via="api").order_by("-id").first()
    assert event.changes["body"] == ["typed on the page", "from a script"]


def test_the_pane_forms_promote_asks_before_replacing_another_runs_example(reviewer_client, reviewer, run, automation):
    other = _example_of(make_run(automation), reviewer)
    review_update(run=run, changes={"rating": "fail", "expected": {"total": 2}}, user=reviewer)
    form = {"op": "promote", "example_name": "taken", "body": "kept note", "version": pane_version(reviewer_client, run)}
    body = reviewer_client.post(url(run, "save"), form).content.decode()
    assert "already exists, promoted from" in body and 'id="id_replace_example"' in body
    assert 'value="taken"' in body and "kept note" in body
    other.refresh_from_db()
    assert other.expected == {"total": 1} and other.source_run_id != run.pk

    form.update(replace_example="on", version=pane_version(reviewer_client, run))
    reviewer_client.post(url(run, "save"), form)
    other.refresh_from_db()
    assert other.expected == {"total": 2} and other.source_run_id == run.pk
