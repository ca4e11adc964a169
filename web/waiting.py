"""The "Waiting" inbox and the task page: runs paused for a person (docs/human-review.md).

The tasks come from the configured backend's task source (backends/tasks.py): Loupe's own
tables, or in proxy mode the upstream's /v1/human-reviews. Opening a task claims its run
(review.claims, keyed by the run id in both modes), as the review pane does. A refused write
(409, 400) re-renders the fields with what the reviewer typed still in its field and, for a
409, what changed meanwhile; an upstream fault (5xx, timeout) leaves the fields as they are on
the page (htmx) and says so above them."""

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
from backends.base import BackendError, ChangeRefused
from backends.local_tasks import task_source
from backends.tasks import TaskConflict, TaskDetail, TaskRefused
from review.claims import claim_holders, claim_take
from runs.pausing import resolve_pointer, scalar_leaves
from runs.sampling import bp_to_percent
from web.backend_errors import backend_errors, backend_unavailable
from web.jsontree import render_tree
from web.panes import _Previews
from web.queue_list import ago
from web.waiting_rows import inbox_row

DECIDERS = (REVIEWER, LEAD, OPS)
PAGE = 50
DEFAULT_WARNING = 60


def _deadline_state(deadline: datetime | None, warning_minutes: int | None, now: datetime) -> str:
    if deadline is None:
        return ""
    if deadline <= now:
        return "overdue"
    if warning_minutes is not None and (deadline - now).total_seconds() <= warning_minutes * 60:
        return "due-soon"
    return ""


@require_GET
@backend_errors
def waiting(request: HttpRequest) -> HttpResponse:
    """Pending tasks oldest first, optionally of one automation (?automation=<id>), 50 a page.
    Locally four queries: session, user, the page of tasks with their automations and
    policies, claims; in proxy mode one upstream call and the claims."""
    now = timezone.now()
    automation_id = (request.GET.get("automation") or "")[:100] or None
    source = task_source()
    page = source.pending(automation_id=automation_id, cursor=request.GET.get("after") or None, limit=PAGE)
    rows = _rows(page.rows, now)
    automations = {t.automation_id: t.automation_name for t in page.rows}
    return render(request, "humanreview/waiting.html", {
        "nav": "waiting", "rows": rows, "automation_id": automation_id, "source": source.name,
        "automations": [{"pk": pk, "display_name": name} for pk, name in automations.items()],
        "filtered": automations.get(automation_id) if automation_id else None, "next_cursor": page.next_cursor})


def _rows(tasks: list, now) -> list:
    """The page's inbox rows: each task's age, claim holder and deadline state."""
    holders = claim_holders([t.run_id for t in tasks], now) if tasks else {}
    url = reverse("waiting")
    return [inbox_row(t, waiting_url=url, age=ago(t.created_at, now) if t.created_at else "",
                      holder=holders.get(t.run_id), state=_deadline_state(t.deadline_at, t.warning_minutes, now))
            for t in tasks]


@require_GET
def waiting_count(request: HttpRequest) -> HttpResponse:
    """The nav item's count, loaded after the page (htmx) so no page pays for it; in proxy mode
    one upstream page of 100 ("100+" past it), nothing when the upstream cannot answer."""
    try:
        count, more = task_source().pending_count()
    except BackendError:
        return HttpResponse("")
    label = f"{count}+" if more else str(count)
    return HttpResponse(f'<span class="nav-count" title="Pending human review tasks">{label}</span>' if count else "")


def _shown(value, path: str, typed: dict) -> str:
    if path in typed:
        return typed[path]
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else value


def _fields(task: TaskDetail, *, typed: dict | None = None, errors: dict | None = None,
            focus: str | None = None) -> dict:
    """The task's fields for the page: required first (in the order picked), then the fields the
    record gave metadata for, then every other scalar; `focus` the field to put the cursor in
    (by default the first required one not confirmed)."""
    typed, errors = typed or {}, errors or {}
    by_path = {d.path: d for d in task.decisions}
    meta = task.field_metadata
    required = list(task.required_paths)
    others = [p for p in meta if p not in required]
    rest = [p for p in scalar_leaves(task.machine_data) if p not in required and p not in meta]
    open_required = [p for p in required if not (by_path.get(p) and by_path[p].confirmed)]
    if focus is None:
        focus = open_required[0] if open_required else None

    def row(path: str) -> dict:
        decision = by_path.get(path)
        info = meta.get(path) if isinstance(meta.get(path), dict) else {}
        confidence = info.get("confidence")
        reason = str(task.selection_reasons.get(path) or "")
        return {"path": path, "label": info.get("label") or path, "description": info.get("description") or "",
                "reason": reason, "reason_text": reason.replace("_", " "), "confidence": confidence,
                "confidence_text": f"{confidence:.2f}" if isinstance(confidence, (int, float)) else (confidence or ""),
                "machine": resolve_pointer(task.machine_data, path, None),
                "shown": _shown(resolve_pointer(task.draft_data, path, None), path, typed),
                "typed": path in typed, "error": errors.get(path, ""),
                "confirmed": bool(decision and decision.confirmed), "by": decision.confirmed_by if decision else "",
                "edited": bool(decision and decision.current_value != decision.original_value),
                "focus": path == focus, "key": uuid.uuid4().hex}

    return {"approve_focus": focus is None and not typed,
            "required_rows": [row(p) for p in required], "other_rows": [row(p) for p in others],
            "rest_rows": [row(p) for p in rest], "remaining": len(open_required), "remaining_paths": open_required}


