"""Structured corrections (review.corrections): one row per corrected field or file, kept in
step whatever wrote the correction (the page editor here, the API in tests/api and
tests/sdk020), read by "most corrected fields", derived for old reviews by the migration."""

import importlib

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile

from insights.queries import corrected_paths_recent, window_days
from review.corrections import CorrectionError, apply_field_corrections, parse_corrections
from review.models import Correction, Review
from review.services import expected_file_delete, expected_file_rename, expected_file_upload, review_update
from tests.web.conftest import pane_version


def fields(run) -> dict:
    return {c.path: (c.original_value, c.corrected_value) for c in Correction.objects.filter(review__run=run,
                                                                                        kind="field")}


def test_the_page_editor_records_a_field_correction(reviewer_client, run):
    reviewer_client.post(f"/runs/{run.pk}/save/", {"v:/line_items/1/amount": "187", "version": 0})
    assert fields(run) == {"/line_items/1/amount": (178.0, 187)}
    assert Review.objects.get(run=run).correction_count == 1


def test_a_second_edit_keeps_the_first_correction_and_its_note(reviewer_client, run, reviewer):
    review_update(run=run, changes={"expected": {**run.output, "total": 1}}, user=reviewer,
                  correction_notes={("field", "/total"): ("typo", "Total")})
    reviewer_client.post(f"/runs/{run.pk}/save/", {"v:/currency": "USD", "version": pane_version(reviewer_client, run.pk)})
    total = Correction.objects.get(review__run=run, path="/total")
    assert (total.note, total.label) == ("typo", "Total") and set(fields(run)) == {"/total", "/currency"}


def test_discarding_the_correction_removes_the_rows(reviewer_client, run, reviewer):
    review_update(run=run, changes={"expected": {**run.output, "total": 1}}, user=reviewer)
    reviewer_client.post(f"/runs/{run.pk}/save/", {"op": "reset", "version": pane_version(reviewer_client, run.pk)})
    assert fields(run) == {} and Review.objects.get(run=run).correction_count == 0


def test_expected_files_are_file_corrections_through_upload_rename_and_delete(run, reviewer):
    expected_file_upload(run=run, upload=SimpleUploadedFile("a.csv", b"x"), name=None, user=reviewer)
    expected_file_rename(run=run, name="a.csv", new_name="b.csv", user=reviewer)
    assert list(Correction.objects.filter(review__run=run).values_list("kind", "path")) == [("file", "b.csv")]
    expected_file_delete(run=run, name="b.csv", user=reviewer)
    assert not Correction.objects.filter(review__run=run).exists()


def test_most_corrected_fields_read_the_corrections(run, reviewer):
    review_update(run=run, changes={"expected": {**run.output, "total": 1}}, user=reviewer)
    paths = corrected_paths_recent(automation_ids=[run.automation_id], days=window_days(run.created_at.date()))
    assert list(paths) == [["/total"]]


def test_the_migration_derives_corrections_for_existing_reviews(run, reviewer):
    review_update(run=run, changes={"expected": {**run.output, "currency": "USD"}}, user=reviewer)
    Correction.objects.all().delete()
    Review.objects.update(correction_count=0)
    importlib.import_module("review.migrations.0005_corrections").derive_corrections(apps, None)
    assert fields(run) == {"/currency": ("EUR", "USD")} and Review.objects.get(run=run).correction_count == 1


def test_applying_field_corrections_sets_appends_and_removes():
    items = parse_corrections([{"kind": "field", "path": "/a/0", "correctedValue": 9},
                               {"kind": "field", "path": "/a/-", "correctedValue": 3},
                               {"kind": "field", "path": "/b"}])
    assert apply_field_corrections({"a": [1, 2], "b": 1}, items) == {"a": [9, 2, 3]}


@pytest.mark.parametrize(("raw", "field"), [
    ([{"kind": "field", "path": "/x/y", "correctedValue": 1}], "corrections[0].path"),
    ([{"kind": "field", "path": "/a/7", "correctedValue": 1}], "corrections[0].path"),
    ([{"kind": "field", "path": "/a/z", "correctedValue": 1}], "corrections[0].path"),
    ([{"kind": "field", "path": "/nope"}], "corrections[0].path"),
])
def test_a_pointer_outside_the_output_is_refused(raw, field):
    with pytest.raises(CorrectionError) as caught:
        apply_field_corrections({"a": [1]}, parse_corrections(raw))
    assert caught.value.field == field


def test_a_list_that_is_too_long_is_refused():
    with pytest.raises(CorrectionError):
        parse_corrections([{"kind": "field", "path": f"/{i}"} for i in range(1001)])


def test_the_history_names_the_corrected_fields(reviewer_client, run):
    reviewer_client.post(f"/runs/{run.pk}/save/", {"v:/total": "1", "version": 0})
    event = run.audit_events.first()
    assert "fields corrected: /total" in event.describe()
    assert "fields corrected: /total" in reviewer_client.get(f"/runs/{run.pk}/").content.decode()
