"""Runs carry their steps: ingest stores them in order, a repeat replaces them, bad ones are named."""

from runs.models import RunStep
from tests.factories import run_record

URL = "/api/v1/ingest/runs"

STEPS = [
    {"name": "ocr", "type": "tool", "status": "completed", "startedAt": "2026-11-01T12:00:00Z",
     "completedAt": "2026-11-01T12:00:02Z", "input": {"pages": 2}, "output": {"text": "ACME..."}},
    {"name": "extract", "type": "llm", "status": "failed", "error": "Timeout after 30 s",
     "input": {"prompt": "Extract"}, "output": None},
    {"name": "validate", "type": "code", "status": "skipped"},
]


def test_steps_are_stored_in_the_order_given(ops_api, automation):
    record = run_record(automation, steps=STEPS)
    ops_api.post(URL, record, content_type="application/json")
    assert list(RunStep.objects.filter(run_id=record["id"]).values_list("name", "status")) == [
        ("ocr", "completed"), ("extract", "failed"), ("validate", "skipped")]


def test_a_step_keeps_its_input_output_and_timing(ops_api, automation):
    record = run_record(automation, steps=STEPS)
    ops_api.post(URL, record, content_type="application/json")
    step = RunStep.objects.get(run_id=record["id"], position=0)
    assert (step.input, step.output, step.duration_ms) == ({"pages": 2}, {"text": "ACME..."}, 2000)


def test_a_repeat_with_steps_replaces_them(ops_api, automation):
    record = run_record(automation, steps=STEPS)
    ops_api.post(URL, record, content_type="application/json")
    ops_api.post(URL, {**record, "steps": STEPS[:1]}, content_type="application/json")
    assert RunStep.objects.filter(run_id=record["id"]).count() == 1


def test_a_repeat_without_steps_keeps_them(ops_api, automation):
    record = run_record(automation, steps=STEPS)
    ops_api.post(URL, record, content_type="application/json")
    ops_api.post(URL, {k: v for k, v in record.items() if k != "steps"}, content_type="application/json")
    assert RunStep.objects.filter(run_id=record["id"]).count() == 3


def test_a_bad_step_status_is_rejected_naming_the_step(ops_api, automation):
    record = run_record(automation, steps=[{"name": "ocr", "status": "exploded"}])
    body = ops_api.post(URL, [record, run_record(automation)], content_type="application/json").json()
    assert body["rejected"][0]["field"] == "steps.0.status"


def test_a_step_without_a_name_is_rejected_and_nothing_stored(ops_api, automation):
    record = run_record(automation, steps=[{"type": "llm"}])
    response = ops_api.post(URL, [record, run_record(automation)], content_type="application/json")
    assert response.json()["rejected"][0]["field"] == "steps.0.name" and not RunStep.objects.exists()
