"""The OpenAPI 3.1 document of /api/v1/ and the human-readable page built from it.

One source: ENDPOINTS below lists every path and method the URL conf serves (a test checks
both directions against api/urls.py), and the docs page renders the same list."""

import json

from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import render

from api import openapi_double
from api.support import api_response, api_view

S, N, B = {"type": "string"}, {"type": "number"}, {"type": "boolean"}
INT, OBJ = {"type": "integer"}, {"type": "object"}
ANY: dict = {}


def null(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def arr(items: dict) -> dict:
    return {"type": "array", "items": items}


def obj(required: dict, optional: dict | None = None) -> dict:
    return {"type": "object", "properties": {**required, **(optional or {})}, "required": list(required)}


DSR_STATUSES = ["draft", "open", "paused", "closed", "cancelled"]
DSR_EVENT_ACTIONS = ["approved", "commented", "created", "edited", "field-decision", "file-decision", "file-edited",
                     "removed", "reopened"]
STATUSES = ["created", "pending", "running", "waiting", "finalizing", "completed", "failed", "cancelled", "rejected"]
RUN_FILE = obj({"name": S})
FEEDBACK_KEYS = ("rating", "status", "createdAt", "updatedAt", "createdBy", "createdByEmail", "resolvedAt",
                 "resolvedBy", "resolvedByEmail", "resolvedBySessionId", "promotedExampleName")
HUMAN_REVIEW_SUMMARY = obj({"taskId": S, "sourceKind": {"type": "string", "enum": ["workflow_step", "agent_tool"]},
                            "sourceLabel": S, "status": {"const": "pending"}, "requiredCount": INT,
                            "confirmedCount": INT, "version": INT})
EXECUTION = obj({"status": {"type": "string", "enum": STATUSES}, "schemaValid": null(B), "batchId": null(S),
                 "retry": obj({"number": N, "previousRunId": null(S), "nextRun": null(obj({"id": S, "status": S}))})},
                {"humanReview": null(HUMAN_REVIEW_SUMMARY)})
SCALAR = {"type": ["string", "number", "boolean", "null"]}
REASONS = ["all", "always", "excluded", "explicit", "low_confidence", "missing_confidence", "missing_confidence_skip",
           "never", "reviewer_edit", "threshold_met", "unmatched"]
TASK_ITEM_KEYS = {"id": S, "executionId": S, "automationId": S, "automationName": S,
                  "sourceKind": {"type": "string", "enum": ["workflow_step", "agent_tool"]}, "sourceLabel": S,
                  "status": {"type": "string", "enum": ["pending", "approved", "rejected", "cancelled"]},
                  "requiredCount": INT, "confirmedCount": INT, "version": INT, "createdAt": S, "updatedAt": S}

SCHEMAS = {
    "HumanReviewTaskItem": obj(TASK_ITEM_KEYS),
    "HumanReviewTaskDetail": obj({
        **TASK_ITEM_KEYS,
        "files": arr(obj({"fileId": S, "filename": S, "artifactPath": S},
                         {"mimeType": S, "size": INT, "role": {"type": "string", "enum": ["run_input", "attachment"]}})),
        "input": null(obj({"status": S}, {"data": ANY})), "machineData": ANY, "draftData": ANY, "schema": null(OBJ),
        "fieldMetadata": OBJ, "requiredPaths": arr(S),
        "selectionReasons": {"type": "object", "additionalProperties": {"type": "string", "enum": REASONS}},
        "decisions": arr(obj({"id": S, "path": S, "originalValue": SCALAR, "currentValue": SCALAR, "required": B,
                              "reason": {"type": "string", "enum": REASONS}, "confirmedBy": null(S),
                              "confirmedAt": null(S), "version": INT})),
        "instructions": null(S), "completedBy": null(S), "completedAt": null(S), "outcomeReason": null(S)}),
    "HumanReviewPolicy": obj({"confidenceThreshold": N, "fieldRules": OBJ,
                              "unmatched": {"type": "string", "enum": ["skip", "require"]},
                              "missingConfidence": {"type": "string", "enum": ["skip", "require"]},
                              "deadlineMinutes": null(INT), "warningMinutes": INT}),
    "ApiErrorIssue": obj({"field": S, "message": S, "code": S,
                          "severity": {"type": "string", "enum": ["error", "warning"]}}),
    "ApiErrorEnvelope": obj({"issues": arr(ref("ApiErrorIssue")), "requestId": S}, {"hint": S, "docsUrl": S}),
    "AuthCheckResponse": obj({"ok": B, "tenantId": S, "tenantSlug": S, "tenantName": null(S), "userId": null(S),
                              "keyId": S, "email": null(S), "name": null(S), "scope": arr(S),
                              "wildcardGranted": B}),
    "RunFile": RUN_FILE,
    "PassRateEstimate": obj({"automationId": S, "from": S, "to": S, "version": null(S), "estimate": null(N),
                             "interval": null(obj({"low": N, "high": N, "confidence": N})), "method": S,
                             "reviewed": INT, "sampled": INT, "passed": INT, "effectiveN": null(N),
                             "unreviewedShare": null(N)}),
    "SamplingStratum": obj({"name": S, "when": OBJ, "rate": N}, {"description": S}),
    "Sampling": obj({"automationId": S, "version": INT, "defaultRate": N, "strata": arr(ref("SamplingStratum")),
                     "stepDownThreshold": N, "doubleReviewShare": N, "history": arr(obj({
                         "effectiveAt": S, "scheduled": B, "oldDefaultRate": null(N), "defaultRate": N,
                         "strata": null(arr(ref("SamplingStratum"))), "stepDownThreshold": null(N),
                         "doubleReviewShare": null(N), "changedBy": null(S), "reason": S}))}),
    "SamplingChange": obj({"reason": S}, {"defaultRate": N, "strata": arr(ref("SamplingStratum")),
                                          "stepDownThreshold": N, "doubleReviewShare": N, "effectiveAt": S,
                                          "version": INT}),
    "RunTiming": obj({"createdAt": S, "startedAt": null(S), "completedAt": null(S), "cancelRequestedAt": null(S),
                      "durationMs": null(N)}),
    "RunSource": obj({"id": S, "name": null(S), "version": null(S)},
                     {"versionId": null(S), "slug": null(S), "model": null(S), "git": null(OBJ),
                      "implementationAvailable": B, "automationFound": B, "currentVersion": null(S)}),
    "RunTrigger": obj({"type": null(S), "by": null(obj({"id": S, "name": null(S), "email": S}))}),
    "RunExecutionMeta": EXECUTION,
    "RunEval": obj({"example": null(S), "score": null(N), "passed": null(B)}, {"exampleId": null(S)}),
    "RunListItem": obj({"id": S, "type": {"type": "string", "enum": ["workflow", "agent"]}, "finished": B,
                        "timing": ref("RunTiming"), "source": ref("RunSource"), "trigger": ref("RunTrigger"),
                        "execution": ref("RunExecutionMeta")}, {"eval": ref("RunEval"), "error": null(S)}),
    "RunsListResponse": obj({"runs": arr(ref("RunListItem")), "nextCursor": null(S)}),
    "RunArtifact": obj({"name": S, "role": S, "path": S}, {"stepName": S, "contentType": null(S), "size": null(INT)}),
    "Run": {"allOf": [ref("RunListItem"), obj({}, {
        "output": null(ANY), "files": arr(ref("RunArtifact")),
        "input": obj({"args": ANY}, {"files": arr(RUN_FILE), "metadata": ANY}),
        "usage": null(obj({"tokens": obj({k: null(N) for k in ("input", "output", "cacheRead", "cacheWrite")}),
                           "creditsCharged": null(N), "durationMs": null(N)},
                          {"llmCallCount": N, "ocrPagesProcessed": N, "agentTurns": null(N)})),
        "debug": obj({"observability": ANY}, {"traceId": null(S)}),
    })], "description": "With expand=execution, `execution` also carries steps (workflow) or files (agent), "
                        "feedback, and expected {output, files}."},
    "RunFeedback": obj({**{k: null(S) for k in FEEDBACK_KEYS}, "body": S}),
    "RunFeedbackRequest": obj({}, {"body": null(S), "rating": null({"type": "string",
                                                                   "enum": ["pass", "fail", "partial"]}),
                                   "status": null({"type": "string", "enum": ["open", "resolved", "ignored"]}),
                                   "expected": ANY}),
    "RunFeedbackDetail": obj({"feedback": null(ref("RunFeedback")), "expected": ANY, "expectedFiles": arr(RUN_FILE)}),
    "RunExpectedArtifacts": obj({"expected": ANY, "files": arr(RUN_FILE)}),
    # The reviews generation (SDK 0.20, docs/api-reviews.md).
    "RunReviewCorrection": obj({"id": S, "kind": {"type": "string", "enum": ["field", "file"]}, "path": S,
                                "label": null(S), "note": S, "createdAt": S, "updatedAt": S},
                               {"originalValue": ANY, "correctedValue": ANY, "correctedArtifactPath": null(S)}),
    "RunReview": obj({"id": S, "verdict": null({"type": "string", "enum": ["correct", "incorrect"]}),
                      "status": {"type": "string", "enum": ["open", "closed", "wont_fix"]}, "note": S,
                      "reviewedBy": null(S), "reviewedByEmail": null(S), "reviewedAt": S, "closedBy": null(S),
                      "closedByEmail": null(S), "closedAt": null(S), "closedNote": null(S), "createdAt": S,
                      "updatedAt": S, "corrections": arr(ref("RunReviewCorrection"))},
                     {"correctedOutput": ANY, "loupeRating": null({"type": "string",
                                                                   "enum": ["pass", "fail", "partial"]}),
                      "version": INT}),
    "RunReviewDetail": obj({"review": null(ref("RunReview"))}),
    "RunReviewRequest": obj({}, {
        "verdict": null({"type": "string", "enum": ["correct", "incorrect"]}),
        "status": {"type": "string", "enum": ["open", "closed", "wont_fix"]}, "note": null(S),
        "correctedOutput": ANY,
        "corrections": arr(obj({"kind": {"type": "string", "enum": ["field", "file"]}, "path": S},
                               {"id": S, "label": null(S), "note": null(S), "originalValue": ANY,
                                "correctedValue": ANY, "correctedArtifactPath": null(S)}))}),
    "RunReviewCloseRequest": obj({}, {"status": {"type": "string", "enum": ["closed", "wont_fix", "open"]},
                                      "closedNote": null(S)}),
    "RunReviewSummary": obj({"verdict": null({"type": "string", "enum": ["correct", "incorrect"]}),
                             "status": {"type": "string", "enum": ["open", "closed", "wont_fix"]},
                             "hasNote": B, "correctionCount": INT}),
    "RunReviewExpectedArtifacts": obj({"files": arr(RUN_FILE)}),
    "RunStepsResponse": obj({"steps": arr(ANY), "total": INT}),
    "RunTraceResponse": obj({"events": arr(obj({}, {"type": S, "phase": S, "stepName": S, "status": S,
                                                   "startedAt": null(S), "completedAt": null(S),
                                                   "message": null(S)}))}),
    "RunReviewHealthResponse": obj({
        "timeRange": obj({"from": S, "to": S}),
        "granularity": obj({"bucket": {"type": "string", "enum": ["day", "week", "month"]}, "rollingWindow": INT,
                            "minRollingReviews": INT}),
        "summary": obj({"totalRuns": INT, "reviewedRuns": INT, "reviewCoverage": null(N), "correctReviews": INT,
                        "incorrectReviews": INT, "nitReviews": INT, "reviewedCorrectness": null(N),
                        "confidence": obj({"lower": null(N), "upper": null(N), "method": {"const": "wilson"}})}),
        "buckets": arr(obj({"start": S, "end": S, "totalRuns": INT, "reviewedRuns": INT, "reviewCoverage": null(N),
                            "correctReviews": INT, "incorrectReviews": INT, "nitReviews": INT,
                            "reviewedCorrectness": null(N)})),
        "rolling": arr(obj({"at": S, "reviewedRuns": INT, "correctReviews": INT, "reviewedCorrectness": N,
                            "confidenceLower": N, "confidenceUpper": N, "totalRunsInWindow": INT,
                            "reviewCoverage": N})),
    }),
    "FileName": obj({"name": S}),
    "PromoteRunResponse": obj({"automationId": S, "automationType": {"type": "string", "enum": ["workflow", "agent"]},
                               "exampleId": S, "name": null(S)}),
    "EvalResult": obj({"id": S, "runId": S, "evaluatorName": S, "evaluatorType": S, "createdAt": S,
                       "automationId": null(S), "label": null(S), "description": null(S), "error": null(S),
                       "score": null(N), "weight": null(N), "passThreshold": null(N), "passed": null(B),
                       "details": ANY}),
    "AutomationSummary": obj({"id": S, "type": {"type": "string", "enum": ["workflow", "agent"]}, "slug": S,
                              "name": null(S), "createdAt": S},
                             {"description": null(S), "status": S, "version": null(S),
                              "triggers": obj({"api": B, "email": B, "manual": B, "cron": B}),
                              "implementationAvailable": B, "updatedAt": S}),
    "AutomationDetail": {"allOf": [ref("AutomationSummary"), obj({}, {"inputSchema": null(OBJ),
                                                                     "outputSchema": null(OBJ)})]},
    "DatasetExample": obj({"id": S, "name": S, "automationId": S,
                           "automationType": {"type": "string", "enum": ["workflow", "agent"]},
                           "input": null(OBJ), "expected": ANY, "expectedFiles": arr(obj({"name": S}, {"url": S})),
                           "metadata": null(OBJ), "annotation": null(S), "rowOrder": null(N),
                           "overrides": null(OBJ), "latestRunId": null(S)}, {"createdAt": S, "updatedAt": null(S)}),
    "DatasetExampleMutation": obj({}, {"name": null(S), "input": null(OBJ), "expected": ANY, "metadata": null(OBJ),
                                       "annotation": null(S), "rowOrder": null(INT), "overrides": null(OBJ)}),
    "WebhookSubscription": obj({"id": S, "url": S, "description": null(S), "automationId": null(S),
                                "eventTypes": arr(S), "active": B, "pausedReason": null(S), "pausedAt": null(S),
                                "failedMessagesInARow": INT, "secretHint": S, "createdAt": S, "createdBy": null(S)},
                               {"secret": S}),
    "WebhookSubscriptionMutation": obj({}, {"url": S, "eventTypes": arr(S), "automationId": null(S),
                                            "description": null(S), "active": B}),
    "WebhookAttempt": obj({"number": INT, "startedAt": S, "durationMs": INT, "statusCode": null(INT),
                           "error": null(S), "succeeded": B, "response": null(S)}),
    "WebhookDelivery": obj({"id": S, "subscriptionId": S, "messageId": S, "eventType": S,
                            "status": {"type": "string", "enum": ["pending", "succeeded", "failed", "dead"]},
                            "attempts": INT, "nextAttemptAt": null(S), "lastStatusCode": null(INT),
                            "lastError": null(S), "createdAt": S, "finishedAt": null(S), "payload": OBJ},
                           {"attemptLog": arr(ref("WebhookAttempt"))}),
    "IngestResponse": obj({"created": arr(S), "updated": arr(S),
                           "rejected": arr(obj({"index": INT, "line": null(INT), "id": null(S), "field": S,
                                                "message": S}))}),
    # Dataset review requests (SDK 0.20, docs/dataset-reviews.md).
    "DatasetReviewFocusField": obj({"path": S}, {"reason": null(S)}),
    "DatasetReviewProgress": obj({k: INT for k in ("total", "pending", "approved", "edited", "removed",
                                                    "remaining")} | {"complete": B}),
    "DatasetReviewRequest": obj({"id": S, "automationId": S, "title": S, "instructions": null(S),
                                 "focusFields": arr(ref("DatasetReviewFocusField")), "ignoredFields": arr(S),
                                 "status": {"type": "string", "enum": DSR_STATUSES}, "exampleNames": arr(S),
                                 "progress": ref("DatasetReviewProgress"), "createdBy": null(S), "createdAt": S,
                                 "closedAt": null(S)}),
    "DatasetReviewInboxItem": {"allOf": [ref("DatasetReviewRequest"), obj({"automationName": S})]},
    "DatasetReviewDecision": obj({"decision": {"type": "string", "enum": ["approved", "removed"]},
                                  "reviewerId": S, "updatedAt": S}, {"comment": null(S)}),
    "DatasetReviewItem": obj({
        "id": S, "reviewId": S, "exampleName": S, "snapshotInputJson": null(OBJ), "snapshotExpectedJson": ANY,
        "snapshotManifest": obj({"expectedFiles": arr(obj({"name": S})), "metadata": null(OBJ)},
                                {"inputFileHashes": arr(obj({"path": S, "sha256": S}))}),
        "status": {"type": "string", "enum": ["pending", "approved", "edited", "removed"]},
        "currentExpectedJson": ANY,
        "fieldDecisions": {"type": "object", "additionalProperties": ref("DatasetReviewDecision")},
        "currentExpectedFiles": null(arr(obj({"path": S, "fileId": S, "filename": S, "origin": {
            "type": "string", "enum": ["snapshot", "corrected", "uploaded"]}}))),
        "fileDecisions": {"type": "object", "additionalProperties": ref("DatasetReviewDecision")},
        "inputDrifted": B, "updatedBy": null(S), "updatedAt": S}),
    "DatasetReviewEvent": obj({"id": S, "reviewId": S, "itemId": null(S), "actorUserId": null(S),
                               "action": {"type": "string", "enum": DSR_EVENT_ACTIONS}, "diffSummary": ANY,
                               "createdAt": S}),
    "DatasetReviewDetail": {"allOf": [ref("DatasetReviewRequest"), obj({"items": arr(ref("DatasetReviewItem"))},
                                                                       {"events": arr(ref("DatasetReviewEvent"))})]},
}


def page_of(item: str) -> dict:
    return obj({"data": arr(ref(item)), "total": INT, "limit": INT, "offset": INT})


def q(name: str, description: str, schema: dict = S, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


def p(name: str, description: str, schema: dict = S) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": schema}


RUN_ID = p("run_id", "Run id (percent-encoded).")
AUTOMATION_ID = p("automation_id", "Automation id, or the alias workflows.<slug> / agents.<slug>.")
EXAMPLE_ID = p("example_id", "Example id (or its name).")
FOLDER = p("folder", "expected or input.", {"type": "string", "enum": ["expected", "input"]})
FILE_PATH = p("path", "A path inside the folder; slashes may be sent raw or as %2F.")
DSR_ID = p("review_id", "Dataset review request id.")
DSREVIEWS = "Dataset review requests"
PAGE = [q("limit", "1-100, default 50.", INT), q("offset", "≥ 0, default 0.", INT)]
BOOL = {"type": "boolean"}

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


def json_body(schema: dict, example=None) -> dict:
    content = {"schema": schema}
    if example is not None:
        content["example"] = example
    return {"required": True, "content": {"application/json": content}}


def multipart(properties: dict, required: list[str]) -> dict:
    return {"required": True, "content": {"multipart/form-data": {
        "schema": {"type": "object", "properties": properties, "required": required}}}}


BINARY = {"type": "string", "format": "binary"}


def op(tag: str, summary: str, status: int, schema: dict | None, *, params=(), body=None, description="",
       example=None, content_type="application/json") -> dict:
    response: dict = {"description": summary}
    if schema is not None:
        response["content"] = {content_type: {"schema": schema}}
        if example is not None:
            response["content"][content_type]["example"] = example
    operation = {"tags": [tag], "summary": summary, "description": description, "parameters": list(params),
                 "responses": {str(status): response, **ERRORS}}
    if body:
        operation["requestBody"] = body
    return operation


ERRORS = {str(code): {"description": text, "content": {"application/json": {"schema": ref("ApiErrorEnvelope")}}}
          for code, text in ((400, "Invalid request; `issues` names the fields."), (401, "Missing or invalid key."),
                             (403, "The key's user lacks the role, or the operation is not supported."),
                             (404, "Not found."), (413, "Upload too large."),
                             (429, "Rate limited; see Retry-After."), (500, "Server error."))}
FEEDBACK_EXAMPLE = {"rating": "fail", "status": "open", "body": "Total is wrong", "expected": {"total": 1243.5}}
EXAMPLE_BODY = {"name": "invoice-42", "input": {"customer": "c-42"}, "expected": {"total": 1243.5}}
INGEST_EXAMPLE = {"id": "run_123", "automation": "workflows.extract-invoice", "status": "completed",
                  "input": {"customer": "c-42"}, "output": {"total": 1234.5},
                  "createdAt": "2026-11-01T12:00:00Z",
                  "files": [{"name": "out.csv", "role": "output", "text": "a,b\n1,2\n"}]}
RUNS, FEEDBACK, AUTOMATIONS, DATASET, META = "Runs", "Feedback", "Automations", "Dataset", "Meta"
REVIEWS = "Reviews (an earlier guess; use /reviews)"
REVIEWS_020 = "Reviews (SDK 0.20 generation)"
REVIEW_PUT_EXAMPLE = {"verdict": "incorrect", "note": "Total is wrong",
                      "corrections": [{"kind": "field", "path": "/total", "correctedValue": 1243.5,
                                       "note": "sum of the lines"}]}
RAW = {"type": "string", "format": "binary"}
HUMAN_REVIEWS = "Human review tasks"
TASK_ID = {"name": "task_id", "in": "path", "required": True, "description": "Task id.", "schema": S}
TASK = obj({"task": ref("HumanReviewTaskDetail")})

WEBHOOKS = "Webhooks"
SUBSCRIPTION_ID = p("subscription_id", "Webhook subscription id.")
SUBSCRIPTION_EXAMPLE = {"url": "https://hooks.example.com/loupe", "eventTypes": ["review.closed", "example.promoted"],
                        "automationId": "workflows.invoices", "description": "Our ticketing bridge"}

ENDPOINTS: dict[str, dict] = {
    "/api/v1/auth/check": {"get": op(META, "Who the key acts as", 200, ref("AuthCheckResponse"))},
    "/api/v1/openapi.json": {"get": op(META, "This OpenAPI document", 200, OBJ,
                                       description="Bearer key, or a signed-in browser session.")},
    "/api/v1/docs": {"get": op(META, "This reference as a web page", 200, S, content_type="text/html",
                               description="For signed-in users of the web app (session login, not a key).")},
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
        }}, example={"created": ["run_123"], "updated": [], "rejected": []})},
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
    "/api/v1/runs/{run_id}/artifacts": {"get": op(
        RUNS, "The run's files", 200, obj({"artifacts": arr(ref("RunArtifact"))}),
        params=[RUN_ID, q("zip", "1: answer an application/zip of the output files instead.")])},
    "/api/v1/runs/{run_id}/artifacts/{path}": {"get": op(
        RUNS, "Download one file", 200, RAW, content_type="application/octet-stream",
        params=[RUN_ID, p("path", "`path` as listed (<role>/<name>), or a bare file name.")])},
    "/api/v1/runs/{run_id}/promote": {"post": op(
        DATASET, "Promote the run to a dataset example (upsert by name)", 200, ref("PromoteRunResponse"),
        params=[RUN_ID], body=json_body(obj({}, {"name": S}), {"name": "invoice-42"}),
        description="Copies input, output, expected JSON and expected files. Needs the reviewer role.")},
    "/api/v1/runs/{run_id}/feedback": {
        "get": op(FEEDBACK, "The run's feedback", 200, ref("RunFeedbackDetail"), params=[RUN_ID]),
        "put": op(FEEDBACK, "Update feedback (partial merge; null clears)", 200, ref("RunFeedbackDetail"),
                  params=[RUN_ID], body=json_body(ref("RunFeedbackRequest"), FEEDBACK_EXAMPLE),
                  description="A left-out key is unchanged. Attributed to the key's user (audit trail, "
                              "via=api). Needs the reviewer role."),
        "delete": op(FEEDBACK, "Delete feedback, expected JSON and expected files", 200, ref("RunFeedbackDetail"),
                     params=[RUN_ID]),
    },
    "/api/v1/runs/{run_id}/feedback/expected": {
        "get": op(FEEDBACK, "Expected JSON and files", 200, ref("RunExpectedArtifacts"), params=[RUN_ID]),
        "post": op(FEEDBACK, "Copy an output file to expected, or upload one", 201, ref("FileName"), params=[RUN_ID],
                   body={"required": True, "content": {
                       "application/json": {"schema": obj({"outputFileName": S}, {"expectedName": S}),
                                            "example": {"outputFileName": "out.csv"}},
                       "multipart/form-data": {"schema": {"type": "object", "properties": {
                           "file": BINARY, "name": S}, "required": ["file"]}}}},
                   description="Dispatches on Content-Type. A file of the same name is replaced."),
    },
    "/api/v1/runs/{run_id}/feedback/expected/{filename}": {
        "get": op(FEEDBACK, "Download an expected file", 200, RAW, content_type="application/octet-stream",
                  params=[RUN_ID, p("filename", "Name or slash path as listed.")]),
        "patch": op(FEEDBACK, "Rename an expected file", 200, ref("FileName"),
                    params=[RUN_ID, p("filename", "Current name.")],
                    body=json_body(ref("FileName"), {"name": "b.csv"})),
        "delete": op(FEEDBACK, "Delete an expected file (204, also when already gone)", 204, None,
                     params=[RUN_ID, p("filename", "Name.")]),
    },
    "/api/v1/runs/{run_id}/reviews": {
        "get": op(REVIEWS_020, "The run's review", 200, ref("RunReviewDetail"), params=[RUN_ID],
                  description="ETag: the review's version."),
        "put": op(REVIEWS_020, "Create or replace the review", 200, ref("RunReviewDetail"), params=[RUN_ID],
                  body=json_body(ref("RunReviewRequest"), REVIEW_PUT_EXAMPLE),
                  description="Left-out verdict/status/note take their defaults (status from the verdict); "
                              "left-out correctedOutput/corrections stay. `corrections` replaces the set. "
                              "If-Match: 412 with the current review when stale. Needs the reviewer role."),
        "patch": op(REVIEWS_020, "Close (default), close as won't fix, or reopen", 200, ref("RunReviewDetail"),
                    params=[RUN_ID], body=json_body(ref("RunReviewCloseRequest"), {"closedNote": "fixed in v4"}),
                    description="404 when the run has no review. If-Match as for PUT."),
        "delete": op(REVIEWS_020, "Delete the review, its corrections and corrected files", 200,
                     ref("RunReviewDetail"), params=[RUN_ID]),
    },
    "/api/v1/runs/{run_id}/reviews/expected": {
        "get": op(REVIEWS_020, "Corrected files", 200, ref("RunReviewExpectedArtifacts"), params=[RUN_ID]),
        "post": op(REVIEWS_020, "Copy an output file to expected, or upload one", 201, ref("FileName"),
                   params=[RUN_ID], description="As POST /runs/{run_id}/feedback/expected."),
    },
    "/api/v1/runs/{run_id}/reviews/expected/{filename}": {
        "get": op(REVIEWS_020, "Download a corrected file", 200, RAW, content_type="application/octet-stream",
                  params=[RUN_ID, p("filename", "Name or slash path as listed.")]),
        "patch": op(REVIEWS_020, "Rename a corrected file", 200, ref("FileName"),
                    params=[RUN_ID, p("filename", "Current name.")],
                    body=json_body(ref("FileName"), {"name": "b.csv"})),
        "delete": op(REVIEWS_020, "Delete a corrected file (204, also when already gone)", 204, None,
                     params=[RUN_ID, p("filename", "Name.")]),
    },
    "/api/v1/runs/{run_id}/steps": {"get": op(RUNS, "The run's recorded steps, in order", 200,
                                              ref("RunStepsResponse"), params=[RUN_ID])},
    "/api/v1/runs/{run_id}/steps/{step_id}": {"get": op(RUNS, "One recorded step (its id: its position)", 200,
                                                        OBJ, params=[RUN_ID, p("step_id", "Step execution id.")])},
    "/api/v1/runs/{run_id}/trace": {"get": op(RUNS, "The run's trace events, oldest first", 200,
                                              ref("RunTraceResponse"), params=[RUN_ID])},
    "/api/v1/runs/{run_id}/events": {"get": op(RUNS, "The run's events (its lifecycle, as in the trace)", 200,
                                               ref("RunTraceResponse"), params=[RUN_ID])},
    "/api/v1/runs/{run_id}/usage": {"get": op(RUNS, "The run's usage (as in expand=usage)", 200, OBJ,
                                              params=[RUN_ID])},
    "/api/v1/runs/{run_id}/rerun": {"post": op(RUNS, "Re-run: not supported", 403, None, params=[RUN_ID],
                                               description="Loupe records runs and never executes them; "
                                                           "answers 403 with code not_supported.")},
    "/api/v1/automations/{automation_id}/reviews/health": {"get": op(
        REVIEWS_020, "Review coverage and correctness (Wilson interval), per bucket and rolling", 200,
        ref("RunReviewHealthResponse"), params=[
            AUTOMATION_ID, q("from", "Default 30 days before `to`."), q("to", "Default now."),
            q("bucket", "day / week / month."), q("rollingWindow", "Ranked reviews per window, default 100.", INT),
            q("minRollingReviews", "Default 1.", INT),
            *[q(n, "As on GET /runs.") for n in ("type", "status", "trigger", "triggeredBy", "sourceRef", "batchId",
                                                  "exampleId", "exampleIdContains", "completedAfter",
                                                  "completedBefore", "experiments")]],
        description="Totals from the daily run-count rollup; reviews grouped by run day (docs/api-reviews.md).")},
    "/api/v1/automations": {"get": op(AUTOMATIONS, "List automations", 200, page_of("AutomationSummary"), params=[
        q("search", "Substring of slug, name or description."), q("type", "workflow / agent."),
        q("folderId", "null: the root (Loupe has no folders, so every automation); any other id: none."),
        *PAGE])},
    "/api/v1/automations/{automation_id}": {"get": op(AUTOMATIONS, "One automation", 200,
                                                      ref("AutomationDetail"), params=[AUTOMATION_ID])},
    "/api/v1/automations/{automation_id}/estimate": {"get": op(
        AUTOMATIONS, "Weighted pass-rate estimate (the number the sampling page shows)", 200,
        ref("PassRateEstimate"), params=[
            AUTOMATION_ID, q("from", "Runs created at or after: ISO date-time, date, or now()-7d. Default: `to` - 30 days."),
            q("to", "Runs created before. Default: now."), q("version", "Only runs of this version.")],
        description="Each reviewed sampled run weighted by 1 / its inclusion rate (the rate of its stratum and "
                    "rate period when it was recorded; Hajek estimator); 95 % Clopper-Pearson interval on a "
                    "conservative effective sample size, widened by the largest weight. "
                    "estimate and interval are null without reviewed runs. docs/estimates.md in the repository "
                    "explains the method.")},
    "/api/v1/automations/{automation_id}/sampling": {
        "get": op(AUTOMATIONS, "Sampling: default rate, strata (sampling by risk), step-down threshold, history", 200,
                  ref("Sampling"), params=[AUTOMATION_ID],
                  description="Rates and the threshold in percent (0-100). ETag: the sampling version."),
        "put": op(AUTOMATIONS, "Change the sampling (the same service and history as the sampling page)", 200,
                  ref("Sampling"), params=[AUTOMATION_ID],
                  body=json_body(ref("SamplingChange"), {
                      "defaultRate": 5, "reason": "failures concentrate in low scores",
                      "strata": [{"name": "judge failed", "when": {"kind": "score", "evaluator": "judge",
                                                                   "failed": True}, "rate": 100}]}),
                  description="Any of defaultRate, strata (the whole ordered list; [] removes them), "
                              "stepDownThreshold and doubleReviewShare, with a reason; effectiveAt now (default) or later, never in "
                              "the past nor before a change already scheduled. Conditions: score (failed / "
                              "below), new_version (days), tag, low_confidence (below / level), json (source, "
                              "path, op, value); docs/rules.md in the repository. A bad field is a 400 naming "
                              "it and nothing is saved. If-Match (or version): 412 with the current settings "
                              "when stale. Needs the ops role."),
    },
    "/api/v1/automations/{automation_id}/examples": {
        "get": op(DATASET, "List examples", 200, page_of("DatasetExample"), params=[AUTOMATION_ID, *PAGE]),
        "post": op(DATASET, "Create an example", 201, ref("DatasetExample"), params=[AUTOMATION_ID],
                   body=json_body(ref("DatasetExampleMutation"), EXAMPLE_BODY),
                   description="Without a name, one is derived from the body; repeating the same create "
                               "returns the same example. Needs reviewer or lead."),
    },
    "/api/v1/automations/{automation_id}/examples/{example_id}": {
        "get": op(DATASET, "One example", 200, ref("DatasetExample"), params=[AUTOMATION_ID, EXAMPLE_ID]),
        "patch": op(DATASET, "Update an example (partial; null clears)", 200, ref("DatasetExample"),
                    params=[AUTOMATION_ID, EXAMPLE_ID], body=json_body(ref("DatasetExampleMutation"),
                                                                      {"annotation": "Tricky VAT line"})),
        "delete": op(DATASET, "Delete an example (answers it)", 200, ref("DatasetExample"),
                     params=[AUTOMATION_ID, EXAMPLE_ID]),
    },
    "/api/v1/automations/{automation_id}/examples/{example_id}/run": {"post": op(
        DATASET, "Run an example: not supported", 403, None, params=[AUTOMATION_ID, EXAMPLE_ID],
        description="Loupe does not execute automations: 403 with code not_supported. Run it where the "
                    "automation runs and record the run with exampleId set.")},
    "/api/v1/automations/{automation_id}/examples/{example_id}/{folder}": {
        "get": op(DATASET, "List an example's files", 200, obj({"files": arr(S)}),
                  params=[AUTOMATION_ID, EXAMPLE_ID, FOLDER]),
        "post": op(DATASET, "Upload files (one or more parts named file)", 201, obj({"uploaded": arr(S)}),
                   params=[AUTOMATION_ID, EXAMPLE_ID, FOLDER],
                   body=multipart({"file": arr(BINARY)}, ["file"])),
    },
    "/api/v1/automations/{automation_id}/examples/{example_id}/{folder}/{path}": {
        "get": op(DATASET, "Download an example file", 200, RAW, content_type="application/octet-stream",
                  params=[AUTOMATION_ID, EXAMPLE_ID, FOLDER, FILE_PATH]),
        "patch": op(DATASET, "Rename (new basename, same parent folder)", 200,
                    obj({"ok": B, "filename": S, "path": S}), params=[AUTOMATION_ID, EXAMPLE_ID, FOLDER, FILE_PATH],
                    body=json_body(obj({"newFilename": S}), {"newFilename": "result.pdf"})),
        "delete": op(DATASET, "Delete an example file (200, also when already gone)", 200, OBJ,
                     params=[AUTOMATION_ID, EXAMPLE_ID, FOLDER, FILE_PATH]),
    },
    "/api/v1/automations/{automation_id}/dataset/export": {"get": op(
        DATASET, "Export the dataset as a ZIP", 200, RAW, content_type="application/zip",
        params=[AUTOMATION_ID, q("exampleIds", "Comma list of example ids; all when left out.")],
        description="examples/<name>/input.json, input/…, expected.json, expected/…, meta.json.")},
    "/api/v1/automations/{automation_id}/dataset/import": {"post": op(
        DATASET, "Import a dataset ZIP", 200, {"oneOf": [
            obj({"mode": {"const": "append"}, "created": INT, "expectedSet": INT, "skipped": INT, "issues": arr(ANY)}),
            obj({"mode": {"const": "replace"}, "created": INT, "expectedSet": INT, "deleted": INT,
                 "filesDeleted": INT})]},
        params=[AUTOMATION_ID], body=multipart({"file": BINARY, "mode": {"type": "string",
                                                                          "enum": ["append", "replace"]}}, ["file"]),
        description="append skips names already present; replace empties the dataset first. Legacy layouts "
                    "(manifest.json, input/arguments.json …) are rejected with 400. Needs reviewer or lead.")},
    "/api/v1/human-reviews": {"get": op(
        HUMAN_REVIEWS, "Pending tasks, oldest first", 200,
        obj({"tasks": arr(ref("HumanReviewTaskItem")), "nextCursor": null(S)}),
        params=[{"name": "automationId", "in": "query", "required": False, "schema": S,
                 "description": "Only this automation's tasks (id or workflows.<slug>)."},
                {"name": "waitingBefore", "in": "query", "required": False, "schema": S,
                 "description": "Only tasks opened before this ISO date-time (or now()-1h)."},
                {"name": "cursor", "in": "query", "required": False, "schema": S, "description": "nextCursor."},
                {"name": "limit", "in": "query", "required": False, "schema": INT, "description": "1-200, default 50."}],
        description="Runs recorded with status waiting and a humanReview object open a task (docs/human-review.md).")},
    "/api/v1/human-reviews/{task_id}": {"get": op(HUMAN_REVIEWS, "One task with its data and decisions", 200, TASK,
                                                  params=[TASK_ID])},
    "/api/v1/human-reviews/{task_id}/fields": {"put": op(
        HUMAN_REVIEWS, "Confirm or edit one field", 200, TASK, params=[TASK_ID],
        body=json_body(obj({"expectedVersion": INT, "idempotencyKey": S, "path": S, "value": SCALAR},
                           {"confirmed": B}),
                       {"expectedVersion": 1, "idempotencyKey": "c-1", "path": "/total", "value": 1243.5}),
        description="path: a JSON Pointer to a scalar of machineData. The same idempotencyKey with the same body "
                    "answers the stored answer again; with another body 400. A stale expectedVersion is 409 "
                    "version_conflict with the current task in `task`; a decided task 409 task_decided.")},
    "/api/v1/human-reviews/{task_id}/approve": {"post": op(
        HUMAN_REVIEWS, "Approve: the run resumes (status running)", 200, TASK, params=[TASK_ID],
        body=json_body(obj({"expectedVersion": INT}), {"expectedVersion": 4}),
        description="400 with one issue per required path not confirmed yet; 409 as for fields.")},
    "/api/v1/human-reviews/{task_id}/reject": {"post": op(
        HUMAN_REVIEWS, "Reject: the run fails with the reason as its error", 200, TASK, params=[TASK_ID],
        body=json_body(obj({"expectedVersion": INT, "idempotencyKey": S, "reason": S}),
                       {"expectedVersion": 4, "idempotencyKey": "r-1", "reason": "Not our invoice"}))},
    "/api/v1/human-reviews/{task_id}/files/{file_id}/content": {"get": op(
        HUMAN_REVIEWS, "Download one of the task's files (200, the bytes)", 200, RAW,
        content_type="application/octet-stream",
        params=[TASK_ID, {"name": "file_id", "in": "path", "required": True, "description": "fileId.", "schema": S}])},
    "/api/v1/automations/{automation_id}/review-policy": {
        "get": op(HUMAN_REVIEWS, "The automation's review policy", 200, obj({"policy": ref("HumanReviewPolicy")}),
                  params=[AUTOMATION_ID]),
        "put": op(HUMAN_REVIEWS, "Set (part of) the review policy (ops)", 200,
                  obj({"policy": ref("HumanReviewPolicy")}), params=[AUTOMATION_ID],
                  body=json_body(OBJ, {"confidenceThreshold": 0.8, "fieldRules": {"/iban": "always"},
                                       "deadlineMinutes": 240, "warningMinutes": 60}),
                  description="Picks requiredPaths for paused runs whose record names none; applies to tasks "
                              "opened from then on. deadlineMinutes null removes the deadline."),
    },
    "/api/v1/webhooks/event-types": {"get": op(WEBHOOKS, "The event types a subscription can list", 200,
                                               obj({"data": arr(S)}), description="Needs ops.")},
    "/api/v1/webhooks/subscriptions": {
        "get": op(WEBHOOKS, "List webhook subscriptions", 200, page_of("WebhookSubscription"), params=PAGE,
                  description="Needs ops. The secret is never listed."),
        "post": op(WEBHOOKS, "Create a webhook subscription", 201, ref("WebhookSubscription"),
                   body=json_body(ref("WebhookSubscriptionMutation"), SUBSCRIPTION_EXAMPLE),
                   description="Needs ops. The answer carries the signing `secret` (whsec_…) this once. An unknown "
                               "event type, an http:// URL in production, or a URL resolving to a private or "
                               "loopback address (unless LOUPE_WEBHOOKS_ALLOW_PRIVATE) is a 400 naming the field. "
                               "eventTypes empty: every type; automationId null: every automation."),
    },
    "/api/v1/webhooks/subscriptions/{subscription_id}": {
        "get": op(WEBHOOKS, "One webhook subscription", 200, ref("WebhookSubscription"), params=[SUBSCRIPTION_ID]),
        "patch": op(WEBHOOKS, "Change, pause (active: false) or resume a subscription", 200,
                    ref("WebhookSubscription"), params=[SUBSCRIPTION_ID],
                    body=json_body(ref("WebhookSubscriptionMutation"), {"active": False}),
                    description="Resuming sends the deliveries that waited while it was paused."),
        "delete": op(WEBHOOKS, "Delete a subscription with its delivery log", 204, None, params=[SUBSCRIPTION_ID]),
    },
    "/api/v1/webhooks/subscriptions/{subscription_id}/test": {"post": op(
        WEBHOOKS, "Send a test event (webhook.test)", 202, ref("WebhookDelivery"), params=[SUBSCRIPTION_ID],
        description="Queued for the worker (manage.py db_worker); follow it in the deliveries list.")},
    "/api/v1/webhooks/subscriptions/{subscription_id}/deliveries": {"get": op(
        WEBHOOKS, "The delivery log of a subscription, newest first", 200, page_of("WebhookDelivery"),
        params=[SUBSCRIPTION_ID, *PAGE, q("status", "pending / succeeded / failed / dead.")])},
    "/api/v1/webhooks/deliveries/{delivery_id}/resend": {"post": op(
        WEBHOOKS, "Send a delivery again", 202, ref("WebhookDelivery"),
        params=[p("delivery_id", "Delivery id.")],
        description="Pending again with a new retry window; the receiver sees the same webhook-id.")},
    "/api/v1/webhooks/eigenpal": {"post": op(
        WEBHOOKS, "Inbound platform webhook (proxy mode)", 200, obj({"ok": B, "duplicate": B}, {"refreshed": B}),
        body=json_body(OBJ), description="Signed by the platform (Standard Webhooks headers webhook-id, "
                                         "webhook-timestamp, webhook-signature; secret LOUPE_INBOUND_WEBHOOK_SECRET), "
                                         "not by an API key. A bad signature is a 401, a timestamp more than 5 minutes "
                                         "off a 400; a webhook-id seen before answers 200 with duplicate: true. "
                                         "404 while the secret is unset.")},
    "/api/v1/dataset-review-requests": {"get": op(
        DSREVIEWS, "Every dataset review request (the reviewers' inbox), newest first", 200,
        page_of("DatasetReviewInboxItem"), params=[q("status", "Comma list of request statuses."), *PAGE])},
    "/api/v1/automations/{automation_id}/dataset-review-requests": {
        "get": op(DSREVIEWS, "The automation's dataset review requests", 200, page_of("DatasetReviewRequest"),
                  params=[AUTOMATION_ID, q("status", "Comma list of request statuses."), *PAGE]),
        "post": op(DSREVIEWS, "Send examples for review (201, snapshots each example)", 201,
                   ref("DatasetReviewDetail"), params=[AUTOMATION_ID], body=json_body(obj(
                       {"title": S, "exampleNames": arr(S)},
                       {"instructions": null(S), "focusFields": arr(ref("DatasetReviewFocusField")),
                        "ignoredFields": arr(S), "status": {"type": "string", "enum": DSR_STATUSES[:3]},
                        "itemNotes": arr(obj({"exampleName": S}, {"comment": null(S), "fields": arr(
                            obj({"path": S, "comment": S}))}))})),
                   description="Needs the lead role. Unknown example names, an empty list or a dotted path that no "
                               "example's expected output has are a 400 naming the field; nothing is created."),
    },
    "/api/v1/automations/{automation_id}/dataset-review-requests/{review_id}": {
        "get": op(DSREVIEWS, "One request with its items", 200, ref("DatasetReviewDetail"),
                  params=[AUTOMATION_ID, DSR_ID]),
        "patch": op(DSREVIEWS, "Change a request (status lifecycle)", 200, ref("DatasetReviewDetail"),
                    params=[AUTOMATION_ID, DSR_ID], body=json_body(obj({}, {
                        "title": S, "instructions": null(S), "focusFields": arr(ref("DatasetReviewFocusField")),
                        "ignoredFields": arr(S), "status": {"type": "string", "enum": DSR_STATUSES}})),
                    description="closed and cancelled are frozen (409) and reopen only to open; a disallowed "
                                "status change is a 400. Closing writes nothing to the dataset."),
    },
    "/api/v1/automations/{automation_id}/dataset-review-requests/{review_id}/items": {"get": op(
        DSREVIEWS, "The request's items", 200, obj({"items": arr(ref("DatasetReviewItem"))}),
        params=[AUTOMATION_ID, DSR_ID, q("status", "Comma list: pending, approved, edited, removed.")])},
    "/api/v1/automations/{automation_id}/dataset-review-requests/{review_id}/items/{item_id}": {"patch": op(
        DSREVIEWS, "A reviewer's action on one item", 200, obj({"item": ref("DatasetReviewItem")}),
        params=[AUTOMATION_ID, DSR_ID, p("item_id", "Item id.")], body={"required": True, "content": {
            "application/json": {"schema": obj({"action": {"type": "string", "enum": [
                "approve", "comment", "edit", "field-decision", "file-decision", "remove", "reopen"]},
                "expectedUpdatedAt": S}, {"expected": ANY, "comment": null(S), "fieldPath": null(S),
                                          "filePath": null(S), "decision": null(S)})},
            "multipart/form-data": {"schema": {"type": "object", "properties": {
                "action": {"const": "edit-file"}, "expectedUpdatedAt": S, "file": BINARY, "filePath": S,
                "newPath": S, "comment": S}, "required": ["action", "expectedUpdatedAt", "file"]}}}},
        description="expectedUpdatedAt is the optimistic lock: a stale one is a 409 whose body carries the current "
                    "item. edit-file is multipart only (file ≤ 50 MB, exactly one of filePath / newPath).")},
    "/api/v1/automations/{automation_id}/dataset-review-requests/{review_id}/items/{item_id}/files/{path}": {
        "get": op(DSREVIEWS, "An item's input or expected file", 200, RAW, content_type="application/octet-stream",
                  params=[AUTOMATION_ID, DSR_ID, p("item_id", "Item id."), FILE_PATH,
                          q("kind", "input (default) or expected.")])},
    "/api/v1/automations/{automation_id}/dataset-review-requests/{review_id}/events": {"get": op(
        DSREVIEWS, "The request's timeline, oldest first", 200, obj({"events": arr(ref("DatasetReviewEvent"))}),
        params=[AUTOMATION_ID, DSR_ID])},
}

