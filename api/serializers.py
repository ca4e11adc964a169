"""Runs as the EigenPal API serves them: field by field as in the wire contract (docs/api-feedback.md)."""




from api.expected import run_files_to_list
from api.feedback import feedback_to_dict
from api.reviews import load_review, review_summary, review_to_dict
from api.support import (
    iso,
)
from humanreview.models import Task
from humanreview.wire import run_summary
from review.models import ExpectedFile, Review
from runs.models import (
    AutomationKind,
    FileRole,
    Run,
    RunFile,
    RunStep,
)

# --- serialisers (field by field as in the contract) --------------------------------------


def _source_to_dict(run: Run, *, detail: bool = False) -> dict:
    automation = run.automation
    source = {"id": str(automation.pk), "name": automation.display_name, "version": run.version}
    if automation.kind == AutomationKind.WORKFLOW:
        source["versionId"] = None
    else:
        source.update(slug=automation.slug, model=None, git=None)
    if detail:
        # Loupe records runs; it holds no implementation to execute.
        source.update(implementationAvailable=False, automationFound=True, currentVersion=None)
    return source


def _trigger_to_dict(run: Run) -> dict:
    by = None
    if run.triggered_by:
        by = {"id": run.triggered_by, "name": None, "email": run.triggered_by if "@" in run.triggered_by else ""}
    return {"type": run.trigger, "by": by}


def _execution_meta(run: Run) -> dict:
    """The slim RunExecutionMeta: every key present, null where Loupe has no value, plus the
    reviews generation's review summary, read from the review joined into the same query."""
    return {
        "status": run.status,
        "schemaValid": None,
        "batchId": run.batch_id,
        "retry": {"number": 0, "previousRunId": None, "nextRun": None},
        "review": review_summary(_joined_review(run), has_note=getattr(run, "review_has_note", None)),
        # Only while a human review task of the run is pending (docs/human-review.md).
        "humanReview": run_summary(_joined_task(run)),
    }


# The task's columns the run summary needs (the list and detail join the task, deferring the rest).
TASK_HEAVY = tuple(f"human_review_task__{f}" for f in (
    "machine_data", "draft_data", "schema", "field_metadata", "selection_reasons", "files", "instructions",
    "required_paths", "outcome_reason"))


def _joined_task(run: Run) -> Task | None:
    if run.status != "waiting" and not Run.human_review_task.is_cached(run):
        return None  # only a waiting run can have a pending task: no query for the others
    try:
        return run.human_review_task
    except Task.DoesNotExist:
        return None


def _joined_review(run: Run):
    try:
        return run.review
    except Review.DoesNotExist:
        return None


def run_tags(run: Run) -> list[str]:
    """The run's tags: `metadata.tags` when it is a list of strings (Loupe has no tag column).
    The runs list reads them out of the metadata column in SQL (`tags_value`)."""
    if hasattr(run, "tags_value"):
        tags = run.tags_value
    else:
        tags = run.metadata.get("tags") if isinstance(run.metadata, dict) else None
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def sample_rank(run: Run) -> float:
    """Deterministic per run in [0, 1): Loupe's sample bucket (0-9999) / 10000, so
    sampleRate=r keeps exactly the runs sampling at rate r keeps (docs/api-reviews.md)."""
    return run.sample_bucket / 10_000


def _timing_to_dict(run: Run) -> dict:
    return {
        "createdAt": iso(run.created_at),
        "startedAt": iso(run.started_at),
        "completedAt": iso(run.completed_at),
        "cancelRequestedAt": None,
        "durationMs": run.duration_ms,
    }


def run_list_item_to_dict(run: Run) -> dict:
    """RunListItem: never carries output, files or input."""
    item = {
        "tags": run_tags(run),
        "id": run.id,
        "type": run.automation.kind,
        "sampleRank": sample_rank(run),
        "finished": run.finished,
        "timing": _timing_to_dict(run),
        "source": _source_to_dict(run),
        "trigger": _trigger_to_dict(run),
        "execution": _execution_meta(run),
    }
    if run.example_id:
        item["eval"] = {"example": None, "score": None, "passed": None}
        if run.automation.kind == AutomationKind.WORKFLOW:
            item["eval"]["exampleId"] = run.example_id
    if run.error is not None:
        item["error"] = run.error
    return item


