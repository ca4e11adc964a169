"""The OpenAPI paths of the key check, ingest, runs and a run's review (both generations)."""

from api.openapi_parts import (
    ANY_TYPE,
    BINARY,
    BOOL,
    DATASET,
    FEEDBACK,
    INT,
    META,
    OBJ,
    RAW,
    REVIEWS_020,
    RUN_ID,
    RUNS,
    STORES,
    N,
    S,
    also_json,
    arr,
    error,
    json_body,
    null,
    obj,
    op,
    p,
    q,
    ref,
)

RUN_LIST_PARAMS = [
    q("type", "workflow / agent; comma list."), q("source", "Automation id or workflows.<slug>; comma list."),
    q("status", "Comma list of execution statuses (or the key repeated)."), q("trigger", "Comma list."),
    q("triggeredBy", "Comma list; __system__ = no user."), q("sourceRef", "Version."), q("batchId", "Batch id."),
    q("exampleId", "Exact."), q("exampleIdContains", "Substring."), q("ids", "Comma list of run ids."),
    q("from", "Created at or after: ISO-8601 or now()-7d."), q("to", "Created at or before."),
    q("createdAfter", "ISO-8601."), q("createdBefore", "ISO-8601."), q("completedAfter", "ISO-8601."),
    q("completedBefore", "ISO-8601."), q("cursor", "From nextCursor; empty counts as absent."),
    q("offset", "Switches to offset pagination (nextCursor is then null).", INT), q("limit", "1-100, default 50.", INT),
    q("hasFeedback", "Feedback filter (offset pagination).", BOOL), q("noFeedback", "Feedback filter.", BOOL),
    q("feedbackStatus", "open / resolved / ignored."), q("feedbackRating", "pass / fail / partial / none."),
    q("hasExpected", "Expected JSON or a file is set.", BOOL), q("promotedToExample", "Promoted.", BOOL),
    q("sinceLastResolved", "Runs created after the latest resolvedAt (within type/source).", BOOL),
    q("hasExpectedJson", "Extra.", BOOL), q("hasExpectedFiles", "Extra.", BOOL),
    q("feedbackBodyContains", "Extra."), q("promotedExampleName", "Extra."),
    q("hasReview", "Reviews generation: hasFeedback.", BOOL), q("noReview", "Reviews generation.", BOOL),
    q("reviewStatus", "open / closed / wont_fix."), q("reviewVerdict", "correct / incorrect / none."),
    q("hasCorrections", "The review has a field or file correction.", BOOL),
    q("reviewNoteContains", "Case-insensitive substring of the note."),
    *[q(f"review{w}{e}", "ISO-8601 or now()-7d.") for w in ("Created", "Updated", "Closed") for e in ("After", "Before")],
    q("sinceLastClosed", "Runs created after the latest closed review (within type/source).", BOOL),
    q("sampleRate", "0-1: keep runs whose sampleRank is below it.", N),
    q("tag", "Comma list: runs whose metadata.tags hold every tag."), q("hasExample", "Example runs.", BOOL),
    q("experiments", "false only: Loupe has no experiment runs.", BOOL),
    q("sort", "createdAt (default) / completedAt."), q("order", "desc (default) / asc."),
]

FEEDBACK_EXAMPLE = {"rating": "fail", "status": "open", "body": "Total is wrong", "expected": {"total": 1243.5}}
INGEST_EXAMPLE = {"id": "run_123", "automation": "workflows.extract-invoice", "status": "completed",
                  "input": {"customer": "c-42"}, "output": {"total": 1234.5},
                  "createdAt": "2026-11-01T12:00:00Z",
                  "files": [{"name": "out.csv", "role": "output", "text": "a,b\n1,2\n"}]}
REVIEW_PUT_EXAMPLE = {"verdict": "incorrect", "note": "Total is wrong",
                      "corrections": [{"kind": "field", "path": "/total", "correctedValue": 1243.5,
                                       "note": "sum of the lines"}]}

FEEDBACK_STALE = {412: error("If-Match names an older version: nothing was written; the current feedback is "
                             "attached.", ref("RunFeedbackDetail"))}
REVIEW_STALE = {412: error("If-Match names an older version: nothing was written; the current review is attached.",
                           ref("RunReviewDetail"))}

EXPECTED_FILE_BODY = {"required": True, "content": {
    "application/json": {"schema": obj({"outputFileName": S}, {"expectedName": S}),
                         "example": {"outputFileName": "out.csv"}},
    "multipart/form-data": {"schema": {"type": "object", "properties": {"file": BINARY, "name": S},
                                       "required": ["file"]}}}}


