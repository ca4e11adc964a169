"""Proxy mode reads a run's steps and the automation's last completed output from the upstream:
a live Loupe (real HTTP), runs ingested into it over its API, both API generations. Faults
injected into that traffic stand for upstreams without the steps or trace routes."""

import httpx
import pytest

from accounts.models import ApiKey
from backends.base import BackendError, NotFound
from backends.eigenpal import EigenpalBackend
from backends.eigenpal.client import metered
from backends.eigenpal.steps import UPSTREAM_STEPS
from tests.factories import make_automation, run_record
from tests.proxy import Faults, proxy_settings

STEPS = [
    {"name": "ocr", "type": "tool", "status": "completed", "startedAt": "2026-11-01T12:00:00Z",
     "completedAt": "2026-11-01T12:00:02Z", "input": {"pages": 2}, "output": {"text": "ACME"}},
    {"name": "extract", "type": "llm", "status": "failed", "startedAt": "2026-11-01T12:00:02Z",
     "completedAt": "2026-11-01T12:00:32Z", "error": "Timeout after 30 s", "input": {"prompt": "Extract"}},
    {"name": "validate", "type": "code", "status": "skipped"},
]
NAMES = ["ocr", "extract", "validate"]


@pytest.fixture(params=["feedback", "reviews"])
def upstream(request, transactional_db, live_server, ops, settings):
    """A live Loupe holding: an older and a newer completed run, and a failed run with steps
    (failing in the middle); the proxy settings for the generation. Returns (generation, ids)."""
    automation = make_automation()
    _, key = ApiKey.issue(user=ops, name="ingest")
    older = run_record(automation, output={"total": 1}, createdAt="2026-11-01T10:00:00+00:00")
    newer = run_record(automation, output={"total": 2, "lines": [{"sku": "A"}]}, createdAt="2026-11-01T11:00:00+00:00")
    failed = run_record(automation, status="failed", output=None, error="extract timed out", steps=STEPS,
                        createdAt="2026-11-01T12:00:00+00:00")
    response = httpx.post(f"{live_server.url}/api/v1/ingest/runs", json=[older, newer, failed],
                          headers={"Authorization": f"Bearer {key}"})
    assert response.status_code < 300, response.text
    proxy_settings(settings, live_server.url, request.param)
    return request.param, {"older": older["id"], "newer": newer["id"], "failed": failed["id"]}


def _backend(generation: str, *rules) -> tuple[EigenpalBackend, Faults]:
    faults = Faults(generation)
    for rule in rules:
        faults.fail(*rule[:-1], always=rule[-1])
    return EigenpalBackend(transport=faults, sleep=lambda seconds: None), faults


def _shape(steps):
    return [(s.position, s.name, s.status, s.failed) for s in steps]


def test_the_pane_gets_the_steps_in_order_with_the_failing_one_marked_at_no_extra_call(upstream):
    generation, ids = upstream
    backend, _ = _backend(generation)
    run = backend.run(ids["failed"])
    with metered() as meter:
        steps = backend.run_steps(run)
    assert meter.calls == 0
    assert _shape(steps) == [(0, "ocr", "completed", False), (1, "extract", "failed", True),
                             (2, "validate", "skipped", False)]
    assert steps[1].error == "Timeout after 30 s" and steps[1].duration_ms == 30_000
    assert (steps[0].input, steps[0].output, steps[0].type) == ({"pages": 2}, {"text": "ACME"}, "tool")


def test_without_the_run_detail_the_steps_route_is_asked(upstream):
    generation, ids = upstream
    backend, faults = _backend(generation)
    run = backend.run(ids["failed"])
    delattr(run, UPSTREAM_STEPS)  # as an upstream whose run detail carries no steps
    steps = backend.run_steps(run)
    prefix = "/v1" if generation == "reviews" else "/api/v1"
    assert faults.log[-1] == f"GET {prefix}/runs/{ids['failed']}/steps"
    assert [s.name for s in steps] == NAMES and [s.failed for s in steps] == [False, True, False]
    assert steps[0].output == {"text": "ACME"}


def test_without_a_steps_route_the_trace_gives_the_steps(upstream):
    generation, ids = upstream
    backend, faults = _backend(generation, ("GET", "/steps", 404, True))
    run = backend.run(ids["failed"])
    delattr(run, UPSTREAM_STEPS)
    steps = backend.run_steps(run)
    assert faults.log[-1].endswith(f"/runs/{ids['failed']}/trace")
    assert _shape(steps) == [(0, "ocr", "completed", False), (1, "extract", "failed", True),
                             (2, "validate", "skipped", False)]
    assert steps[1].error == "Timeout after 30 s" and steps[1].duration_ms == 30_000


def test_an_upstream_without_steps_or_trace_gives_no_timeline(upstream):
    generation, ids = upstream
    backend, _ = _backend(generation, ("GET", "/steps", 404, True), ("GET", "/trace", 404, True))
    run = backend.run(ids["failed"])
    delattr(run, UPSTREAM_STEPS)
    assert backend.run_steps(run) is None


def test_other_faults_are_the_usual_errors(upstream):
    generation, ids = upstream
    backend, _ = _backend(generation, ("GET", "/steps", 503, True))
    run = backend.run(ids["failed"])
    delattr(run, UPSTREAM_STEPS)
    with pytest.raises(BackendError, match="HTTP 503") as raised:
        backend.run_steps(run)
    assert not isinstance(raised.value, NotFound)


def test_a_run_without_steps_has_an_empty_timeline(upstream):
    generation, ids = upstream
    backend, _ = _backend(generation)
    run = backend.run(ids["newer"])
    assert backend.run_steps(run) == []
    delattr(run, UPSTREAM_STEPS)  # steps route empty, trace has only run events
    assert backend.run_steps(run) == []


def test_last_output_is_the_newest_completed_runs_output(upstream):
    generation, ids = upstream
    backend, faults = _backend(generation)
    failed = backend.run(ids["failed"])
    with metered() as meter:
        output = backend.last_output(failed)
    assert output == {"total": 2, "lines": [{"sku": "A"}]}
    assert meter.calls <= 2 and "status=completed" in meter.requests[0]


def test_last_output_skips_the_run_itself_and_is_none_without_completed_runs(upstream):
    generation, ids = upstream
    backend, _ = _backend(generation)
    assert backend.last_output(backend.run(ids["newer"])) == {"total": 1}
    lonely = make_automation("workflows.lonely")
    run = backend.run(ids["failed"])
    run.automation = lonely
    assert backend.last_output(run) is None
