"""Loupe's own run recording endpoint, POST /api/v1/ingest/runs."""



from django.conf import settings
from django.http import HttpRequest

from accounts.roles import OPS
from api.support import (
    ApiError,
    api_response,
    api_view,
    bad_request,
    check_upload_size,
    is_multipart,
)
from datasets.loop import runs_record_and_check
from runs import jsonbounds
from runs.files import BadFileName, guess_content_type, safe_relative_path
from runs.models import (
    FileRole,
)
from runs.records import FileRecord, RecordError, gc_paused, json_loads, parse_run_record
from runs.services import AutomationGate

NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines")


def _entries(text: str, content_type: str) -> list[tuple[int, int | None, object]]:
    """(index, line, object) per run: one JSON object, a JSON list, or NDJSON (one per line)."""
    if content_type not in NDJSON_TYPES:
        entries = _json_entries(text)
        if entries is not None:
            return entries
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    return [(index, number, _ndjson_line(line, number)) for index, (number, line) in enumerate(lines)]


def _json_entries(text: str) -> list | None:
    """The runs of a JSON body (one object or a list); None for a body that may be NDJSON."""
    try:
        # NaN / Infinity and deep or unstorable fields are rejected per run, by index.
        data = json_loads(text, parse_constant=jsonbounds.NotJson)
    except RecursionError:
        # Too deep for the parser to hand back the good items: the batch is refused whole.
        # NDJSON (one run per line) rejects only the deep lines.
        raise bad_request("<root>", f"The body is nested more than {jsonbounds.max_depth()} levels deep "
                                    "(LOUPE_MAX_JSON_DEPTH); send NDJSON to have the other runs stored.") from None
    except ValueError:
        if "\n" not in text.strip():
            raise bad_request("<root>", "The body is neither JSON nor NDJSON.") from None
        return None
    return [(i, None, obj) for i, obj in enumerate(data)] if isinstance(data, list) else [(0, None, data)]


def _ndjson_line(line: str, number: int):
    """One NDJSON line's object, or the RecordError that rejects that line alone."""
    try:
        return json_loads(line, parse_constant=jsonbounds.NotJson)
    except RecursionError:
        return RecordError(f"<root>: line {number} is nested more than {jsonbounds.max_depth()} levels deep.")
    except ValueError as exc:
        return RecordError(f"<root>: line {number} is not valid JSON ({getattr(exc, 'msg', exc)}).")


def _file_parts(request: HttpRequest, run_ids: set[str]) -> dict[str, list[FileRecord]]:
    """Multipart file parts named `files.<runId>.<role>`; the part's filename is the file name."""
    found: dict[str, list[FileRecord]] = {}
    for part_name in request.FILES:
        prefix, _, rest = part_name.partition(".")
        run_id, _, role = rest.rpartition(".")
        if prefix != "files" or not run_id or role not in FileRole.values:
            raise bad_request(part_name, "File parts are named files.<runId>.<role>, role one of "
                                         f"{', '.join(FileRole.values)}.")
        if run_id not in run_ids:
            raise bad_request(part_name, f"The part names run {run_id!r}, which is not in this request.")
        for upload in request.FILES.getlist(part_name):
            try:
                name = safe_relative_path(upload.name)
            except BadFileName as exc:
                raise bad_request(part_name, str(exc)) from None
            limit = settings.LOUPE_MAX_UPLOAD_BYTES  # one file, as on every other upload path
            if upload.size > limit:
                raise ApiError(413, f"The file {name!r} is larger than the limit of {limit / 1_048_576:g} MB "
                                    "(LOUPE_MAX_UPLOAD_MB).", field=part_name, code="payload_too_large")
            # The upload itself, not its bytes: parts above FILE_UPLOAD_MAX_MEMORY_SIZE sit in a
            # temporary file and are streamed to storage in chunks, so memory stays bounded.
            found.setdefault(run_id, []).append(FileRecord(
                name=name, role=role, content=upload,
                content_type=upload.content_type or guess_content_type(name)))
    return found


def _rejection(index: int, line: int | None, obj, exc: RecordError) -> dict:
    field, sep, message = str(exc).partition(": ")
    if not sep or " " in field:
        field, message = "<root>", str(exc)
    return {"index": index, "line": line, "id": obj.get("id") if isinstance(obj, dict) else None,
            "field": field, "message": message}


def _record(request: HttpRequest, text: str, content_type: str) -> tuple:
    records, rejected = [], []
    gate = AutomationGate()
    entries = _entries(text, content_type)
    for index, line, obj in entries:
        try:
            if isinstance(obj, RecordError):
                raise obj
            records.append(gate.check(parse_run_record(obj)))
        except RecordError as exc:
            rejected.append(_rejection(index, line, obj, exc))
    if is_multipart(request):
        # Parts may name any run of the request: a rejected run's parts are dropped with it, and
        # the run is reported with its own reason, not as a part naming an unknown run.
        sent = {obj.get("id") for _, _, obj in entries if isinstance(obj, dict) and isinstance(obj.get("id"), str)}
        parts = _file_parts(request, sent | {r.id for r in records})
        for record in records:
            record.files.extend(parts.get(record.id, []))
    return runs_record_and_check(records), rejected


@api_view(roles=(OPS,), action="record runs")
def ingest_runs(request: HttpRequest):
    """Record runs, idempotent on run id: a repeat updates the run in place and keeps its review.

    Bodies: one run object, a JSON list, or NDJSON (application/x-ndjson). Multipart: a `runs`
    field holding any of those, plus file parts named `files.<runId>.<role>`.
    """
    if is_multipart(request):
        check_upload_size(request, files=20)
        text = request.POST.get("runs", "")
        content_type = ""
    else:
        text = request.body.decode("utf-8", errors="replace")
        content_type = request.content_type or ""
    if not text.strip():
        raise bad_request("runs", "Send one run, a JSON list of runs, or NDJSON.")
    with gc_paused():
        result, rejected = _record(request, text, content_type)
    if rejected and not (result.created or result.updated):
        raise ApiError(400, issues=[
            {"field": f"{r['index']}.{r['field']}" if r["field"] != "<root>" else str(r["index"]),
             "message": r["message"] + (f" (line {r['line']})" if r["line"] else ""),
             "code": "invalid_value", "severity": "error"} for r in rejected])
    return api_response(request, {"created": result.created, "updated": result.updated, "rejected": rejected})
