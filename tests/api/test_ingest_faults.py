"""Ingest edge cases of issue 17, item 7: a multipart body with more file parts than Django
takes answers the JSON envelope naming the limit, and a rejected run's file parts do not hide
the reason it was rejected."""

import json

from django.core.files.uploadedfile import SimpleUploadedFile

from runs.models import Run, RunFile
from tests.factories import run_record

URL = "/api/v1/ingest/runs"


def test_more_file_parts_than_the_limit_is_the_json_envelope_naming_it(ops_api, automation, settings):
    record = run_record(automation)
    parts = {f"files.{record['id']}.output": [SimpleUploadedFile(f"f{i}.txt", b"x")
                                              for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)]}
    response = ops_api.post(URL, {"runs": json.dumps(record), **parts})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    issue = response.json()["issues"][0]
    assert issue["code"] == "too_many_files" and "DATA_UPLOAD_MAX_NUMBER_FILES" in issue["message"]
    assert str(settings.DATA_UPLOAD_MAX_NUMBER_FILES) in issue["message"]
    assert not Run.objects.exists()


def test_a_rejected_run_with_file_parts_is_reported_with_its_own_reason(ops_api, automation):
    good, bad = run_record(automation), run_record(automation, status="done")
    response = ops_api.post(URL, {
        "runs": json.dumps([good, bad]),
        f"files.{good['id']}.output": SimpleUploadedFile("good.txt", b"good"),
        f"files.{bad['id']}.output": SimpleUploadedFile("bad.txt", b"bad"),
    })
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["created"] == [good["id"]]
    assert [(r["id"], r["field"]) for r in body["rejected"]] == [(bad["id"], "status")]
    assert list(RunFile.objects.values_list("run_id", "name")) == [(good["id"], "good.txt")]


def test_a_lone_rejected_run_with_file_parts_is_a_400_naming_its_field(ops_api, automation):
    bad = run_record(automation, status="done")
    response = ops_api.post(URL, {"runs": json.dumps([bad]),
                                  f"files.{bad['id']}.output": SimpleUploadedFile("bad.txt", b"bad")})
    assert response.status_code == 400
    assert response.json()["issues"][0]["field"] == "0.status"
    assert not RunFile.objects.exists()


def test_a_part_naming_a_run_not_in_the_request_is_still_refused(ops_api, automation):
    record = run_record(automation)
    response = ops_api.post(URL, {"runs": json.dumps(record), "files.elsewhere.output": SimpleUploadedFile("a", b"a")})
    assert response.status_code == 400 and "not in this request" in response.json()["issues"][0]["message"]
