"""Human review tasks, as SDK 0.20.93's `human_reviews` resource calls them
(docs/human-review.md): GET /v1/human-reviews, GET/PUT/POST /v1/human-reviews/{taskId}/...,
and the review policy of an automation (ops). The writes are humanreview.services; this module
only reads the wire and answers."""

from django.http import FileResponse, HttpRequest, HttpResponse

from accounts.roles import LEAD, OPS, REVIEWER
from api.automations import get_automation
from api.runs import time_param
from api.support import ApiError, Query, api_response, api_view, bad_request, issue, json_body, not_found, reject_unknown
from humanreview.models import ReviewPolicy
from humanreview.queries import BadCursor, decode_cursor, encode_cursor, pending_tasks, task_with_decisions
from humanreview.services import TaskError, policy_set, task_approve, task_confirm_field, task_reject
from humanreview.wire import task_detail, task_item
from runs.models import RunFile

DECIDERS = (REVIEWER, LEAD, OPS)
LIST_PARAMS = ("automationId", "automation_id", "waitingBefore", "waiting_before", "cursor", "limit")


def _api_error(exc: TaskError) -> ApiError:
    return ApiError(exc.status, issues=[issue(f, m, exc.code) for f, m in exc.issues],
                    extra={"task": exc.task} if exc.task is not None else None)


@api_view(params=LIST_PARAMS)
def tasks_list(request: HttpRequest):
    """Pending tasks, oldest first, a page at a time (`nextCursor`)."""
    query = Query(request.GET, {"automation_id": "automationId", "waiting_before": "waitingBefore"})
    limit = query.number("limit", default=50, minimum=1, maximum=200)
    automation_id = None
    if query.get("automationId") is not None:
        automation_id = get_automation(query.get("automationId")).pk
    after = None
    if query.get("cursor") is not None:
        try:
            after = decode_cursor(query.get("cursor"))
        except BadCursor as exc:
            raise bad_request("cursor", str(exc)) from None
    tasks, more = pending_tasks(automation_id=automation_id, waiting_before=time_param(query, "waitingBefore"),
                                after=after, limit=limit)
    return api_response(request, {"tasks": [task_item(t) for t in tasks],
                                  "nextCursor": encode_cursor(tasks[-1]) if more else None})


def _found(task_id: str):
    found = task_with_decisions(task_id)
    if found is None:
        raise not_found(f"No human review task {task_id!r}.", field="taskId")
    return found


@api_view()
def task_get(request: HttpRequest, task_id: str):
    task, decisions = _found(task_id)
    return api_response(request, {"task": task_detail(task, decisions, task.run.input)})


@api_view(roles=DECIDERS, action="decide human review tasks")
def task_field_put(request: HttpRequest, task_id: str):
    """Confirm (or edit) one field: {expectedVersion, idempotencyKey, path, value, confirmed?}."""
    body = json_body(request)
    reject_unknown(body, {"expectedVersion", "idempotencyKey", "path", "value", "confirmed"})
    for name in ("expectedVersion", "idempotencyKey", "path"):
        if name not in body:
            raise bad_request(name, "Required.")
    if "value" not in body:
        raise bad_request("value", "Required: the field's value (a string, number, true/false or null).")
    return _decided(request, lambda: task_confirm_field(
        task_id=task_id, user=request.user, path=body["path"], value=body["value"], confirmed=body.get("confirmed", True),
        expected_version=body["expectedVersion"], idempotency_key=body["idempotencyKey"]))


def _decided(request: HttpRequest, decide) -> HttpResponse:
    """A decision's answer: {"task": …} from `decide()` (a humanreview.services write), or its
    TaskError as the API's error (400 naming the field, 409 with the current task)."""
    try:
        task = decide()
    except TaskError as exc:
        raise _api_error(exc) from None
    return api_response(request, {"task": task})


@api_view(roles=DECIDERS, action="decide human review tasks")
def task_approve_post(request: HttpRequest, task_id: str):
    body = json_body(request)
    reject_unknown(body, {"expectedVersion"})
    return _decided(request, lambda: task_approve(task_id=task_id, user=request.user,
                                                  expected_version=body.get("expectedVersion")))


@api_view(roles=DECIDERS, action="decide human review tasks")
def task_reject_post(request: HttpRequest, task_id: str):
    body = json_body(request)
    reject_unknown(body, {"expectedVersion", "idempotencyKey", "reason"})
    for name in ("expectedVersion", "idempotencyKey", "reason"):
        if name not in body:
            raise bad_request(name, "Required.")
    return _decided(request, lambda: task_reject(task_id=task_id, user=request.user,
                                                 expected_version=body["expectedVersion"], reason=body["reason"],
                                                 idempotency_key=body["idempotencyKey"]))


@api_view()
def task_file_content(request: HttpRequest, task_id: str, file_id: str):
    """The bytes of one of the task's files, 200 (the SDK does not follow redirects)."""
    task, _ = _found(task_id)
    entry = next((f for f in task.files if str(f["fileId"]) == file_id), None)
    run_file = RunFile.objects.filter(pk=entry["fileId"], run_id=task.run_id).first() if entry else None
    if run_file is None:
        raise not_found(f"The task has no file {file_id!r}.", field="fileId")
    return FileResponse(run_file.file.open("rb"), as_attachment=True, filename=run_file.name.rsplit("/", 1)[-1],
                        content_type=run_file.content_type or "application/octet-stream")


# --- the review policy (ops) -----------------------------------------------------------------

POLICY_FIELDS = {"confidenceThreshold": "confidence_threshold", "fieldRules": "field_rules",
                 "unmatched": "unmatched", "missingConfidence": "missing_confidence",
                 "deadlineMinutes": "deadline_minutes", "warningMinutes": "warning_minutes"}


def policy_to_dict(policy: ReviewPolicy) -> dict:
    return {wire: getattr(policy, attr) for wire, attr in POLICY_FIELDS.items()}


@api_view()
def policy_get(request: HttpRequest, automation_id: str):
    automation = get_automation(automation_id)
    policy = ReviewPolicy.objects.filter(automation=automation).first() or ReviewPolicy(automation=automation)
    return api_response(request, {"policy": policy_to_dict(policy)})


@api_view(roles=(OPS,), action="set the review policy")
def policy_put(request: HttpRequest, automation_id: str):
    """Set (part of) the policy; `deadlineMinutes: null` removes the deadline."""
    automation = get_automation(automation_id)
    body = json_body(request)
    reject_unknown(body, set(POLICY_FIELDS))
    values = {attr: body.get(wire) for wire, attr in POLICY_FIELDS.items()}
    try:
        policy = policy_set(automation=automation, user=request.user,
                            clear_deadline="deadlineMinutes" in body and body["deadlineMinutes"] is None, **values)
    except TaskError as exc:
        raise _api_error(exc) from None
    return api_response(request, {"policy": policy_to_dict(policy)})
