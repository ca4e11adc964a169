"""Tasks in the wire shapes of SDK 0.20.93's human_reviews resource (docs/human-review.md):
TaskItem, TaskDetail and the run's `execution.humanReview` summary. The API answers with
them and the idempotency records store them, so a repeated write gets the same bytes."""

from datetime import datetime

from humanreview.models import Decision, Task, TaskStatus


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def task_item(task: Task) -> dict:
    return {
        "id": str(task.pk),
        "executionId": task.run_id,
        "automationId": str(task.automation_id),
        "automationName": task.automation.display_name,
        "sourceKind": task.source_kind,
        "sourceLabel": task.source_label,
        "status": task.status,
        "requiredCount": task.required_count,
        "confirmedCount": task.confirmed_count,
        "version": task.version,
        "createdAt": iso(task.created_at),
        "updatedAt": iso(task.updated_at),
    }


def decision_to_dict(decision: Decision) -> dict:
    return {
        "id": str(decision.pk),
        "path": decision.path,
        "originalValue": decision.original_value,
        "currentValue": decision.current_value,
        "required": decision.required,
        "reason": decision.reason,
        "confirmedBy": decision.confirmed_by.get_username() if decision.confirmed_by_id else None,
        "confirmedAt": iso(decision.confirmed_at) if decision.confirmed else None,
        "version": decision.version,
    }


def file_to_dict(item: dict) -> dict:
    found = {"fileId": str(item["fileId"]), "filename": item["name"].rsplit("/", 1)[-1],
             "artifactPath": item["artifactPath"], "role": item["role"]}
    if item.get("mimeType"):
        found["mimeType"] = item["mimeType"]
    if item.get("size") is not None:
        found["size"] = item["size"]
    return found


def task_detail(task: Task, decisions: list[Decision], run_input=None) -> dict:
    """TaskDetail. `decisions` with their confirmed_by users loaded; `run_input` the run's input."""
    data = task_item(task)
    data.update(
        files=[file_to_dict(f) for f in task.files],
        input={"status": "available", "data": run_input} if isinstance(run_input, (dict, list)) else None,
        machineData=task.machine_data,
        draftData=task.draft_data,
        schema=task.schema,
        fieldMetadata=task.field_metadata,
        requiredPaths=task.required_paths,
        selectionReasons=task.selection_reasons,
        decisions=[decision_to_dict(d) for d in decisions],
        instructions=task.instructions,
        completedBy=task.completed_by.get_username() if task.completed_by_id else None,
        completedAt=iso(task.completed_at),
        outcomeReason=task.outcome_reason,
    )
    return data


def run_summary(task: Task | None) -> dict | None:
    """`execution.humanReview`: only while the task is pending (the SDK refuses any other status)."""
    if task is None or task.status != TaskStatus.PENDING:
        return None
    return {"taskId": str(task.pk), "sourceKind": task.source_kind, "sourceLabel": task.source_label,
            "status": "pending", "requiredCount": task.required_count, "confirmedCount": task.confirmed_count,
            "version": task.version}
