"""Reads of human review tasks: the pending list (the API's and the inbox's), one task."""

import base64
from datetime import datetime, timedelta

from django.db.models import Count, Min, Q
from django.utils import timezone

from humanreview.models import Decision, Task, TaskStatus

# The list never loads the task's JSON documents.
HEAVY = ("machine_data", "draft_data", "schema", "field_metadata", "selection_reasons", "files", "instructions",
         "required_paths")


class BadCursor(ValueError):
    pass


def encode_cursor(task: Task) -> str:
    return base64.urlsafe_b64encode(f"{task.created_at.isoformat()}|{task.pk}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, _, pk = raw.rpartition("|")
        return datetime.fromisoformat(when), int(pk)
    except (ValueError, UnicodeDecodeError):
        raise BadCursor("Not a cursor this list gave out.") from None


def pending_tasks(*, automation_id: int | None = None, waiting_before: datetime | None = None,
                  after: tuple[datetime, int] | None = None, limit: int = 50,
                  with_policy: bool = False) -> tuple[list[Task], bool]:
    """Pending tasks oldest first (keyset on created_at, id), one query (the automation, and its
    review policy when asked, joined); (page, more)."""
    qs = pending_query(automation_id=automation_id, waiting_before=waiting_before, after=after,
                       with_policy=with_policy)
    rows = list(qs[: limit + 1])
    return rows[:limit], len(rows) > limit


def pending_query(*, automation_id: int | None = None, waiting_before: datetime | None = None,
                  after: tuple[datetime, int] | None = None, with_policy: bool = False):
    """The pending list's query, ordered, unsliced (the benchmark EXPLAINs it: index hr_task_inbox)."""
    related = ("automation", "automation__review_policy") if with_policy else ("automation",)
    qs = Task.objects.filter(status=TaskStatus.PENDING).select_related(*related).defer(*HEAVY)
    if automation_id is not None:
        qs = qs.filter(automation_id=automation_id)
    if waiting_before is not None:
        qs = qs.filter(created_at__lt=waiting_before)
    if after is not None:
        when, pk = after
        qs = qs.filter(Q(created_at__gt=when) | Q(created_at=when, pk__gt=pk))
    return qs.order_by("created_at", "id")


def task_with_decisions(task_id) -> tuple[Task, list[Decision]] | None:
    text = str(task_id)
    if not text.isdigit() or len(text) >= 18:
        return None
    task = (Task.objects.select_related("automation", "automation__review_policy", "run", "completed_by")
            .defer("run__output", "run__usage", "run__metadata", "run__error").filter(pk=int(text)).first())
    if task is None:
        return None
    return task, list(Decision.objects.filter(task=task).select_related("confirmed_by").order_by("id"))


def pending_count(cap: int = 999) -> tuple[int, bool]:
    """(pending tasks up to `cap`, whether there are more): a count that stops after `cap + 1`
    entries of the index hr_task_inbox, so the nav item costs the same at 100,000 tasks."""
    count = Task.objects.filter(status=TaskStatus.PENDING)[: cap + 1].count()
    return min(count, cap), count > cap


def backlog(now=None) -> dict:
    """Waiting tasks for the backlog page: how many, the oldest's age, how many are overdue. One query."""
    now = now or timezone.now()
    row = Task.objects.filter(status=TaskStatus.PENDING).aggregate(
        count=Count("id"), oldest=Min("created_at"), overdue=Count("id", filter=Q(deadline_at__lt=now)))
    return {"count": row["count"], "oldest_age": (now - row["oldest"]) if row["oldest"] else timedelta(0),
            "overdue": row["overdue"]}
