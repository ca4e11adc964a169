import base64

import pytest

from runs.records import RecordError, parse_run_record


def good(**fields) -> dict:
    record = {
        "id": "run_1", "automation": "workflows.extract-invoice", "status": "completed", "trigger": "api",
        "version": "v3", "input": {"customer": "c-1"}, "output": {"total": 12.5},
        "createdAt": "2026-11-01T12:00:00Z", "startedAt": "2026-11-01T12:00:01Z",
        "completedAt": "2026-11-01T12:00:03.500Z",
    }
    record.update(fields)
    return record


def test_a_good_record_is_parsed_with_its_automation_and_times():
    record = parse_run_record(good())
    assert (record.kind, record.slug, record.automation_ref) == ("workflow", "extract-invoice",
                                                                  "workflows.extract-invoice")
    assert record.created_at.isoformat() == "2026-11-01T12:00:00+00:00"


def test_duration_is_derived_from_start_and_completion_when_missing():
    assert parse_run_record(good()).duration_ms == 2500


def test_agents_are_recognised_by_their_prefix():
    assert parse_run_record(good(automation="agents.triage-email")).kind == "agent"


def test_snake_case_aliases_are_accepted():
    record = parse_run_record(good(createdAt=None, created_at="2026-11-02T08:00:00Z", duration_ms=42,
                                   batch_id="b1", example_id="ex-1", triggered_by="maya"))
    assert (record.created_at.day, record.duration_ms, record.batch_id, record.example_id,
            record.triggered_by) == (2, 42, "b1", "ex-1", "maya")


def test_files_are_decoded_from_text_base64_and_json():
    record = parse_run_record(good(files=[
        {"name": "out.csv", "text": "a,b\n"},
        {"name": "in/doc.pdf", "role": "input", "base64": base64.b64encode(b"%PDF").decode()},
        {"name": "out.json", "json": {"a": 1}},
    ]))
    assert [(f.name, f.role, f.content[:4]) for f in record.files] == [
        ("out.csv", "output", b"a,b\n"), ("in/doc.pdf", "input", b"%PDF"), ("out.json", "output", b'{\n  ')]


@pytest.mark.parametrize(("fields", "message"), [
    ({"id": ""}, "id: required"),
    ({"id": "x" * 101}, "id: longer than 100"),
    ({"automation": "extract-invoice"}, "automation: expected 'workflows.<slug>'"),
    ({"automation": "tools.extract"}, "automation: 'tools.extract' must look like"),
    ({"automation": "workflows.bad slug"}, "automation: slug 'bad slug'"),
    ({"status": "done"}, "status: 'done' is not one of created,"),
    ({"input": [1, 2]}, "input: expected a JSON object"),
    ({"createdAt": "yesterday"}, "createdAt: 'yesterday' is not an ISO-8601"),
    ({"startedAt": 1700000000}, "startedAt: expected an ISO-8601 date-time string"),
    ({"durationMs": -5}, "durationMs: expected a non-negative number"),
    ({"trigger": "x" * 33}, "trigger: longer than 32"),
    ({"version": ["v3"]}, "version: expected a string"),
    ({"files": {"name": "a"}}, "files: expected a list"),
    ({"files": [{"name": "../etc/passwd", "text": "x"}]}, "files.0.name: The file name may not contain '..'"),
    ({"files": [{"name": "a.bin", "base64": "***"}]}, "files.0.base64: not valid base64"),
    ({"files": [{"name": "a.txt"}]}, "files.0: give the content as text, base64 or json"),
])
def test_each_bad_field_is_named_in_the_error(fields, message):
    with pytest.raises(RecordError) as caught:
        parse_run_record(good(**fields))
    assert str(caught.value).startswith(message)


def test_a_record_that_is_not_an_object_is_refused():
    with pytest.raises(RecordError, match="Expected a JSON object"):
        parse_run_record(["run_1"])
