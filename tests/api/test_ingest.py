"""POST /api/v1/ingest/runs: one run, a list, NDJSON, or multipart with file parts."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from review.services import review_update
from runs.models import Run, RunFile
from tests.factories import run_record

URL = "/api/v1/ingest/runs"


@pytest.fixture
def record(automation) -> dict:
    return run_record(automation)


def test_one_run_is_created(ops_api, record):
    body = ops_api.post(URL, record, content_type="application/json").json()
    assert body == {"created": [record["id"]], "updated": [], "rejected": []}


def test_a_repeat_updates_in_place_and_keeps_the_review(ops_api, record, reviewer):
    ops_api.post(URL, record, content_type="application/json")
    review_update(run=Run.objects.get(pk=record["id"]), changes={"rating": "fail", "status": "open"}, user=reviewer)
    body = ops_api.post(URL, {**record, "version": "v4"}, content_type="application/json").json()
    run = Run.objects.get(pk=record["id"])
    assert body["updated"] == [record["id"]] and (run.version, run.chip, run.review.rating) == ("v4", "open", "fail")


def test_a_list_reports_rejections_by_index(ops_api, automation):
    good, bad = run_record(automation), run_record(automation, status="done")
    body = ops_api.post(URL, [good, bad], content_type="application/json").json()
    assert body["created"] == [good["id"]]
    assert body["rejected"] == [{"index": 1, "line": None, "id": bad["id"], "field": "status",
                                 "message": body["rejected"][0]["message"]}]


def test_ndjson_reports_the_line_of_a_bad_record(ops_api, automation):
    lines = [json.dumps(run_record(automation)), "", "{not json", json.dumps(run_record(automation))]
    body = ops_api.post(URL, "\n".join(lines), content_type="application/x-ndjson").json()
    assert len(body["created"]) == 2 and body["rejected"][0]["line"] == 3


def test_when_every_run_is_rejected_the_answer_is_a_400(ops_api, automation):
    response = ops_api.post(URL, [run_record(automation, id="")], content_type="application/json")
    assert response.status_code == 400 and response.json()["issues"][0]["field"] == "0.id"


def test_multipart_file_parts_attach_files_to_their_runs(ops_api, record):
    response = ops_api.post(URL, {"runs": json.dumps([record]),
                                  f"files.{record['id']}.output": SimpleUploadedFile("report.csv", b"a,b\n",
                                                                                     content_type="text/csv")})
    stored = RunFile.objects.get(run_id=record["id"])
    assert response.json()["created"] == [record["id"]] and (stored.role, stored.name, stored.size) == \
        ("output", "report.csv", 4)


def test_a_file_part_over_the_one_file_limit_is_a_413_naming_the_part(ops_api, record, settings):
    """The body may hold 20 files' worth; one part may not be larger than one file (issue 17)."""
    settings.LOUPE_MAX_UPLOAD_BYTES = 64 * 1024
    part = f"files.{record['id']}.input"
    response = ops_api.post(URL, {"runs": json.dumps([record]),
                                  part: SimpleUploadedFile("scan.pdf", b"x" * (4 * 64 * 1024))})
    issue = response.json()["issues"][0]
    assert response.status_code == 413 and issue["field"] == part and "0.0625 MB" in issue["message"]
    assert not Run.objects.exists() and not RunFile.objects.exists()


def test_a_file_part_for_a_run_not_in_the_request_is_a_400(ops_api, record):
    response = ops_api.post(URL, {"runs": json.dumps(record), "files.other.output": SimpleUploadedFile("a", b"a")})
    assert response.status_code == 400 and not Run.objects.exists()


def test_recording_runs_needs_the_ops_role(api, record):
    assert api.post(URL, record, content_type="application/json").status_code == 403


def test_an_empty_body_is_a_400(ops_api, db):
    assert ops_api.post(URL, "", content_type="application/json").status_code == 400


def test_an_ingested_run_is_sampled_and_shows_in_the_runs_list(ops_api, record):
    ops_api.post(URL, record, content_type="application/json")
    assert Run.objects.get(pk=record["id"]).sampled is True
    assert ops_api.get("/api/v1/runs").json()["runs"][0]["id"] == record["id"]
