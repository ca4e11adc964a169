"""Human review tasks in Loupe's own tables, as a task source (backends/tasks.py): the reads
are humanreview.queries, the writes humanreview.services (the API's, so both keep the same
rules and the same SQL budgets: the inbox one statement for the page of tasks, a confirmation
six inside its transaction, docs/human-review.md#speed). Also where the pages get their source:
`task_source()`."""

from backends import get_backend
from backends.base import NotFound
from backends.tasks import TaskConflict, TaskDetail, TaskPage, TaskRefused, TaskRow, TaskSource, detail_from_wire
from humanreview.models import ReviewPolicy, Task
from humanreview.queries import BadCursor, decode_cursor, encode_cursor, pending_count, pending_tasks, task_with_decisions
from humanreview.services import TaskError, task_approve, task_confirm, task_reject
from humanreview.wire import task_detail

DEFAULT_WARNING = ReviewPolicy._meta.get_field("warning_minutes").default


def _extras(task: Task) -> dict:
    """What only Loupe's own tasks know: the deadline, the warning time, the automation's ref
    (the automation and its review policy joined by the read that found the task)."""
    policy = getattr(task.automation, "review_policy", None)
    return {"deadline_at": task.deadline_at, "automation_ref": task.automation.ref,
            "warning_minutes": policy.warning_minutes if policy else DEFAULT_WARNING}


def _row(task: Task) -> TaskRow:
    """An inbox row straight from the model (no trip through the wire's ISO strings: fifty of
    them were a measurable part of the inbox page)."""
    return TaskRow(id=str(task.pk), run_id=task.run_id, automation_id=str(task.automation_id),
                   automation_name=task.automation.display_name, source_kind=task.source_kind,
                   source_label=task.source_label, status=task.status, required_count=task.required_count,
                   confirmed_count=task.confirmed_count, version=task.version, created_at=task.created_at,
                   updated_at=task.updated_at, **_extras(task))


def _refusal(exc: TaskError) -> Exception:
    if exc.status == 404:
        return NotFound(str(exc) or "No such task.", status=404)
    if exc.status == 409 and exc.task is not None and exc.row is not None:
        return TaskConflict(exc.issues[0][1] if exc.issues else "The task changed.",
                            detail_from_wire(exc.task, **_extras(exc.row)))
    return TaskRefused(exc.issues, status=exc.status)


class LocalTasks:
    name = "local"

    def pending(self, *, automation_id: str | None, cursor: str | None, limit: int) -> TaskPage:
        """Oldest first, keyset paged: one query (automations and policies joined)."""
        auto = int(automation_id) if automation_id and automation_id.isdigit() and len(automation_id) < 12 else None
        if automation_id and auto is None:
            return TaskPage(rows=[])
        try:
            after = decode_cursor(cursor) if cursor else None
        except BadCursor:
            after = None
        tasks, more = pending_tasks(automation_id=auto, after=after, limit=limit, with_policy=True)
        return TaskPage(rows=[_row(t) for t in tasks], next_cursor=encode_cursor(tasks[-1]) if more else None)

    def pending_count(self) -> tuple[int, bool]:
        return pending_count()

    def task_for_run(self, run_id: str) -> str | None:
        pk = Task.objects.filter(run_id=run_id, status="pending").values_list("pk", flat=True).first()
        return None if pk is None else str(pk)

    def get(self, task_id: str) -> TaskDetail:
        found = task_with_decisions(task_id)
        if found is None:
            raise NotFound("No such task.", status=404)
        task, decisions = found
        return detail_from_wire(task_detail(task, decisions, task.run.input), **_extras(task))

    def confirm(self, task_id: str, *, user, path: str, typed: str, version: int, key: str | None) -> TaskDetail:
        try:
            done = task_confirm(task_id=task_id, user=user, path=path, typed=typed, expected_version=version,
                                idempotency_key=key)
        except TaskError as exc:
            raise _refusal(exc) from None
        return detail_from_wire(done.answer, **_extras(done.task))

    def approve(self, task_id: str, *, user, version: int) -> TaskDetail:
        try:
            return detail_from_wire(task_approve(task_id=task_id, user=user, expected_version=version))
        except TaskError as exc:
            raise _refusal(exc) from None

    def reject(self, task_id: str, *, user, version: int, reason: str, key: str | None) -> TaskDetail:
        try:
            return detail_from_wire(task_reject(task_id=task_id, user=user, expected_version=version, reason=reason,
                                                idempotency_key=key))
        except TaskError as exc:
            raise _refusal(exc) from None


def task_source() -> TaskSource:
    """The configured backend's tasks: the remote backend names its own source
    (`human_review_tasks()`, backends/eigenpal/human_reviews.py); every other backend keeps
    them in Loupe's tables."""
    make = getattr(get_backend(), "human_review_tasks", None)
    return make() if make is not None else LocalTasks()