def _task_context(request, task: TaskDetail, **extra) -> dict:
    fields = _fields(task, typed=extra.pop("typed", None), errors=extra.pop("errors", None),
                     focus=extra.pop("focus", None))
    now = timezone.now()
    return {"nav": "waiting", "task": task, "can_decide": has_role(request.user, *DECIDERS),
            "deadline_state": _deadline_state(task.deadline_at, task.warning_minutes, now),
            "age": ago(task.created_at, now) if task.created_at else "", "reject_key": uuid.uuid4().hex,
            **fields, **extra}


def _source_context(task: TaskDetail) -> dict:
    """The run's source column, as the review pane shows it (review/partials/source.html)."""
    backend = get_backend()
    run = backend.run(task.run_id)
    return {"run": run, "input_files": _Previews(backend, run)(run.input_files), "input_tree": render_tree(run.input),
            "steps_reported": False, "rate_label": bp_to_percent(run.automation.sampling_rate_bp)}


@require_GET
@backend_errors
def task_of_run(request: HttpRequest, run_id: str) -> HttpResponse:
    """A paused run's task (the queue's and the pane's "Waiting for a person" link)."""
    task_id = task_source().task_for_run(run_id)
    if task_id is None:
        raise Http404("This run has no pending human review task.")
    return redirect(reverse("waiting_task", args=[task_id]))


@require_GET
@backend_errors
def task_page(request: HttpRequest, task_id: str) -> HttpResponse:
    task = task_source().get(task_id)
    hold = claim_take(run_id=task.run_id, user=request.user) if has_role(
        request.user, *DECIDERS) and task.pending else None
    return render(request, "humanreview/task.html", {**_task_context(request, task), "hold": hold,
                                                      **_source_context(task)})


def _fields_response(request, task: TaskDetail, status: int = 200, **extra) -> HttpResponse:
    """The fields again after a write. htmx swaps only 2xx answers, so a refusal comes back as 200
    with the banner and the typed input (its status in X-Loupe-Status); without htmx, the whole
    page with the refusal's status, the input kept the same way."""
    context = _task_context(request, task, **extra)
    if request.htmx:
        response = render(request, "humanreview/partials/fields.html", context)
        response["X-Loupe-Status"] = str(status)
        return response
    if status == 200:
        return redirect(reverse("waiting_task", args=[task.id]))
    return render(request, "humanreview/task.html", {**context, **_source_context(task)}, status=status)


def _fault(request, error: BackendError) -> HttpResponse:
    """The upstream failed (5xx, timeout, refused key): with htmx the fields are left as they
    are on the page, typed input and all, and a banner above them says what happened; without
    htmx, the retry page with every typed value (web/backend_errors.py)."""
    if not request.htmx:
        return backend_unavailable(request, error)
    response = render(request, "humanreview/partials/fault.html", {"error": error})
    response["HX-Retarget"], response["HX-Reswap"] = "#hr-fault", "innerHTML"
    response["X-Loupe-Status"] = str(error.status or 502)
    return response


def _conflict(exc: TaskConflict, version: int) -> dict:
    """What others wrote after `version`: the decisions made since, newest last."""
    changed = [{"path": d.path, "value": d.current_value, "by": d.confirmed_by, "confirmed": d.confirmed}
               for d in exc.current.decisions if d.version > version]
    return {"message": exc.message, "changed": changed, "decided": exc.decided}


def _version(request) -> int:
    raw = request.POST.get("version", "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else -1


@require_POST
@role_required(*DECIDERS, action="decide human review tasks")
@backend_errors
def task_confirm(request: HttpRequest, task_id: str) -> HttpResponse:
    """Confirm one field (Enter in its input): the value typed, read as the type the automation
    produced there; then the cursor moves to the next required field not confirmed."""
    path, raw, version = request.POST.get("path", ""), request.POST.get("value", ""), _version(request)
    source = task_source()
    try:
        task = source.confirm(task_id, user=request.user, path=path, typed=raw, version=version,
                              key=request.POST.get("key") or None)
    except TaskConflict as exc:
        return _fields_response(request, exc.current, 409, typed={path: raw}, focus=path,
                                conflict=_conflict(exc, version))
    except TaskRefused as exc:
        return _fields_response(request, source.get(task_id), exc.status or 400, typed={path: raw}, focus=path,
                                errors={path: exc.message})
    except ChangeRefused:
        raise
    except BackendError as exc:
        return _fault(request, exc)
    return _fields_response(request, task)


@require_POST
@role_required(*DECIDERS, action="decide human review tasks")
@backend_errors
def task_decide(request: HttpRequest, task_id: str, decision: str) -> HttpResponse:
    """Approve (refused while required fields are open) or reject (a reason is required)."""
    version, reason = _version(request), request.POST.get("reason", "")
    source = task_source()
    try:
        if decision == "approve":
            source.approve(task_id, user=request.user, version=version)
        else:
            source.reject(task_id, user=request.user, version=version, reason=reason,
                          key=request.POST.get("key") or None)
    except TaskConflict as exc:
        return _fields_response(request, exc.current, 409, decide_error=exc.message, reason_typed=reason,
                                conflict=_conflict(exc, version))
    except TaskRefused as exc:
        return _fields_response(request, source.get(task_id), exc.status or 400, decide_error=exc.message,
                                reason_typed=reason)
    except ChangeRefused:
        raise
    except BackendError as exc:
        return _fault(request, exc)
    done = reverse("waiting") + f"?decided={task_id}"
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = done
        return response
    return redirect(done)
