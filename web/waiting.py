"""The "Waiting" inbox and the task page: runs paused for a person (docs/human-review.md).

Local mode: the reads are humanreview.queries, the writes humanreview.services (the API's
services, so both keep the same rules). Opening a task claims its run (review.claims), as the
review pane does. A refused write (409, 400) re-renders the fields with what the reviewer typed
still in its field and, for a 409, what changed meanwhile."""

import uuid
from datetime import datetime

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import role_required
from accounts.roles import LEAD, OPS, REVIEWER, has_role
from backends import get_backend
from humanreview.models import Task
from humanreview.queries import BadCursor, decode_cursor, encode_cursor, pending_count, pending_tasks, task_with_decisions
from humanreview.services import TaskError, policy_for, task_approve, task_confirm_field, task_reject
from review.claims import claim_holders, claim_take
from review.jsondiff import EditError, coerce
from runs.pausing import resolve_pointer, scalar_leaves
from runs.sampling import bp_to_percent
from web.jsontree import render_tree
from web.panes import _Previews
from web.queue_list import ago

DECIDERS = (REVIEWER, LEAD, OPS)
PAGE = 50


def _deadline_state(deadline: datetime | None, warning_minutes: int | None, now: datetime) -> str:
    if deadline is None:
        return ""
    if deadline <= now:
        return "overdue"
    if warning_minutes is not None and (deadline - now).total_seconds() <= warning_minutes * 60:
        return "due-soon"
    return ""


@require_GET
def waiting(request: HttpRequest) -> HttpResponse:
    """Pending tasks oldest first, optionally of one automation (?automation=<id>), 50 a page.
    Four queries: session, user, the page of tasks with their automations and policies, claims."""
    now = timezone.now()
    automation = request.GET.get("automation") or None
    automation_id = int(automation) if automation and automation.isdigit() and len(automation) < 12 else None
    after = None
    if request.GET.get("after"):
        try:
            after = decode_cursor(request.GET["after"])
        except BadCursor:
            after = None
    tasks, more = pending_tasks(automation_id=automation_id, after=after, limit=PAGE, with_policy=True)
    holders = claim_holders([t.run_id for t in tasks], now) if tasks else {}
    rows = []
    for task in tasks:
        policy = getattr(task.automation, "review_policy", None)
        rows.append({"task": task, "age": ago(task.created_at, now), "holder": holders.get(task.run_id),
                     "deadline_state": _deadline_state(task.deadline_at, policy.warning_minutes if policy else 60,
                                                       now)})
    automations = {t.automation_id: t.automation for t in tasks}
    return render(request, "humanreview/waiting.html", {
        "nav": "waiting", "rows": rows, "automation_id": automation_id, "automations": automations.values(),
        "filtered": automations.get(automation_id) if automation_id else None,
        "next_cursor": encode_cursor(tasks[-1]) if more else None})


@require_GET
def waiting_count(request: HttpRequest) -> HttpResponse:
    """The nav item's count, loaded after the page (htmx) so no page pays for it."""
    count = pending_count()
    return HttpResponse(f'<span class="nav-count" title="Pending human review tasks">{count}</span>' if count else "")


def _task_or_404(task_id: str):
    found = task_with_decisions(task_id)
    if found is None:
        raise Http404("No such task.")
    return found


def _fields(task: Task, decisions, *, typed: dict | None = None, errors: dict | None = None,
            focus: str | None = None) -> dict:
    """The task's fields for the page: required first (in the order picked), then the fields the
    record gave metadata for, then every other scalar; `focus` the field to put the cursor in
    (by default the first required one not confirmed)."""
    typed, errors = typed or {}, errors or {}
    by_path = {d.path: d for d in decisions}
    meta = task.field_metadata or {}
    required = list(task.required_paths)
    others = [p for p in meta if p not in required]
    rest = [p for p in scalar_leaves(task.machine_data) if p not in required and p not in meta]
    open_required = [p for p in required if not (by_path.get(p) and by_path[p].confirmed)]
    if focus is None:
        focus = open_required[0] if open_required else None

    def row(path: str) -> dict:
        decision = by_path.get(path)
        value = resolve_pointer(task.draft_data, path, None)
        info = meta.get(path) or {}
        confidence = info.get("confidence")
        return {"path": path, "label": info.get("label") or path, "description": info.get("description") or "",
                "reason": task.selection_reasons.get(path, ""),
                "reason_text": task.selection_reasons.get(path, "").replace("_", " "), "confidence": confidence,
                "confidence_text": f"{confidence:.2f}" if isinstance(confidence, (int, float)) else (confidence or ""),
                "machine": resolve_pointer(task.machine_data, path, None), "value": value,
                "shown": typed[path] if path in typed else ("null" if value is None else
                                                            str(value).lower() if isinstance(value, bool) else value),
                "typed": path in typed, "error": errors.get(path, ""),
                "confirmed": bool(decision and decision.confirmed),
                "by": decision.confirmed_by.get_username() if decision and decision.confirmed_by_id else "",
                "edited": bool(decision and decision.current_value != decision.original_value),
                "focus": path == focus, "key": uuid.uuid4().hex}

    return {"approve_focus": focus is None and not typed,
            "required_rows": [row(p) for p in required], "other_rows": [row(p) for p in others],
            "rest_rows": [row(p) for p in rest], "remaining": len(open_required), "remaining_paths": open_required}


