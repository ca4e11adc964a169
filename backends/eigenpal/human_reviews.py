"""Proxy mode: human review tasks through the upstream's `/v1/human-reviews` routes (SDK
0.20.93's human_reviews resource), as a task source (backends/tasks.py), over the backend's
one client (retries, bounded reads, error mapping: backends/eigenpal/client.py).

Upstream calls: the inbox 1 (a page of up to 50 tasks), the nav count 1 (a page of 100: the
count says "100+" past that), the task page 1 (plus the run's source column, as the review
pane reads it), a confirmation 2 (the task, to read the typed text as the type machineData has
at the path, then the PUT), approve and reject 1 each; a 409 adds 1 (the client keeps only the
error envelope's first issue, so the current task is read again to show what changed).

Retries: a confirmation and a rejection carry the page's idempotency key (one per rendered
form), so the client may repeat them after a 5xx or a timeout: the upstream answers a repeat
with the stored answer. Approve has no key; it is sent once (a repeat after a lost answer would
be refused by its expectedVersion anyway, never approved twice).

Who: the upstream records every decision as the user of Loupe's API key; Loupe keeps the
person in its audit trail (review.AuditEvent keyed by the run id, action `human_review.*`), as
it does for reviews in proxy mode (docs/proxy.md#human-review-tasks)."""

import uuid

from backends.base import ChangeRefused
from backends.eigenpal.client import seg
from backends.tasks import TaskConflict, TaskDetail, TaskPage, TaskRefused, detail_from_wire, row_from_wire
from review.jsondiff import EditError, coerce
from review.models import AuditEvent
from runs.pausing import resolve_pointer

COUNT_PAGE = 100  # the nav count reads "100+" past one page


class EigenpalTasks:
    name = "eigenpal"

    def __init__(self, backend):
        self.backend = backend

    @property
    def upstream(self):
        return self.backend.upstream

    def pending(self, *, automation_id: str | None, cursor: str | None, limit: int) -> TaskPage:
        params = {"limit": limit}
        if automation_id:
            params["automationId"] = automation_id
        if cursor:
            params["cursor"] = cursor
        data = self.upstream.json("GET", "/human-reviews", params=params) or {}
        rows = [row_from_wire(t) for t in data.get("tasks") or [] if isinstance(t, dict) and t.get("id")]
        cursor = data.get("nextCursor")
        return TaskPage(rows=rows, next_cursor=cursor if isinstance(cursor, str) and cursor else None)

    def pending_count(self) -> tuple[int, bool]:
        page = self.pending(automation_id=None, cursor=None, limit=COUNT_PAGE)
        return len(page.rows), page.next_cursor is not None

    def task_for_run(self, run_id: str) -> str | None:
        """The pending task of a paused run: its `execution.humanReview` (present only while the
        task is pending), one call."""
        data = self.upstream.json("GET", f"/runs/{seg(run_id)}", params={"expand": "execution"}) or {}
        summary = (data.get("execution") or {}).get("humanReview") if isinstance(data, dict) else None
        task_id = summary.get("taskId") if isinstance(summary, dict) else None
        return str(task_id) if task_id else None

    def get(self, task_id: str) -> TaskDetail:
        data = self.upstream.json("GET", f"/human-reviews/{seg(task_id)}") or {}
        return _named(self._task(data))

    @staticmethod
    def _task(data: dict) -> TaskDetail:
        task = data.get("task") if isinstance(data, dict) else None
        if not isinstance(task, dict) or not task.get("id"):
            raise TaskRefused([("<root>", "The EigenPal API answered without the task.")], status=502)
        return detail_from_wire(task)

    def _write(self, task_id: str, method: str, action: str, body: dict, *, user, idempotent: bool,
               changes: dict) -> TaskDetail:
        try:
            data = self.upstream.json(method, f"/human-reviews/{seg(task_id)}/{action}", json=body,
                                      idempotent=idempotent)
        except ChangeRefused as exc:
            if exc.status == 409:
                raise TaskConflict(exc.message, self.get(task_id)) from None
            raise TaskRefused([(exc.field, exc.message)], status=exc.status or 400) from None
        task = self._task(data)
        AuditEvent.objects.create(run_id=task.run_id, user=user if getattr(user, "pk", None) else None,
                                  action=f"human_review.{'confirm' if action == 'fields' else action}",
                                  changes={"taskId": task.id, "version": task.version, **changes})
        return _named(task)

    def confirm(self, task_id: str, *, user, path: str, typed: str, version: int, key: str | None) -> TaskDetail:
        current = self.get(task_id)
        try:
            value = coerce(typed, resolve_pointer(current.machine_data, path, None))
        except EditError as exc:
            raise TaskRefused([(path, str(exc))]) from None
        body = {"expectedVersion": version, "idempotencyKey": key or uuid.uuid4().hex, "path": path, "value": value,
                "confirmed": True}
        return self._write(task_id, "PUT", "fields", body, user=user, idempotent=True,
                           changes={"path": path, "value": value})

    def approve(self, task_id: str, *, user, version: int) -> TaskDetail:
        return self._write(task_id, "POST", "approve", {"expectedVersion": version}, user=user, idempotent=False,
                           changes={})

    def reject(self, task_id: str, *, user, version: int, reason: str, key: str | None) -> TaskDetail:
        body = {"expectedVersion": version, "idempotencyKey": key or uuid.uuid4().hex, "reason": reason}
        return self._write(task_id, "POST", "reject", body, user=user, idempotent=True, changes={"reason": reason})


def _named(task: TaskDetail) -> TaskDetail:
    """The people behind the decisions made through this Loupe: the upstream names Loupe's key
    user, the audit the person (matched by path and the version the write produced, so a later
    decision made elsewhere keeps the upstream's name). One local query."""
    events = (AuditEvent.objects.filter(run_id=task.run_id, action="human_review.confirm").select_related("user")
              .order_by("id"))
    people = {(e.changes.get("path"), e.changes.get("version")): e.user.get_username() for e in events
              if e.user is not None and isinstance(e.changes, dict) and e.changes.get("taskId") == task.id}
    for decision in task.decisions:
        decision.confirmed_by = people.get((decision.path, decision.version), decision.confirmed_by)
    return task
