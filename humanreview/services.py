"""Writes of human review tasks: opening them when a paused run is recorded, the reviewer's
decisions, and the review policy (docs/human-review.md).

Every decision locks the task row in a statement of its own (SELECT ... FOR UPDATE) and reads
what it checks (the idempotency record, the task's version and status, its decisions) in
statements after the lock was granted, so two reviewers racing on one task are serialised and
the loser sees the winner's write (a 409 version_conflict, never a lost confirmation).
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import NamedTuple

from django.db import transaction
from django.db.models import JSONField, OuterRef, Subquery
from django.utils import timezone

from events.outbox import UnsafePayload, event_emit
from humanreview.calibration import task_approved_count
from humanreview.models import Decision, IdempotencyRecord, ReviewPolicy, Task, TaskStatus, Unmatched
from humanreview.policy import select_paths
from humanreview.wire import iso, task_detail
from review.jsondiff import EditError, coerce
from runs.models import Automation, Run, RunFile, RunStatus
from runs.pausing import MAX_PATHS, PointerError, is_scalar, resolve_pointer, set_pointer
from runs.records import RunRecord

MAX_REASON = 2000
MAX_KEY = 200


# --- errors: the API and the pages turn them into answers ----------------------------------


@dataclass
class TaskError(Exception):
    status: int
    code: str
    issues: list[tuple[str, str]] = field(default_factory=list)  # (field, message)
    task: dict | None = None  # the current task (409)
    row: "Task | None" = field(default=None, repr=False, compare=False)  # the same task as read (409)

    def __str__(self) -> str:
        return "; ".join(f"{f}: {m}" for f, m in self.issues)


def _invalid(field_name: str, message: str, code: str = "invalid_value") -> TaskError:
    return TaskError(400, code, [(field_name, message)])


# --- opening tasks ---------------------------------------------------------------------------


def tasks_open(records: list[RunRecord], *, now=None) -> list[Task]:
    """Open a task for each recorded run that paused with a `humanReview` and has none yet
    (re-recording a run never opens a second task). Called by datasets.loop inside the
    recording transaction, after the runs are stored. A fixed number of queries per batch."""
    paused = {r.id: r for r in records if r.human_review is not None}
    if not paused:
        return []
    now = now or timezone.now()
    known = set(Task.objects.filter(run_id__in=list(paused)).values_list("run_id", flat=True))
    todo = {run_id: r for run_id, r in paused.items() if run_id not in known}
    if not todo:
        return []
    automations = dict(Run.objects.filter(pk__in=list(todo)).values_list("pk", "automation_id"))
    policies = {p.automation_id: p for p in ReviewPolicy.objects.filter(automation_id__in=set(automations.values()))}
    wanted = {run_id for run_id, r in todo.items() if r.human_review.files}
    files: dict[str, dict[str, RunFile]] = {}
    if wanted:
        for run_file in RunFile.objects.filter(run_id__in=list(wanted)):
            files.setdefault(run_file.run_id, {})[run_file.name] = run_file
    tasks = []
    for run_id, record in todo.items():
        pause = record.human_review
        automation_id = automations[run_id]
        policy = policies.get(automation_id) or ReviewPolicy(automation_id=automation_id)
        required, reasons = select_paths(pause, policy)
        task_files = []
        for item in pause.files:
            run_file = files.get(run_id, {}).get(item["name"])
            if run_file is not None:  # a name the run has no file for is left out (docs/human-review.md)
                task_files.append({"name": run_file.name, "role": item["role"], "fileId": run_file.pk,
                                   "artifactPath": f"{run_file.role}/{run_file.name}",
                                   "mimeType": run_file.content_type, "size": run_file.size})
        deadline = now + timedelta(minutes=policy.deadline_minutes) if policy.deadline_minutes else None
        tasks.append(Task(
            run_id=run_id, automation_id=automation_id, source_kind=pause.source_kind,
            source_label=pause.source_label, machine_data=pause.machine_data,
            draft_data=json.loads(json.dumps(pause.machine_data)), schema=pause.schema,
            field_metadata=pause.field_metadata, required_paths=required, selection_reasons=reasons,
            instructions=pause.instructions, files=task_files, required_count=len(required), confirmed_count=0,
            deadline_at=deadline, created_at=now, updated_at=now))
    return Task.objects.bulk_create(tasks)


# --- decisions -----------------------------------------------------------------------------


def _body_hash(action: str, body: dict) -> str:
    return hashlib.sha256(json.dumps([action, body], sort_keys=True, default=str).encode()).hexdigest()


def _lock(task_id) -> None:
    """Lock the task row, in a statement of its own; everything checked is read after it."""
    if not _task_pk(task_id) or not Task.objects.select_for_update().filter(pk=_task_pk(task_id)).values_list(
            "pk", flat=True):
        raise TaskError(404, "not_found", [("taskId", f"No human review task {task_id!r}.")])


def _task_pk(task_id) -> int | None:
    text = str(task_id)
    return int(text) if text.isdigit() and len(text) < 18 else None


def _locked_task(task_id, *, key: str | None = None) -> Task:
    """The task, read after the lock, with its automation and run; with `key`, the idempotency
    record of that key read in the same statement (idem_hash, idem_action, idem_answer)."""
    qs = Task.objects.select_related("automation", "automation__review_policy", "run", "completed_by").defer(
        "run__output", "run__usage", "run__metadata", "run__error")
    if key is not None:
        record = IdempotencyRecord.objects.filter(task=OuterRef("pk"), key=key)
        qs = qs.annotate(idem_hash=Subquery(record.values("body_hash")[:1]),
                         idem_action=Subquery(record.values("action")[:1]),
                         idem_answer=Subquery(record.values("answer")[:1], output_field=JSONField()))
    return qs.get(pk=_task_pk(task_id))


def _replay(task: Task, key: str | None, action: str, body: dict) -> tuple[str | None, dict | None]:
    """(body hash, the stored answer of this key); a key reused with another body is a 400."""
    if key is None:
        return None, None
    digest = _body_hash(action, body)
    if task.idem_hash is None:
        return digest, None
    if task.idem_hash != digest or task.idem_action != action:
        raise _invalid("idempotencyKey", f"The key {key!r} was used for a different request on this task; "
                                         "send a new key for a new request.", "idempotency_key_reused")
    answer = task.idem_answer
    return digest, json.loads(answer) if isinstance(answer, str) else answer


def _decisions(task: Task) -> list[Decision]:
    return list(Decision.objects.filter(task=task).select_related("confirmed_by").order_by("id"))


def _check_open(task: Task, expected_version: int) -> list[Decision]:
    """The task's decisions, after refusing a decided task or a stale version (409, with the
    current task)."""
    decisions = _decisions(task)
    if task.status != TaskStatus.PENDING:
        raise TaskError(409, "task_decided", [("status", f"The task was already {task.status}; it takes no "
                                                         "more changes.")], task=task_detail(task, decisions,
                                                                                             task.run.input), row=task)
    if expected_version != task.version:
        raise TaskError(409, "version_conflict",
                        [("expectedVersion", f"The task is at version {task.version}, not {expected_version}: "
                                             "someone changed it since you read it. The current task is in "
                                             "`task`.")], task=task_detail(task, decisions, task.run.input), row=task)
    return decisions


def _version(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _invalid("expectedVersion", "Required: the task's version you last read (an integer).")
    return value


def _key(value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_KEY:
        raise _invalid("idempotencyKey", f"Expected a string of 1-{MAX_KEY} characters.")
    return value


def _touch(task: Task, now, fields: list[str]) -> None:
    task.version += 1
    task.updated_at = now
    Task.objects.filter(pk=task.pk).update(version=task.version, updated_at=now,
                                           **{f: getattr(task, f) for f in fields})


class Confirmed(NamedTuple):
    answer: dict  # the TaskDetail (wire shape)
    task: Task  # the task as written, its automation (and review policy) joined


def task_confirm_field(*, task_id, user, path, value, expected_version, idempotency_key=None, confirmed=True,
                       now=None) -> dict:
    """Confirm (or edit and confirm) the field at `path`: sets it in draftData, records the
    decision, bumps the version. Returns the TaskDetail."""
    return task_confirm(task_id=task_id, user=user, path=path, value=value, expected_version=expected_version,
                        idempotency_key=idempotency_key, confirmed=confirmed, now=now).answer


def _typed_value(task: Task, path: str, typed: str):
    """What a reviewer typed on the page, read as the JSON type machineData has at `path`."""
    try:
        return coerce(typed, resolve_pointer(task.machine_data, path, None))
    except EditError as exc:
        raise _invalid(path, str(exc)) from None


def task_confirm(*, task_id, user, path, value=None, typed: str | None = None, expected_version,
                 idempotency_key=None, confirmed=True, now=None) -> Confirmed:
    """task_confirm_field, also giving the task as written. With `typed` (the page's text input)
    the value is read from it in the type machineData has at `path`, from the task read under
    the lock: the page needs no read of its own (a confirmation is 8 statements)."""
    expected_version = _version(expected_version)
    key = _key(idempotency_key)
    if not isinstance(path, str) or not path.startswith("/") or len(path) > 1000:
        raise _invalid("path", "Expected a JSON Pointer into machineData, such as /total.")
    if typed is None and not is_scalar(value):
        raise _invalid("value", f"The value for {path} must be a string, number, true/false or null.")
    if not isinstance(confirmed, bool):
        raise _invalid("confirmed", "Expected true or false.")
    now = now or timezone.now()
    with transaction.atomic():
        _lock(task_id)
        task = _locked_task(task_id, key=key)
        if typed is not None:
            value = _typed_value(task, path, typed)
            if not is_scalar(value):
                raise _invalid(path, f"The value for {path} must be a string, number, true/false or null.")
        body = {"path": path, "value": value, "confirmed": confirmed, "expectedVersion": expected_version}
        digest, stored = _replay(task, key, "confirm", body)
        if stored is not None:
            return Confirmed(stored, task)
        decisions = _check_open(task, expected_version)
        try:
            original = resolve_pointer(task.machine_data, path)
        except PointerError:
            raise _invalid("path", f"Nothing at {path} in machineData.") from None
        if not is_scalar(original):
            raise _invalid("path", f"{path} holds an object or array; confirm its fields one by one.")
        existing = next((d for d in decisions if d.path == path), None)
        if existing is None and len(decisions) >= MAX_PATHS:
            raise _invalid("path", f"A task holds at most {MAX_PATHS} decisions.")
        required = path in task.required_paths
        set_pointer(task.draft_data, path, value)
        was_confirmed = bool(existing and existing.confirmed)
        if required and was_confirmed != confirmed:
            task.confirmed_count += 1 if confirmed else -1
        _touch(task, now, ["draft_data", "confirmed_count"])
        reason = task.selection_reasons.get(path) or "reviewer_edit"
        if existing is None:
            existing = Decision.objects.create(
                task=task, path=path, original_value=original, current_value=value, required=required,
                reason=reason, confirmed=confirmed, confirmed_by=user, confirmed_at=now, version=task.version)
            decisions.append(existing)
        else:
            existing.current_value, existing.confirmed, existing.confirmed_by = value, confirmed, user
            existing.confirmed_at, existing.version = now, task.version
            Decision.objects.filter(pk=existing.pk).update(current_value=value, confirmed=confirmed,
                                                           confirmed_by=user, confirmed_at=now, version=task.version)
        answer = task_detail(task, decisions, task.run.input)
        if key is not None:
            IdempotencyRecord.objects.create(task=task, key=key, action="confirm", body_hash=digest, answer=answer)
    return Confirmed(answer, task)


def task_approve(*, task_id, user, expected_version, now=None, emit=None) -> dict:
    """Approve: every required path confirmed (else a 400 naming each one); the run resumes
    (status running); the decision event is emitted in the same transaction."""
    expected_version = _version(expected_version)
    now = now or timezone.now()
    with transaction.atomic():
        _lock(task_id)
        task = _locked_task(task_id)
        decisions = _check_open(task, expected_version)
        confirmed = {d.path for d in decisions if d.confirmed}
        missing = [p for p in task.required_paths if p not in confirmed]
        if missing:
            raise TaskError(400, "unconfirmed_fields",
                            [(p, f"{p} is required and not confirmed yet.") for p in missing])
        task.status, task.completed_at, task.completed_by = TaskStatus.APPROVED, now, user
        _touch(task, now, ["status", "completed_at", "completed_by"])
        Run.objects.filter(pk=task.run_id).update(status=RunStatus.RUNNING)
        task_approved_count(task, task.run)
        answer = task_detail(task, decisions, task.run.input)
        decision_emit(task, "human_review.approved", answer, emit=emit)
    return answer


def task_reject(*, task_id, user, expected_version, reason, idempotency_key=None, now=None, emit=None) -> dict:
    """Reject with a reason: the run fails with the reason as its error."""
    expected_version = _version(expected_version)
    key = _key(idempotency_key)
    if not isinstance(reason, str) or not reason.strip():
        raise _invalid("reason", "Say why the run is rejected.")
    if len(reason) > MAX_REASON:
        raise _invalid("reason", f"At most {MAX_REASON} characters.")
    reason = reason.strip()
    now = now or timezone.now()
    with transaction.atomic():
        _lock(task_id)
        task = _locked_task(task_id, key=key)
        digest, stored = _replay(task, key, "reject", {"reason": reason, "expectedVersion": expected_version})
        if stored is not None:
            return stored
        decisions = _check_open(task, expected_version)
        task.status, task.completed_at, task.completed_by = TaskStatus.REJECTED, now, user
        task.outcome_reason = reason
        _touch(task, now, ["status", "completed_at", "completed_by", "outcome_reason"])
        Run.objects.filter(pk=task.run_id).update(status=RunStatus.FAILED, error=reason)
        answer = task_detail(task, decisions, task.run.input)
        if key is not None:
            IdempotencyRecord.objects.create(task=task, key=key, action="reject", body_hash=digest, answer=answer)
        decision_emit(task, "human_review.rejected", answer, emit=emit)
    return answer


def decision_emit(task: Task, event_type: str, answer: dict, *, emit=None) -> None:
    """The one call site of the decision webhooks (docs/human-review.md#webhook), inside the
    decision's transaction: events.outbox stores the message if and only if the decision is
    stored, and a worker delivers it, signed, after the commit. The data: the task (as the API
    answers it, without the run's input: fetch that with a key), its final draftData and its
    decisions. `emit` replaces events.outbox.event_emit in tests."""
    data = {key: value for key, value in answer.items() if key not in ("input", "files")}
    data["runId"] = task.run_id
    data["automationRef"] = task.automation.ref
    send = emit or event_emit
    try:
        send(type=event_type, automation_id=task.automation.ref, data=data)
    except UnsafePayload as exc:
        # A key of the run's data that never leaves Loupe (docs/webhooks.md): the event still goes
        # out, naming the task, without the documents; the receiver fetches them with its key.
        slim = {key: value for key, value in data.items()
                if key not in ("machineData", "draftData", "decisions", "fieldMetadata", "schema")}
        send(type=event_type, automation_id=task.automation.ref, data=slim | {"omitted": str(exc)})


def tasks_due_soon_announce(*, now=None) -> list[int]:
    """Announce each pending task whose deadline is within its automation's warning time, once
    (`human_review.due_soon`; Task.due_soon_sent_at marks it, set by one conditional UPDATE so two
    runs of this at once announce a task once). Overdue tasks stay pending: nothing here decides.
    Run by `manage.py human_review_deadlines` (every minute, from cron or a scheduler)."""
    now = now or timezone.now()
    warnings = dict(ReviewPolicy.objects.values_list("automation_id", "warning_minutes"))
    default = ReviewPolicy._meta.get_field("warning_minutes").default
    horizon = now + timedelta(minutes=max([default, *warnings.values()]))
    announced = []
    candidates = (Task.objects.filter(status=TaskStatus.PENDING, due_soon_sent_at__isnull=True,
                                      deadline_at__isnull=False, deadline_at__lte=horizon)
                  .select_related("automation").defer("machine_data", "draft_data", "schema", "field_metadata",
                                                      "selection_reasons", "files"))
    for task in candidates:
        if task.deadline_at - timedelta(minutes=warnings.get(task.automation_id, default)) > now:
            continue
        with transaction.atomic():
            if not Task.objects.filter(pk=task.pk, status=TaskStatus.PENDING, due_soon_sent_at__isnull=True).update(
                    due_soon_sent_at=now):
                continue
            data = {"id": str(task.pk), "runId": task.run_id, "automationId": str(task.automation_id),
                    "automationRef": task.automation.ref, "status": "pending", "deadline": iso(task.deadline_at),
                    "overdue": task.deadline_at <= now, "requiredCount": task.required_count,
                    "confirmedCount": task.confirmed_count, "createdAt": iso(task.created_at)}
            event_emit(type="human_review.due_soon", automation_id=task.automation.ref, data=data)
        announced.append(task.pk)
    return announced


# --- the policy ----------------------------------------------------------------------------


def policy_set(*, automation: Automation, user, confidence_threshold=None, field_rules=None, unmatched=None,
               missing_confidence=None, deadline_minutes=None, warning_minutes=None,
               clear_deadline: bool = False) -> ReviewPolicy:
    """Set (part of) an automation's review policy; a bad value is a 400 naming its field.
    Applies to tasks opened from now on."""
    if confidence_threshold is not None and (isinstance(confidence_threshold, bool) or not isinstance(
            confidence_threshold, (int, float)) or not 0 <= confidence_threshold <= 1):
        raise _invalid("confidenceThreshold", "Expected a number from 0 to 1.")
    if field_rules is not None:
        if not isinstance(field_rules, dict) or len(field_rules) > MAX_PATHS:
            raise _invalid("fieldRules", "Expected an object mapping JSON Pointers to always, auto or never.")
        for path, mode in field_rules.items():
            if not path.startswith("/"):
                raise _invalid(f"fieldRules.{path}", "A JSON Pointer starts with '/'.")
            if mode not in ("always", "auto", "never"):
                raise _invalid(f"fieldRules.{path}", f"{mode!r} is not one of always, auto, never.")
    for name, value in (("unmatched", unmatched), ("missingConfidence", missing_confidence)):
        if value is not None and value not in Unmatched.values:
            raise _invalid(name, f"Expected one of {', '.join(Unmatched.values)}.")
    for name, value in (("deadlineMinutes", deadline_minutes), ("warningMinutes", warning_minutes)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 525_600):
            raise _invalid(name, "Expected a whole number of minutes from 1 to 525600 (a year).")
    with transaction.atomic():
        policy, _ = ReviewPolicy.objects.select_for_update().get_or_create(automation=automation)
        for attr, value in (("confidence_threshold", confidence_threshold), ("field_rules", field_rules),
                            ("unmatched", unmatched), ("missing_confidence", missing_confidence),
                            ("deadline_minutes", deadline_minutes), ("warning_minutes", warning_minutes)):
            if value is not None:
                setattr(policy, attr, value)
        if clear_deadline:
            policy.deadline_minutes = None
        policy.updated_by = user if getattr(user, "pk", None) else None
        policy.save()
    return policy
