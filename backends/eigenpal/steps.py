"""Proxy mode: a run's steps (the pane's timeline) and the automation's last completed output
(the shape a failed run's expected output can start from), read from the upstream (docs/proxy.md).

Steps come, in this order, from: the run detail the pane already fetched (`execution.steps` of a
workflow run, no extra call); `GET /runs/{id}/steps` (`{steps: [...], total}`; step objects are
untyped, so every field is read defensively); when that is empty or not served (404),
`GET /runs/{id}/trace` (`{events: [...]}`), whose step events become steps. An upstream serving
neither route gives None (no timeline); any other fault is the usual BackendError.
"""
from typing import Any

from backends.base import NotFound, RunInfo, StepInfo
from backends.eigenpal.client import seg
from backends.eigenpal.wire import parse_time

MAX_STEPS = 500
STATUSES = {"pending", "running", "completed", "failed", "skipped"}
# Words other APIs use for the same states.
STATUS_ALIASES = {"succeeded": "completed", "success": "completed", "done": "completed", "finished": "completed",
                  "ok": "completed", "error": "failed", "errored": "failed", "failure": "failed",
                  "cancelled": "skipped", "canceled": "skipped", "queued": "pending", "waiting": "pending",
                  "created": "pending", "started": "running", "in_progress": "running"}
UPSTREAM_STEPS = "_upstream_steps"  # the run detail's execution.steps, kept on the RunInfo


def _text(value, limit: int = 200) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def _status(value, error) -> str:
    word = _text(value, 32).lower()
    word = STATUS_ALIASES.get(word, word)
    if word in STATUSES:
        return word
    return "failed" if error else "completed"


def _error(value) -> str | None:
    if isinstance(value, dict):
        value = value.get("message") or value.get("error") or value.get("code")
    if value is None or value == "":
        return None
    return str(value)[:10_000]


def _first(obj: dict, *keys):
    for key in keys:
        if obj.get(key) is not None:
            return obj[key]
    return None


def step_from_wire(obj, position: int) -> StepInfo | None:
    """One upstream step object as a StepInfo; None for something that is not an object."""
    if not isinstance(obj, dict):
        return None
    error = _error(_first(obj, "error", "errorMessage"))
    name = _text(_first(obj, "name", "stepName", "label", "stepId", "id") or "") or f"step {position + 1}"
    return StepInfo(
        position=position, name=name, type=_text(_first(obj, "type", "stepType", "kind") or "", 50),
        status=_status(obj.get("status"), error),
        started_at=parse_time(_first(obj, "startedAt", "started_at")),
        completed_at=parse_time(_first(obj, "completedAt", "completed_at", "finishedAt")),
        input=_first(obj, "input", "inputs"), output=_first(obj, "output", "outputs", "result"), error=error,
    )


def steps_from_wire(items) -> list[StepInfo]:
    steps = []
    for obj in items[:MAX_STEPS] if isinstance(items, list) else []:
        step = step_from_wire(obj, len(steps))
        if step is not None:
            steps.append(step)
    return steps


def _later(old: StepInfo, event: dict, status: str, started, completed, error) -> StepInfo:
    """A step updated by a later event of it: the first start and input, the latest status,
    completion, output and error."""
    return StepInfo(position=old.position, name=old.name, type=old.type, status=status,
                    started_at=old.started_at or started, completed_at=completed or old.completed_at,
                    input=old.input if old.input is not None else event.get("input"),
                    output=event.get("output") if event.get("output") is not None else old.output,
                    error=error or old.error)


def steps_from_trace(events) -> list[StepInfo]:
    """Trace events naming a step become steps, in order; a step's later events (started, then
    completed or failed) update the same step until it has finished."""
    steps: list[StepInfo] = []
    open_by_name: dict[str, int] = {}
    for event in events if isinstance(events, list) else []:
        if not isinstance(event, dict) or not _text(event.get("stepName")):
            continue
        name = _text(event["stepName"])
        status = _status(event.get("status"), None)
        error = _error(_first(event, "error", "message")) if status == "failed" else None
        started = parse_time(event.get("startedAt"))
        completed = parse_time(event.get("completedAt"))
        index = open_by_name.get(name)
        if index is None:
            if len(steps) >= MAX_STEPS:
                break
            steps.append(StepInfo(position=len(steps), name=name, type=_text(event.get("stepType") or "", 50),
                                  status=status, started_at=started, completed_at=completed,
                                  input=event.get("input"), output=event.get("output"), error=error))
            index = len(steps) - 1
        else:
            steps[index] = _later(steps[index], event, status, started, completed, error)
        if status in ("pending", "running"):
            open_by_name[name] = index
        else:
            open_by_name.pop(name, None)
    return steps


def _other_runs(data: dict, run_id: str) -> list[dict]:
    """The rows of a runs list answer other than `run_id`'s."""
    return [r for r in (data.get("runs") or []) if isinstance(r, dict) and r.get("id") and r["id"] != run_id]


class StepsMixin:
    """EigenpalBackend's steps and last output (its `upstream` and `dialect()` are used)."""

    def run_steps(self, run: RunInfo) -> list[StepInfo] | None:
        told = getattr(run, UPSTREAM_STEPS, None)
        if isinstance(told, list):
            # The run detail carried the steps (a workflow run): no extra call, even when empty.
            return steps_from_wire(told)
        path = f"/runs/{seg(run.id)}"
        served = False
        try:
            data = self.upstream.json("GET", f"{path}/steps") or {}
            served = True
            steps = steps_from_wire(data.get("steps") if isinstance(data, dict) else None)
            if steps:
                return steps
        except NotFound:
            pass
        try:
            data = self.upstream.json("GET", f"{path}/trace") or {}
        except NotFound:
            return [] if served else None
        return steps_from_trace(data.get("events") if isinstance(data, dict) else None)

    def last_output(self, run: RunInfo) -> Any:
        """The output of the automation's newest completed run other than this one: one list call
        (two rows, in case the newest is this run), plus a get when the row carries no output."""
        automation = run.automation
        data = self.upstream.json("GET", "/runs", params={
            "source": automation.remote_id or str(automation.pk), "status": "completed", "limit": 2}) or {}
        rows = _other_runs(data, run.id)
        if not rows:
            return None
        if rows[0].get("output") is not None:
            return rows[0]["output"]
        try:
            detail = self.upstream.json("GET", f"/runs/{seg(rows[0]['id'])}") or {}
        except NotFound:  # deleted between the two calls
            return None
        return detail.get("output") if isinstance(detail, dict) else None