def artifact_to_dict(run_file: RunFile) -> dict:
    """RunArtifact; `path` is `<role>/<name>`, unique per run, the value for the download URL."""
    return {
        "name": run_file.name,
        "role": run_file.role,
        "path": f"{run_file.role}/{run_file.name}",
        "contentType": run_file.content_type or None,
        "size": run_file.size,
    }


def _number(mapping: dict, *keys):
    for key in keys:
        value = mapping.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
    return None


def usage_to_dict(run: Run) -> dict | None:
    """RunUsage from the recorded usage object, which may be camelCase, snake_case or nested."""
    usage = run.usage
    if not isinstance(usage, dict):
        return None
    tokens = usage.get("tokens") if isinstance(usage.get("tokens"), dict) else usage
    result = {
        "tokens": {
            "input": _number(tokens, "input", "inputTokens", "input_tokens", "prompt_tokens"),
            "output": _number(tokens, "output", "outputTokens", "output_tokens", "completion_tokens"),
            "cacheRead": _number(tokens, "cacheRead", "cacheReadTokens", "cache_read", "cache_read_tokens"),
            "cacheWrite": _number(tokens, "cacheWrite", "cacheWriteTokens", "cache_write", "cache_write_tokens"),
        },
        "creditsCharged": _number(usage, "creditsCharged", "credits_charged", "credits"),
        "durationMs": _number(usage, "durationMs", "duration_ms") or run.duration_ms,
    }
    if run.automation.kind == AutomationKind.WORKFLOW:
        result["llmCallCount"] = _number(usage, "llmCallCount", "llm_call_count", "llmCalls") or 0
        result["ocrPagesProcessed"] = _number(usage, "ocrPagesProcessed", "ocr_pages_processed", "ocrPages") or 0
    else:
        result["agentTurns"] = _number(usage, "agentTurns", "agent_turns", "turns")
    return result


def step_to_dict(step: RunStep) -> dict:
    """One recorded step (SDK 0.20 leaves step objects untyped): its id is its position."""
    return {"id": str(step.position), "position": step.position, "name": step.name, "type": step.type,
            "status": step.status, "startedAt": iso(step.started_at), "completedAt": iso(step.completed_at),
            "durationMs": step.duration_ms, "input": step.input, "output": step.output, "error": step.error}


def _execution_full(run: Run, files: list[RunFile], review: Review | None) -> dict:
    """expand=execution: the slim meta plus steps (workflow) or files (agent), the review in
    both generations (feedback, review) and expected as {output, files} (contract quirk 5)."""
    expected_files = list(ExpectedFile.objects.filter(review=review)) if review is not None else []
    execution = _execution_meta(run)
    if run.automation.kind == AutomationKind.WORKFLOW:
        execution["steps"] = [step_to_dict(s) for s in RunStep.objects.filter(run_id=run.id).order_by("position")]
    else:
        execution["files"] = {"output": run_files_to_list(f for f in files if f.role == FileRole.OUTPUT)}
    execution["feedback"] = feedback_to_dict(review)
    execution["review"] = review_to_dict(review)
    execution["expected"] = {
        "output": review.expected if review is not None else None,
        "files": run_files_to_list(expected_files),
    }
    return execution


EXPAND_SECTIONS = ("input", "usage", "execution", "debug")


def run_to_dict(run: Run, *, expand: set[str] = frozenset()) -> dict:
    """Run: the list item plus output and files, with the expanded sections merged in."""
    files = list(run.files.all())
    review = load_review(run)  # with its users and corrections: both generations' review and the summary
    Run.review.related.set_cached_value(run, review)
    data = run_list_item_to_dict(run)
    data["source"] = _source_to_dict(run, detail=True)
    data["output"] = run.output
    data["files"] = [artifact_to_dict(f) for f in files]
    if "execution" in expand:
        data["execution"] = _execution_full(run, files, review)
    if "input" in expand:
        data["input"] = {
            "args": run.input,
            "files": run_files_to_list(f for f in files if f.role == FileRole.INPUT),
            "metadata": run.metadata,
        }
    if "usage" in expand:
        data["usage"] = usage_to_dict(run)
    if "debug" in expand:
        metadata = run.metadata if isinstance(run.metadata, dict) else {}
        data["debug"] = {"observability": metadata.get("observability"), "traceId": metadata.get("traceId")}
    return data
