"""The shape of a recorded run (docs/rules.md#runs-and-what-is-recorded), shared by `import_runs`, the ingest API and the
demo generator. Keys are camelCase as on the wire; snake_case aliases are accepted.

    {"id": "run_123", "automation": "workflows.extract-invoice", "status": "completed",
     "trigger": "api", "version": "v3", "input": {...}, "output": {...}, "error": null,
     "createdAt": "2026-11-01T12:00:00Z", "startedAt": ..., "completedAt": ..., "durationMs": 1234,
     "exampleId": null, "batchId": null, "usage": {...}, "metadata": {...},
     "files": [{"name": "out.csv", "role": "output", "contentType": "text/csv",
                "text": "a,b\\n" | "base64": "..."}]}
"""

import base64
import binascii
import functools
import gc
import json
import math
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
from django.core.files import File
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from runs.confidence import ConfidenceError, parse_field_confidence
from runs.files import BadFileName, guess_content_type, safe_relative_path
from runs.ids import run_id_problem
from runs.jsonbounds import JsonRefused, check_json, max_depth, text_problem
from runs.models import KIND_PREFIX, FileRole, RunStatus
from runs.pausing import PauseRecord, PointerError, parse_pause

_ALIASES = {
    "created_at": "createdAt",
    "started_at": "startedAt",
    "completed_at": "completedAt",
    "duration_ms": "durationMs",
    "example_id": "exampleId",
    "batch_id": "batchId",
    "triggered_by": "triggeredBy",
    "content_type": "contentType",
    "create_automation": "createAutomation",
    "human_review": "humanReview",
    "field_metadata": "fieldMetadata",
}
_PREFIX_KIND = {v: k for k, v in KIND_PREFIX.items()}


# A run of ten years is not a run; the column is a 64-bit integer either way.
DURATION_MAX_MS = 10 * 366 * 24 * 3600 * 1000
_STATUSES = frozenset(RunStatus.values)  # computed once: the enum builds the list on every access


class RecordError(ValueError):
    """A run record that cannot be stored; the message names the field."""


class _NonFinite(Exception):
    pass


def _no_constant(name: str):
    raise _NonFinite(name)


# A run of 19 or more digits may be an integer beyond 64 bits, which orjson reads as a float.
# Found by mapping every digit to "0" and everything else to "x" (bytes.translate) and searching
# for nineteen "0"s: two C passes, several times cheaper than a regular expression here.
_DIGITS_TO_ZERO = bytes(0x30 if 0x30 <= b <= 0x39 else 0x78 for b in range(256))
_LONG_DIGITS = b"0" * 19


def _has_long_digits(raw: bytes | str) -> bool:
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "ignore")
    return _LONG_DIGITS in raw.translate(_DIGITS_TO_ZERO)


def json_loads(raw: bytes | str, parse_constant=None):
    """Parse JSON text: orjson (several times faster than the standard library), falling back to
    `json.loads` for what orjson refuses and for text holding a run of 19+ digits (a C-speed scan),
    so big integers stay exact and error messages (json.JSONDecodeError with msg and colno) stay
    as before. NaN and Infinity are refused either way: PostgreSQL's jsonb cannot store them;
    with `parse_constant` (e.g. jsonbounds.NotJson) the fallback hands them to it instead, so the
    caller can reject the one run that holds them by field."""
    if not _has_long_digits(raw):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    if parse_constant is not None:
        return json.loads(raw, parse_constant=parse_constant)
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except _NonFinite as exc:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        name = str(exc.args[0])
        raise json.JSONDecodeError(f"{name} is not a JSON number", text, max(text.find(name), 0)) from None