ENDPOINTS.update(openapi_double.PATHS)
SCHEMAS.update(openapi_double.SCHEMAS)


from api.openapi_calibration import PATHS as CALIBRATION_PATHS, SCHEMAS as CALIBRATION_SCHEMAS  # noqa: E402, I001

ENDPOINTS.update(CALIBRATION_PATHS)
SCHEMAS.update(CALIBRATION_SCHEMAS)


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Loupe API", "version": "1.0",
                 "description": "The review subset of the EigenPal API over Loupe's own data, in both "
                                "generations (feedback: SDK 0.9.1; reviews: SDK 0.20), plus run recording. Every "
                                "path is served under /api/v1/ and, identically, under /v1/ (docs/api-reviews.md). "
                                "Errors use the envelope {issues, requestId, hint?}."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}, "schemas": SCHEMAS},
        "tags": [{"name": t} for t in (META, RUNS, FEEDBACK, REVIEWS_020, REVIEWS, HUMAN_REVIEWS,
                                                 DATASET, AUTOMATIONS, WEBHOOKS)],
        "paths": ENDPOINTS,
    }


@api_view(session_ok=True)
def openapi_json(request: HttpRequest):
    return api_response(request, document())


def api_docs(request: HttpRequest):
    """The readable reference, for signed-in users (login is enforced globally)."""
    groups: dict[str, list] = {}
    for path, methods in ENDPOINTS.items():
        for method, operation in methods.items():
            groups.setdefault(operation["tags"][0], []).append({
                "method": method.upper(), "path": path, "op": operation,
                "anchor": f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", "").replace(".", "-"),
                "status": next(iter(operation["responses"])),
                "request_examples": [(ct, json.dumps(c["example"], indent=2)) for ct, c in
                                     operation.get("requestBody", {}).get("content", {}).items() if "example" in c],
                "response_examples": [(ct, json.dumps(c["example"], indent=2)) for response in
                                      operation["responses"].values() for ct, c in
                                      response.get("content", {}).items() if "example" in c],
            })
    order = [META, RUNS, FEEDBACK, REVIEWS_020, REVIEWS, HUMAN_REVIEWS, DATASET, DSREVIEWS, AUTOMATIONS, WEBHOOKS]
    order += [tag for tag in groups if tag not in order]  # a group no one placed is still listed
    return render(request, "api/docs.html", {
        "nav": "api", "groups": [(t, groups[t]) for t in order if t in groups],
        "rate_limit": settings.LOUPE_API_RATE_LIMIT, "max_upload_mb": settings.LOUPE_MAX_UPLOAD_BYTES / 1024 / 1024,
        "base_url": request.build_absolute_uri("/").rstrip("/"),
    })
