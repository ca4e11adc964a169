"""Loupe's API serves the steps a run was ingested with: /steps, /steps/{position}, /trace and the
workflow run detail's execution.steps, in both generations."""

import pytest

from tests.factories import make_run

STEPS = [
    {"name": "ocr", "type": "tool", "status": "completed", "startedAt": "2026-11-01T12:00:00Z",
     "completedAt": "2026-11-01T12:00:02Z", "input": {"pages": 2}, "output": {"text": "ACME"}},
    {"name": "extract", "type": "llm", "status": "failed", "error": "Timeout after 30 s"},
]


@pytest.fixture
def stepped(automation):
    return make_run(automation, status="failed", output=None, error="extract timed out", steps=STEPS)


@pytest.mark.parametrize("prefix", ["/api/v1", "/v1"])
def test_the_steps_route_lists_the_recorded_steps_in_order(api, stepped, prefix):
    body = api.get(f"{prefix}/runs/{stepped.id}/steps").json()
    assert body["total"] == 2
    assert [(s["id"], s["name"], s["status"], s["error"]) for s in body["steps"]] == [
        ("0", "ocr", "completed", None), ("1", "extract", "failed", "Timeout after 30 s")]
    assert (body["steps"][0]["input"], body["steps"][0]["output"], body["steps"][0]["durationMs"]) == (
        {"pages": 2}, {"text": "ACME"}, 2000)


def test_one_step_by_its_position_and_a_missing_one_is_404(api, stepped):
    assert api.get(f"/v1/runs/{stepped.id}/steps/1").json()["name"] == "extract"
    assert api.get(f"/v1/runs/{stepped.id}/steps/7").status_code == 404
    assert api.get(f"/v1/runs/{stepped.id}/steps/x").status_code == 404


def test_the_trace_ends_with_one_event_per_step(api, stepped):
    events = api.get(f"/v1/runs/{stepped.id}/trace").json()["events"]
    steps = [e for e in events if e.get("stepName")]
    assert [(e["stepName"], e["status"], e["message"]) for e in steps] == [
        ("ocr", "completed", "Step ocr completed."), ("extract", "failed", "Timeout after 30 s")]


def test_the_workflow_run_detail_carries_its_steps(api, stepped):
    execution = api.get(f"/v1/runs/{stepped.id}?expand=execution").json()["execution"]
    assert [s["name"] for s in execution["steps"]] == ["ocr", "extract"]


def test_a_run_without_steps_has_none(api, run):
    assert api.get(f"/api/v1/runs/{run.id}/steps").json() == {"steps": [], "total": 0}