def json_dumps(value) -> str:
    """Serialise parsed JSON for the database: orjson, or `json.dumps` for integers beyond 64 bits."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


@contextmanager
def gc_paused():
    """Pause Python's cyclic garbage collector while one batch of runs is parsed and stored.
    A batch's thousands of parsed JSON containers live until it is stored and count towards the
    collector's thresholds: every few batches they set off a full collection, which walks every
    object of the process (tens of milliseconds in a web worker). Parsed JSON holds no cycles, so
    reference counting frees it all the same; on the way out the young generations are collected,
    so a cycle made during the batch is freed at once and memory stays bounded by the batch.
    Only in the main thread (a gunicorn sync worker, a management command): the switch is
    process-wide, and threads that overlapped could keep it off."""
    if threading.current_thread() is not threading.main_thread() or not gc.isenabled():
        yield  # another thread, or already paused (an outer batch, or the caller's choice)
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect(1)


@dataclass
class FileRecord:
    name: str
    role: str
    content: bytes | File  # bytes from a JSON record; an uploaded file (streamed) from multipart
    content_type: str


MAX_SCORES = 50


@dataclass
class ScoreRecord:
    name: str
    value: float | None
    passed: bool | None
    source: str


def _score(obj, index: int) -> ScoreRecord:
    """{name, value and/or passed, source?, threshold?}. Without `passed`, a value passes when it
    reaches `threshold`, by default 0.5 for values between 0 and 1; other values stay unjudged."""
    where = f"scores.{index}"
    if not isinstance(obj, dict):
        raise RecordError(f"{where}: expected an object {{name, value or passed, source}}.")
    name = obj.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise RecordError(f"{where}.name: required, a string of 1-100 characters.")
    value, passed, threshold = obj.get("value"), obj.get("passed"), obj.get("threshold")
    for key, item in (("value", value), ("threshold", threshold)):
        if item is not None and (isinstance(item, bool) or not isinstance(item, (int, float)) or not math.isfinite(item)):
            raise RecordError(f"{where}.{key}: expected a finite number.")
    if passed is not None and not isinstance(passed, bool):
        raise RecordError(f"{where}.passed: expected true or false.")
    if value is None and passed is None:
        raise RecordError(f"{where}: give a value, passed, or both.")
    source = obj.get("source") or ""
    if not isinstance(source, str) or len(source) > 100:
        raise RecordError(f"{where}.source: expected a string of at most 100 characters.")
    if passed is None:
        if threshold is not None:
            passed = value >= threshold
        elif 0 <= value <= 1:
            passed = value >= 0.5
    return ScoreRecord(name=name.strip(), value=None if value is None else float(value), passed=passed, source=source)


@dataclass
class RunRecord:
    id: str
    kind: str
    slug: str
    status: str
    input: dict
    output: object = None
    error: str | None = None
    trigger: str | None = None
    triggered_by: str | None = None
    version: str | None = None
    created_at: datetime = field(default_factory=timezone.now)
    started_at: datetime | None = None
    completed_at: datetime | None = None
    duration_ms: int | None = None
    example_id: str | None = None
    batch_id: str | None = None
    usage: object = None
    metadata: object = None
    files: list[FileRecord] = field(default_factory=list)
    # None: the record says nothing about steps (a repeat keeps them); a list replaces them.
    steps: list["StepRecord"] | None = None
    create_automation: bool = False  # "createAutomation": true (runs.services.AutomationGate)
    scores: list[ScoreRecord] | None = None  # None: leave the run's scores as they are
    # "humanReview" of a run paused for a person ("status": "waiting"): opens a task (runs/pausing.py).
    human_review: PauseRecord | None = None
    # "fieldMetadata": {pointer into output: confidence}, any run (runs/confidence.py); None: none given.
    field_metadata: dict | None = None

    @property
    def automation_ref(self) -> str:
        return f"{KIND_PREFIX[self.kind]}.{self.slug}"


@dataclass
class StepRecord:
    name: str
    type: str = ""
    status: str = "completed"
    started_at: datetime | None = None
    completed_at: datetime | None = None
    input: object = None
    output: object = None
    error: str | None = None


MAX_STEPS = 500
STEP_STATUSES = ("pending", "running", "completed", "failed", "skipped")


def _step(obj, index: int) -> StepRecord:
    where = f"steps.{index}"
    if not isinstance(obj, dict):
        raise RecordError(f"{where}: expected an object with name, type, status, input, output, error.")
    obj = _normalise_keys(obj)
    name = obj.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise RecordError(f"{where}.name: required, a string of at most 200 characters.")
    step_type = obj.get("type") or ""
    if not isinstance(step_type, str) or len(step_type) > 50:
        raise RecordError(f"{where}.type: expected a string of at most 50 characters.")
    status = obj.get("status") or "completed"
    if status not in STEP_STATUSES:
        raise RecordError(f"{where}.status: {status!r} is not one of {', '.join(STEP_STATUSES)}.")
    error = obj.get("error")
    if error is not None and not isinstance(error, str):
        error = json.dumps(error)
    try:
        started, completed = _time(obj, "startedAt"), _time(obj, "completedAt")
    except RecordError as exc:
        raise RecordError(f"{where}.{exc}") from None
    return StepRecord(name=name.strip(), type=step_type, status=status, started_at=started, completed_at=completed,
                      input=obj.get("input"), output=obj.get("output"), error=error)


def _steps(raw) -> list[StepRecord] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise RecordError("steps: expected a list.")
    if len(raw) > MAX_STEPS:
        raise RecordError(f"steps: more than {MAX_STEPS} steps.")
    return [_step(obj, i) for i, obj in enumerate(raw)]


def _normalise_keys(obj: dict) -> dict:
    return {_ALIASES.get(k, k): v for k, v in obj.items()}


def _time(data: dict, key: str, *, required: bool = False) -> datetime | None:
    raw = data.get(key)
    if raw in (None, ""):
        if required:
            return timezone.now()
        return None
    if not isinstance(raw, str):
        raise RecordError(f"{key}: expected an ISO-8601 date-time string, got {type(raw).__name__}.")
    try:
        value = parse_datetime(raw.replace("Z", "+00:00") if raw.endswith("Z") else raw)
        if value is not None and timezone.is_naive(value):
            value = timezone.make_aware(value, timezone.get_fixed_timezone(0))
        if value is not None:
            value.astimezone(UTC)  # out of range once in UTC (year 1 at +01:00)
    except (ValueError, OverflowError):
        value = None
    if value is None:
        raise RecordError(f"{key}: {raw[:80]!r} is not an ISO-8601 date-time.")
    return value


def _opt_str(data: dict, key: str, max_length: int) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RecordError(f"{key}: expected a string.")
    value = str(value)
    problem = text_problem(value)
    if problem:
        raise RecordError(f"{key}: {problem}")
    if len(value) > max_length:
        raise RecordError(f"{key}: longer than {max_length} characters.")
    return value


def parse_automation_ref(ref) -> tuple[str, str]:
    if isinstance(ref, str):
        return _automation_ref(ref)  # a batch names few automations: each is checked once
    raise RecordError("automation: expected 'workflows.<slug>' or 'agents.<slug>'.")


@functools.lru_cache(maxsize=1024)
def _automation_ref(ref: str) -> tuple[str, str]:
    if "." not in ref:
        raise RecordError("automation: expected 'workflows.<slug>' or 'agents.<slug>'.")
    prefix, _, slug = ref.partition(".")
    if prefix not in _PREFIX_KIND or not slug:
        raise RecordError(f"automation: {ref!r} must look like 'workflows.<slug>' or 'agents.<slug>'.")
    if len(slug) > 100 or not all(c.isalnum() or c in "-_" for c in slug):
        raise RecordError(f"automation: slug {slug!r} may hold only letters, digits, '-' and '_'.")
    return _PREFIX_KIND[prefix], slug


def _file(obj, index: int) -> FileRecord:
    where = f"files.{index}"
    if not isinstance(obj, dict):
        raise RecordError(f"{where}: expected an object with name and text or base64.")
    obj = _normalise_keys(obj)
    try:
        name = safe_relative_path(obj.get("name"))
    except BadFileName as exc:
        raise RecordError(f"{where}.name: {exc}") from None
    role = obj.get("role") or FileRole.OUTPUT
    if not isinstance(role, str) or not role.isidentifier():
        raise RecordError(f"{where}.role: expected input, output, debug or report.")
    if "text" in obj and obj["text"] is not None:
        content = str(obj["text"]).encode("utf-8")
    elif "base64" in obj and obj["base64"] is not None:
        try:
            content = base64.b64decode(obj["base64"], validate=True)
        except (binascii.Error, ValueError):
            raise RecordError(f"{where}.base64: not valid base64.") from None
    elif "json" in obj:
        content = json.dumps(obj["json"], indent=2).encode("utf-8")
    else:
        raise RecordError(f"{where}: give the content as text, base64 or json.")
    content_type = obj.get("contentType") or guess_content_type(name)
    return FileRecord(name=name, role=role, content=content, content_type=str(content_type))


def parse_run_record(obj) -> RunRecord:  # noqa: C901 - over the ceiling; listed in docs/architecture.md#guard-rails
    """Validate one run record; raises RecordError with a field-named message."""
    if not isinstance(obj, dict):
        raise RecordError("Expected a JSON object for the run.")
    # Every field within the nesting bound (the run object is one level more), every key and
    # string storable (no NUL, no lone surrogate), no NaN; the message names the field.
    try:
        check_json(obj, "<root>", max_depth() + 1)
    except JsonRefused as exc:
        raise RecordError(f"{exc.field}: {exc.reason}") from None
    data = _normalise_keys(obj)
    run_id = data.get("id")
    if isinstance(run_id, str):
        run_id = run_id.strip()
    problem = run_id_problem(run_id)
    if problem:
        raise RecordError(f"id: {problem}")
    automation = data.get("automation") or data.get("source")
    if isinstance(automation, dict):
        automation = automation.get("ref") or automation.get("id")
    kind, slug = parse_automation_ref(automation)
    status = data.get("status") or RunStatus.COMPLETED
    if not isinstance(status, str) or status not in _STATUSES:
        raise RecordError(f"status: {status!r} is not one of {', '.join(RunStatus.values)}.")
    run_input = data.get("input", {})
    if run_input is None:
        run_input = {}
    if not isinstance(run_input, dict):
        raise RecordError("input: expected a JSON object.")
    error = data.get("error")
    if error is not None and not isinstance(error, str):
        error = json.dumps(error)
    duration = data.get("durationMs")
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, (int, float))
                                 or not 0 <= duration <= DURATION_MAX_MS):
        raise RecordError(f"durationMs: expected a non-negative number of milliseconds, at most {DURATION_MAX_MS}.")
    files = data.get("files") or []
    if not isinstance(files, list):
        raise RecordError("files: expected a list.")
    scores = data.get("scores")
    if scores is not None:
        if not isinstance(scores, list) or len(scores) > MAX_SCORES:
            raise RecordError(f"scores: expected a list of at most {MAX_SCORES} scores.")
        scores = [_score(s, i) for i, s in enumerate(scores)]
        if len({s.name for s in scores}) != len(scores):
            raise RecordError("scores: each evaluator name at most once per run.")
    human_review = data.get("humanReview")
    if human_review is not None:
        if status != RunStatus.WAITING:
            raise RecordError('humanReview: only a run recorded with "status": "waiting" pauses for a person.')
        try:
            human_review = parse_pause(human_review)
        except PointerError as exc:
            raise RecordError(f"humanReview{exc}") from None
    try:
        field_metadata = parse_field_confidence(data.get("fieldMetadata"), data.get("output"))
    except ConfidenceError as exc:
        raise RecordError(str(exc)) from None
    record = RunRecord(
        id=run_id,
        kind=kind,
        slug=slug,
        status=status,
        input=run_input,
        output=data.get("output"),
        error=error,
        trigger=_opt_str(data, "trigger", 32),
        triggered_by=_opt_str(data, "triggeredBy", 200),
        version=_opt_str(data, "version", 100),
        created_at=_time(data, "createdAt", required=True),
        started_at=_time(data, "startedAt"),
        completed_at=_time(data, "completedAt"),
        duration_ms=int(duration) if duration is not None else None,
        example_id=_opt_str(data, "exampleId", 100),
        batch_id=_opt_str(data, "batchId", 100),
        usage=data.get("usage"),
        metadata=data.get("metadata"),
        files=[_file(f, i) for i, f in enumerate(files)],
        steps=_steps(data.get("steps")),
        create_automation=data.get("createAutomation") is True,
        scores=scores,
        human_review=human_review,
        field_metadata=field_metadata,
    )
    if record.duration_ms is None and record.completed_at and record.started_at:
        record.duration_ms = max(0, int((record.completed_at - record.started_at).total_seconds() * 1000))
    return record
