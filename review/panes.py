"""Builds the review pane's context: one place for what the run page and its fragments show."""

import csv
import io
import json
from dataclasses import dataclass

from django.conf import settings
from django.middleware.csrf import get_token
from django.urls import reverse

from accounts.roles import REVIEWER, has_role
from datasets.services import default_example_name, latest_check
from review.forms import PromoteForm, StatusForm, VerdictForm, pretty
from review.jsontree import EditorContext, render_tree
from review.models import Review
from review.queries import RunQueue, audit_trail
from runs.files import preview_kind
from runs.sampling import bp_to_percent

PREVIEW_BYTES = 256 * 1024
PREVIEW_ROWS = 50


@dataclass
class FilePreview:
    kind: str
    text: str = ""
    rows: list | None = None
    truncated: bool = False


def file_preview(field_file, name: str, content_type: str, size: int) -> FilePreview:
    kind = preview_kind(name, content_type)
    if kind in ("image", "pdf", "none"):
        return FilePreview(kind=kind)
    try:
        with field_file.open("rb") as handle:
            data = handle.read(PREVIEW_BYTES + 1)
    except OSError:
        return FilePreview(kind="none")
    truncated = len(data) > PREVIEW_BYTES
    text = data[:PREVIEW_BYTES].decode("utf-8", errors="replace")
    if kind == "csv":
        rows = list(csv.reader(io.StringIO(text)))
        return FilePreview(kind="csv", rows=rows[: PREVIEW_ROWS + 1], truncated=truncated or len(rows) > PREVIEW_ROWS + 1)
    if kind == "json" and not truncated:
        try:
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            kind = "text"
    return FilePreview(kind=kind, text=text, truncated=truncated)


def review_of(run) -> Review | None:
    try:
        return run.review
    except Review.DoesNotExist:
        return None


def pane_context(request, run, *, verdict_form=None, status_form=None, promote_form=None, editor_state=None,
                 conflict=None, upload_form=None, file_error=None, message=None) -> dict:
    queue = RunQueue(request.GET, page_size=settings.LOUPE_QUEUE_PAGE_SIZE)
    qs = queue.querystring()
    qs = "" if qs == "?" else qs
    review = review_of(run)
    version = review.version if review else 0
    can_review = has_role(request.user, REVIEWER)
    previous, following = queue.neighbours(run)
    expected = review.expected if review else None
    current = expected if expected is not None else run.output
    page_url = reverse("run_detail", args=[run.pk]) + qs
    ctx = None
    if can_review and run.output is not None:
        state = editor_state or {}
        edit_path = request.GET.get("edit") if not state else state.get("path")
        add_path = request.GET.get("add") if not state else None
        ctx = EditorContext(
            page_url=page_url,
            fragment_url=reverse("run_editor", args=[run.pk]) + qs,
            action=reverse("run_correct", args=[run.pk]) + qs,
            version=version,
            csrf_token=get_token(request),
            open_op=state.get("op") or ("set" if edit_path is not None else "add" if add_path is not None else ""),
            open_path=state.get("path") if state else (edit_path if edit_path is not None else add_path),
            typed=state.get("value"),
            typed_key=state.get("key", ""),
            error=state.get("error", ""),
        )
    files = list(run.files.all())
    expected_files = list(review.expected_files.all()) if review else []
    previews = {f.pk: file_preview(f.file, f.name, f.content_type, f.size) for f in files}
    expected_previews = {f.pk: file_preview(f.file, f.name, f.content_type, f.size) for f in expected_files}
    return {
        "nav": "queue",
        "run": run,
        "automation": run.automation,
        "review": review,
        "version": version,
        "chip": run.chip,
        "queue": queue,
        "qs": qs,
        "previous": previous,
        "following": following,
        "can_review": can_review,
        "rate_label": bp_to_percent(run.automation.sampling_rate_bp),
        "output_tree": render_tree(current, original=run.output, ctx=ctx, diff=expected is not None)
        if run.output is not None else None,
        "editor_ctx": ctx,
        "has_correction": expected is not None,
        "raw_json": editor_state.get("value") if editor_state and editor_state.get("op") == "replace" else pretty(current),
        "raw_error": editor_state.get("error") if editor_state and editor_state.get("op") == "replace" else "",
        "input_tree": render_tree(run.input),
        "input_files": [(f, previews[f.pk]) for f in files if f.role == "input"],
        "output_files": [(f, previews[f.pk]) for f in files if f.role != "input"],
        "expected_files": [(f, expected_previews[f.pk]) for f in expected_files],
        "verdict_form": verdict_form or VerdictForm(initial={"body": review.body if review else "", "version": version}),
        "status_form": status_form or StatusForm(initial={"version": version}),
        "promote_form": promote_form or PromoteForm(initial={
            "name": (review.promoted_example_name if review and review.promoted_example_name else default_example_name(run))
        }),
        "upload_form": upload_form,
        "file_error": file_error,
        "max_upload_mb": settings.LOUPE_MAX_UPLOAD_BYTES / 1_048_576,
        "max_upload_bytes": settings.LOUPE_MAX_UPLOAD_BYTES,
        "audit": audit_trail(run),
        "example_check": latest_check(review.promoted_example) if review and review.promoted_example_id else None,
        "conflict": conflict,
        "pane_message": message,
    }