def _task_context(request, task: Task, decisions, **extra) -> dict:
    can_decide = has_role(request.user, *DECIDERS)
    fields = _fields(task, decisions, typed=extra.pop("typed", None), errors=extra.pop("errors", None),
                     focus=extra.pop("focus", None))
    policy = policy_for(task.automation_id)
    now = timezone.now()
    return {"nav": "waiting", "task": task, "decisions": decisions, "can_decide": can_decide,
            "deadline_state": _deadline_state(task.deadline_at, policy.warning_minutes, now),
            "age": ago(task.created_at, now), "reject_key": uuid.uuid4().hex, **fields, **extra}


@require_GET
def task_page(request: HttpRequest, task_id: str) -> HttpResponse:
    task, decisions = _task_or_404(task_id)
    hold = claim_take(run_id=task.run_id, user=request.user) if has_role(
        request.user, *DECIDERS) and task.pending else None
    return render(request, "humanreview/task.html", {**_task_context(request, task, decisions), "hold": hold,
                                                      **_source_context(task)})


def _fields_response(request, task_id: str, status: int = 200, **extra) -> HttpResponse:
    """The fields again after a write. htmx swaps only 2xx answers, so a refusal comes back as 200
    with the banner and the typed input (its status in X-Loupe-Status); without htmx, the whole
    page with the refusal's status, the input kept the same way."""
    task, decisions = _task_or_404(task_id)
    context = _task_context(request, task, decisions, **extra)
    if request.htmx:
        response = render(request, "humanreview/partials/fields.html", context)
        response["X-Loupe-Status"] = str(status)
        return response
    if status == 200:
        return redirect(reverse("waiting_task", args=[task_id]))
    return render(request, "humanreview/task.html", {**context, **_source_context(task)}, status=status)


def _source_context(task: Task) -> dict:
    """The run's source column, as the review pane shows it (review/partials/source.html)."""
    backend = get_backend()
    run = backend.run(task.run_id)
    return {"run": run, "input_files": _Previews(backend, run)(run.input_files), "input_tree": render_tree(run.input),
            "steps_reported": False, "rate_label": bp_to_percent(run.automation.sampling_rate_bp)}


def _changed_since(task: Task, decisions, version: int) -> list[dict]:
    """What others wrote after `version`: the decisions made since, newest last."""
    return [{"path": d.path, "value": d.current_value, "by": d.confirmed_by.get_username() if d.confirmed_by_id else "",
             "confirmed": d.confirmed} for d in decisions if d.version > version]


def _version(request) -> int:
    raw = request.POST.get("version", "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else -1


@require_POST
@role_required(*DECIDERS, action="decide human review tasks")
def task_confirm(request: HttpRequest, task_id: str) -> HttpResponse:
    """Confirm one field (Enter in its input): the value typed, read as the type the automation
    produced there; then the cursor moves to the next required field not confirmed."""
    task, decisions = _task_or_404(task_id)
    path, raw = request.POST.get("path", ""), request.POST.get("value", "")
    version = _version(request)
    try:
        value = coerce(raw, resolve_pointer(task.machine_data, path, None))
    except EditError as exc:
        return _fields_response(request, task_id, 400, typed={path: raw}, errors={path: str(exc)}, focus=path)
    try:
        task_confirm_field(task_id=task.pk, user=request.user, path=path, value=value, expected_version=version,
                           idempotency_key=request.POST.get("key") or None)
    except TaskError as exc:
        if exc.status == 409:
            fresh, fresh_decisions = _task_or_404(task_id)
            return _fields_response(request, task_id, 409, typed={path: raw}, focus=path,
                                    conflict={"message": exc.issues[0][1] if exc.issues else "",
                                              "changed": _changed_since(fresh, fresh_decisions, version),
                                              "decided": exc.code == "task_decided"})
        return _fields_response(request, task_id, 400, typed={path: raw}, focus=path,
                                errors={path: " ".join(m for _, m in exc.issues)})
    return _fields_response(request, task_id)


@require_POST
@role_required(*DECIDERS, action="decide human review tasks")
def task_decide(request: HttpRequest, task_id: str, decision: str) -> HttpResponse:
    """Approve (refused while required fields are open) or reject (a reason is required)."""
    task, _ = _task_or_404(task_id)
    version = _version(request)
    reason = request.POST.get("reason", "")
    try:
        if decision == "approve":
            task_approve(task_id=task.pk, user=request.user, expected_version=version)
        else:
            task_reject(task_id=task.pk, user=request.user, expected_version=version, reason=reason,
                        idempotency_key=request.POST.get("key") or None)
    except TaskError as exc:
        extra = {"decide_error": " ".join(m for _, m in exc.issues), "reason_typed": reason}
        if exc.status == 409:
            fresh, fresh_decisions = _task_or_404(task_id)
            extra["conflict"] = {"message": exc.issues[0][1] if exc.issues else "", "decided": exc.code == "task_decided",
                                 "changed": _changed_since(fresh, fresh_decisions, version)}
        return _fields_response(request, task_id, exc.status, **extra)
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("waiting") + f"?decided={task.pk}"
        return response
    return redirect(reverse("waiting") + f"?decided={task.pk}")