def expected_file_ops(tag: str, noun: str) -> dict:
    """Download, rename and delete one of a run's expected files (both generations)."""
    return {
        "get": op(tag, f"Download {noun}", 200, RAW, content_type=ANY_TYPE,
                  params=[RUN_ID, p("filename", "Name or slash path as listed.")]),
        "patch": op(tag, f"Rename {noun}", 200, ref("FileName"), params=[RUN_ID, p("filename", "Current name.")],
                    body=json_body(ref("FileName"), {"name": "b.csv"})),
        "delete": op(tag, f"Delete {noun} (204, also when already gone)", 204, None,
                     params=[RUN_ID, p("filename", "Name.")]),
    }


PATHS: dict[str, dict] = {
    "/api/v1/auth/check": {"get": op(META, "Who the key acts as", 200, ref("AuthCheckResponse"))},
    "/api/v1/openapi.json": {"get": op(META, "This OpenAPI document", 200, OBJ,
                                       description="Bearer key, or a signed-in browser session.")},
    "/api/v1/docs": {"get": op(META, "This reference as a web page", 200, S, content_type="text/html",
                               description="For signed-in users of the web app (session login, not a key).",
                               also={302: {"description": "Not signed in: to the sign-in page."}})},
    "/api/v1/ingest/runs": {"post": op(
        RUNS, "Record runs (idempotent on run id)", 200, ref("IngestResponse"),
        description="Body: one run object, a JSON list, or NDJSON (Content-Type application/x-ndjson), in the "
                    "shape of runs/records.py. Multipart: a `runs` field holding any of those, plus file parts "
                    "named `files.<runId>.<role>` (role input/output/debug/report; the part's filename is the "
                    "file name). A repeat updates the run in place and keeps its review. Answers what was "
                    "created, updated and rejected (index, NDJSON line, reason); 400 when every run is "
                    "rejected. Needs the ops role.",
        body={"required": True, "content": {
            "application/json": {"schema": {"anyOf": [OBJ, arr(OBJ)]}, "example": INGEST_EXAMPLE},
            "application/x-ndjson": {"schema": S},
            "multipart/form-data": {"schema": {"type": "object", "properties": {"runs": S}, "required": ["runs"]}},
        }}, example={"created": ["run_123"], "updated": [], "rejected": []}, also=STORES)},
    "/api/v1/runs": {
        "get": op(RUNS, "List runs, newest first", 200, ref("RunsListResponse"), params=RUN_LIST_PARAMS,
                  description="Cursor pagination (keyset on createdAt, id); with `offset` or any feedback "
                              "filter, offset pagination and nextCursor is null. snake_case names are "
                              "accepted too (created_after, has_feedback …)."),
        "post": op(RUNS, "Start a run: not supported", 403, None,
                   description="Loupe records runs and never executes automations; answers 403 with code "
                               "not_supported. Record runs with POST /api/v1/ingest/runs."),
    },
    "/api/v1/runs/{run_id}": {"get": op(RUNS, "One run", 200, ref("Run"), params=[
        RUN_ID, q("expand", "Comma list of input, usage, execution, debug.")])},
    "/api/v1/runs/{run_id}/scores": {"get": op(RUNS, "Scores: example checks, then evaluator scores", 200,
                                               obj({"scores": arr(ref("EvalResult"))}), params=[RUN_ID])},
    "/api/v1/runs/{run_id}/artifacts": {"get": also_json(op(
        RUNS, "The run's files", 200, obj({"artifacts": arr(ref("RunArtifact"))}),
        params=[RUN_ID, q("zip", "1: answer an application/zip of the output files instead.")]),
        200, "application/zip", RAW)},
    "/api/v1/runs/{run_id}/artifacts/{path}": {"get": op(
        RUNS, "Download one file", 200, RAW, content_type=ANY_TYPE,
        params=[RUN_ID, p("path", "`path` as listed (<role>/<name>), or a bare file name.")])},
    "/api/v1/runs/{run_id}/promote": {"post": op(
        DATASET, "Promote the run to a dataset example (upsert by name)", 200, ref("PromoteRunResponse"),
        params=[RUN_ID], body=json_body(obj({}, {"name": S}), {"name": "invoice-42"}),
        description="Copies input, output, expected JSON and expected files. Needs the reviewer role.",
        also=STORES)},
    "/api/v1/runs/{run_id}/feedback": {
        "get": op(FEEDBACK, "The run's feedback", 200, ref("RunFeedbackDetail"), params=[RUN_ID]),
        "put": op(FEEDBACK, "Update feedback (partial merge; null clears)", 200, ref("RunFeedbackDetail"),
                  params=[RUN_ID], body=json_body(ref("RunFeedbackRequest"), FEEDBACK_EXAMPLE),
                  description="A left-out key is unchanged. Attributed to the key's user (audit trail, "
                              "via=api). Needs the reviewer role. If-Match: 412 with the current feedback "
                              "when stale.", also=FEEDBACK_STALE),
        "delete": op(FEEDBACK, "Delete feedback, expected JSON and expected files", 200, ref("RunFeedbackDetail"),
                     params=[RUN_ID], description="If-Match as for PUT.", also=FEEDBACK_STALE),
    },
    "/api/v1/runs/{run_id}/feedback/expected": {
        "get": op(FEEDBACK, "Expected JSON and files", 200, ref("RunExpectedArtifacts"), params=[RUN_ID]),
        "post": op(FEEDBACK, "Copy an output file to expected, or upload one", 201, ref("FileName"), params=[RUN_ID],
                   body=EXPECTED_FILE_BODY,
                   description="Dispatches on Content-Type. A file of the same name is replaced.", also=STORES),
    },
    "/api/v1/runs/{run_id}/feedback/expected/{filename}": expected_file_ops(FEEDBACK, "an expected file"),
    "/api/v1/runs/{run_id}/reviews": {
        "get": op(REVIEWS_020, "The run's review", 200, ref("RunReviewDetail"), params=[RUN_ID],
                  description="ETag: the review's version."),
        "put": op(REVIEWS_020, "Create or replace the review", 200, ref("RunReviewDetail"), params=[RUN_ID],
                  body=json_body(ref("RunReviewRequest"), REVIEW_PUT_EXAMPLE),
                  description="Left-out verdict/status/note take their defaults (status from the verdict); "
                              "left-out correctedOutput/corrections stay. `corrections` replaces the set. "
                              "If-Match: 412 with the current review when stale. Needs the reviewer role.",
                  also=REVIEW_STALE),
        "patch": op(REVIEWS_020, "Close (default), close as won't fix, or reopen", 200, ref("RunReviewDetail"),
                    params=[RUN_ID], body=json_body(ref("RunReviewCloseRequest"), {"closedNote": "fixed in v4"}),
                    description="404 when the run has no review. If-Match as for PUT.", also=REVIEW_STALE),
        "delete": op(REVIEWS_020, "Delete the review, its corrections and corrected files", 200,
                     ref("RunReviewDetail"), params=[RUN_ID], description="If-Match as for PUT.",
                     also=REVIEW_STALE),
    },
    "/api/v1/runs/{run_id}/reviews/expected": {
        "get": op(REVIEWS_020, "Corrected files", 200, ref("RunReviewExpectedArtifacts"), params=[RUN_ID]),
        "post": op(REVIEWS_020, "Copy an output file to expected, or upload one", 201, ref("FileName"),
                   params=[RUN_ID], body=EXPECTED_FILE_BODY, description="As POST /runs/{run_id}/feedback/expected.",
                   also=STORES),
    },
    "/api/v1/runs/{run_id}/reviews/expected/{filename}": expected_file_ops(REVIEWS_020, "a corrected file"),
    "/api/v1/runs/{run_id}/steps": {"get": op(RUNS, "The run's recorded steps, in order", 200,
                                              ref("RunStepsResponse"), params=[RUN_ID])},
    "/api/v1/runs/{run_id}/steps/{step_id}": {"get": op(RUNS, "One recorded step (its id: its position)", 200,
                                                        ref("RunStep"), params=[RUN_ID, p("step_id", "Step execution id.")])},
    "/api/v1/runs/{run_id}/trace": {"get": op(RUNS, "The run's trace events, oldest first", 200,
                                              ref("RunTraceResponse"), params=[RUN_ID])},
    "/api/v1/runs/{run_id}/events": {"get": op(RUNS, "The run's events (its lifecycle, as in the trace)", 200,
                                               ref("RunTraceResponse"), params=[RUN_ID])},
    "/api/v1/runs/{run_id}/usage": {"get": op(RUNS, "The run's usage (as in expand=usage; null when none was recorded)",
                                              200, null(ref("RunUsage")),
                                              params=[RUN_ID])},
    "/api/v1/runs/{run_id}/rerun": {"post": op(RUNS, "Re-run: not supported", 403, None, params=[RUN_ID],
                                               description="Loupe records runs and never executes them; "
                                                           "answers 403 with code not_supported.")},
}
