"""The OpenAPI paths of the two kinds of review request: human review tasks (runs paused for a
person) and dataset review requests."""

from api import openapi_parts as parts
from api.openapi_parts import (
    ANY,
    ANY_TYPE,
    AUTOMATION_ID,
    BINARY,
    DSR_ID,
    DSREVIEWS,
    FILE_PATH,
    HUMAN_REVIEWS,
    INT,
    OBJ,
    PAGE,
    RAW,
    B,
    S,
    arr,
    json_body,
    null,
    obj,
    op,
    p,
    page_of,
    q,
    ref,
)
from api.openapi_schemas import DSR_STATUSES, SCALAR

TASK_ID = {"name": "task_id", "in": "path", "required": True, "description": "Task id.", "schema": S}
TASK = obj({"task": ref("HumanReviewTaskDetail")})
TASK_CONFLICT = {409: parts.error("version_conflict (a stale expectedVersion; the current task in `task`) or "
                                  "task_decided.", obj({}, {"task": ref("HumanReviewTaskDetail")}))}
ITEM_CONFLICT = {409: parts.error("A stale expectedUpdatedAt (the current item in `item`), or the request is closed "
                                  "or cancelled.", obj({}, {"item": ref("DatasetReviewItem")})), **parts.STORES}

PATHS: dict[str, dict] = {
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
                    "version_conflict with the current task in `task`; a decided task 409 task_decided.",
        also=TASK_CONFLICT)},
    "/api/v1/human-reviews/{task_id}/approve": {"post": op(
        HUMAN_REVIEWS, "Approve: the run resumes (status running)", 200, TASK, params=[TASK_ID],
        body=json_body(obj({"expectedVersion": INT}), {"expectedVersion": 4}),
        description="400 with one issue per required path not confirmed yet; 409 as for fields.",
        also=TASK_CONFLICT)},
    "/api/v1/human-reviews/{task_id}/reject": {"post": op(
        HUMAN_REVIEWS, "Reject: the run fails with the reason as its error", 200, TASK, params=[TASK_ID],
        body=json_body(obj({"expectedVersion": INT, "idempotencyKey": S, "reason": S}),
                       {"expectedVersion": 4, "idempotencyKey": "r-1", "reason": "Not our invoice"}),
        also=TASK_CONFLICT)},
    "/api/v1/human-reviews/{task_id}/files/{file_id}/content": {"get": op(
        HUMAN_REVIEWS, "Download one of the task's files (200, the bytes)", 200, RAW,
        content_type=ANY_TYPE,
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
                                "status change is a 400. Closing writes nothing to the dataset.",
                    also={409: parts.error("The request is closed or cancelled: frozen.")}),
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
                    "item. edit-file is multipart only (file ≤ 50 MB, exactly one of filePath / newPath).",
        also=ITEM_CONFLICT)},
    "/api/v1/automations/{automation_id}/dataset-review-requests/{review_id}/items/{item_id}/files/{path}": {
        "get": op(DSREVIEWS, "An item's input or expected file", 200, RAW, content_type=ANY_TYPE,
                  params=[AUTOMATION_ID, DSR_ID, p("item_id", "Item id."), FILE_PATH,
                          q("kind", "input (default) or expected.")])},
    "/api/v1/automations/{automation_id}/dataset-review-requests/{review_id}/events": {"get": op(
        DSREVIEWS, "The request's timeline, oldest first", 200, obj({"events": arr(ref("DatasetReviewEvent"))}),
        params=[AUTOMATION_ID, DSR_ID])},
}
