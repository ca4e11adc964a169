"""Human review tasks as the Waiting inbox and the task page see them, wherever they live
(docs/human-review.md#proxy-mode): a small "task source" with two implementations, Loupe's
own tables (backends/local_tasks.py) and an upstream's `/v1/human-reviews` routes
(backends/eigenpal/human_reviews.py). Both speak the wire shapes of SDK 0.20.93's
human_reviews resource, read here into value objects, so the pages never know which one
answered. Errors are the backends.base family: a refused write is TaskRefused (400, one issue
per field), a stale version or a decided task TaskConflict (409, with the current task), an
upstream fault Unavailable."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from django.utils.dateparse import parse_datetime

from backends.base import ChangeRefused

STATUS_LABELS = {"pending": "Pending", "approved": "Approved", "rejected": "Rejected", "cancelled": "Cancelled"}


@dataclass
class TaskRow:
    """One pending task in the inbox (TaskItem)."""

    id: str
    run_id: str
    automation_id: str
    automation_name: str
    source_kind: str
    source_label: str
    status: str
    required_count: int
    confirmed_count: int
    version: int
    created_at: datetime | None
    updated_at: datetime | None = None
    # Only Loupe's own tasks have deadlines (the wire has none): None upstream.
    deadline_at: datetime | None = None
    warning_minutes: int | None = None
    automation_ref: str = ""

    @property
    def pk(self) -> str:
        return self.id

    @property
    def pending(self) -> bool:
        return self.status == "pending"

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


@dataclass
class DecisionInfo:
    path: str
    original_value: Any
    current_value: Any
    required: bool
    reason: str
    confirmed_by: str
    confirmed: bool
    version: int


@dataclass
class TaskDetail(TaskRow):
    """One task with its documents and decisions (TaskDetail)."""

    machine_data: Any = None
    draft_data: Any = None
    schema: Any = None
    field_metadata: dict = field(default_factory=dict)
    required_paths: list = field(default_factory=list)
    selection_reasons: dict = field(default_factory=dict)
    decisions: list[DecisionInfo] = field(default_factory=list)
    instructions: str | None = None
    files: list = field(default_factory=list)
    completed_by: str = ""
    completed_at: datetime | None = None
    outcome_reason: str | None = None


@dataclass
class TaskPage:
    rows: list[TaskRow]
    next_cursor: str | None = None


class TaskRefused(ChangeRefused):
    """A write the source refused (400): `issues` is [(field, message)], one per field."""

    def __init__(self, issues: list[tuple[str, str]], *, status: int = 400):
        issues = issues or [("<root>", "The change was refused.")]
        super().__init__(" ".join(m for _, m in issues), status=status, field=issues[0][0])
        self.issues = issues


class TaskConflict(ChangeRefused):
    """A stale version or a task decided meanwhile (409): `current` is the task as it is now."""

    def __init__(self, message: str, current: TaskDetail):
        super().__init__(message, status=409, field="expectedVersion")
        self.current = current

    @property
    def decided(self) -> bool:
        return not self.current.pending


class TaskSource(Protocol):
    """What the pages ask of a place where tasks live. `typed` is the page's text input, read
    as the JSON type machineData has at `path`."""

    name: str

    def pending(self, *, automation_id: str | None, cursor: str | None, limit: int) -> TaskPage: ...

    def pending_count(self) -> tuple[int, bool]: ...

    def get(self, task_id: str) -> TaskDetail: ...

    def task_for_run(self, run_id: str) -> str | None: ...

    def confirm(self, task_id: str, *, user, path: str, typed: str, version: int, key: str | None) -> TaskDetail: ...

    def approve(self, task_id: str, *, user, version: int) -> TaskDetail: ...

    def reject(self, task_id: str, *, user, version: int, reason: str, key: str | None) -> TaskDetail: ...


def parse_time(value) -> datetime | None:
    try:
        return parse_datetime(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


def _str(value) -> str:
    return "" if value is None else str(value)


def _int(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def row_from_wire(item: dict, **extra) -> TaskRow:
    return TaskRow(**_row_fields(item), **extra)


def _row_fields(item: dict) -> dict:
    return {"id": _str(item.get("id")), "run_id": _str(item.get("executionId")),
            "automation_id": _str(item.get("automationId")), "automation_name": _str(item.get("automationName")),
            "source_kind": _str(item.get("sourceKind")), "source_label": _str(item.get("sourceLabel")),
            "status": _str(item.get("status")), "required_count": _int(item.get("requiredCount")),
            "confirmed_count": _int(item.get("confirmedCount")), "version": _int(item.get("version")),
            "created_at": parse_time(item.get("createdAt")), "updated_at": parse_time(item.get("updatedAt"))}


def _decision(item: dict) -> DecisionInfo:
    return DecisionInfo(path=_str(item.get("path")), original_value=item.get("originalValue"),
                        current_value=item.get("currentValue"), required=bool(item.get("required")),
                        reason=_str(item.get("reason")), confirmed_by=_str(item.get("confirmedBy")),
                        confirmed=item.get("confirmedAt") is not None, version=_int(item.get("version")))


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return value if isinstance(value, list) else []


def detail_from_wire(item: dict, **extra) -> TaskDetail:
    """A TaskDetail answer (`{task: ...}`'s value) as the value object; `extra` what only
    Loupe's own tasks know (deadline, warning time, the automation's ref)."""
    return TaskDetail(
        **_row_fields(item), **extra, machine_data=item.get("machineData"), draft_data=item.get("draftData"),
        schema=item.get("schema"), field_metadata=_dict(item.get("fieldMetadata")),
        required_paths=[p for p in _list(item.get("requiredPaths")) if isinstance(p, str)],
        selection_reasons=_dict(item.get("selectionReasons")),
        decisions=[_decision(d) for d in _list(item.get("decisions")) if isinstance(d, dict)],
        instructions=item.get("instructions") if isinstance(item.get("instructions"), str) else None,
        files=[f for f in _list(item.get("files")) if isinstance(f, dict)],
        completed_by=_str(item.get("completedBy")), completed_at=parse_time(item.get("completedAt")),
        outcome_reason=item.get("outcomeReason") if isinstance(item.get("outcomeReason"), str) else None)
