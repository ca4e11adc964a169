"""Builds the review pane's context: one place for what the run page and its fragments show."""

import csv
import io
import json
from dataclasses import dataclass

from django.conf import settings
from django.middleware.csrf import get_token
from django.urls import reverse

from accounts.roles import REVIEWER, has_role
from backends import get_backend
from backends.base import BackendError, FileInfo, RunInfo
from datasets.services import default_example_name
from review.jsontree import EditorContext, render_tree
from runs.files import preview_kind
from runs.sampling import bp_to_percent
from web.forms.review import PromoteForm, StatusForm, VerdictForm, pretty
from web.queue_list import RunQueue

PREVIEW_BYTES = 256 * 1024
PREVIEW_ROWS = 50
# The pane's prev/next links when the backend resolves neighbours only on click.
LAZY = "lazy"


@dataclass
class FilePreview:
    kind: str
    text: str = ""
    rows: list | None = None
    truncated: bool = False


def file_preview(read_head, name: str, content_type: str) -> FilePreview:
    """What the pane previews of a file; `read_head(limit)` returns its first bytes (OSError: none)."""
    kind = preview_kind(name, content_type)
    if kind in ("image", "pdf", "none"):
        return FilePreview(kind=kind)
    try:
        data = read_head(PREVIEW_BYTES + 1)
    except (OSError, BackendError):
        return FilePreview(kind="none")
    truncated = len(data) > PREVIEW_BYTES
    text = data[:PREVIEW_BYTES].decode("utf-8", errors="replace")
    if kind == "csv":
        rows = list(csv.reader(io.StringIO(text)))
        return FilePreview(kind="csv", rows=rows[: PREVIEW_ROWS + 1],
                           truncated=truncated or len(rows) > PREVIEW_ROWS + 1)
    if kind == "json" and not truncated:
        try:
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            kind = "text"
    return FilePreview(kind=kind, text=text, truncated=truncated)


class _Previews:
    """Previews of a run's files within the backend's budget of reads (remote reads cost calls)."""

    def __init__(self, backend, run: RunInfo):
        self.backend, self.run, self.left = backend, run, backend.preview_budget

    def __call__(self, files: list[FileInfo], *, expected: bool = False) -> list[tuple]:
        return [(f, self.preview(f, expected)) for f in files]

    def preview(self, f: FileInfo, expected: bool) -> FilePreview:
        def read_head(limit: int) -> bytes:
            if self.left is not None:
                if self.left <= 0:
                    raise OSError("preview budget spent")
                self.left -= 1
            return self.backend.read_head(self.run, f, limit, expected=expected)

        return file_preview(read_head, f.name, f.content_type)


def pane_context(request, run: RunInfo, *, verdict_form=None, status_form=None, promote_form=None, editor_state=None,
                 conflict=None, upload_form=None, file_error=None, message=None, error=None) -> dict:
    backend = get_backend()
    queue = RunQueue(request.GET, page_size=settings.LOUPE_QUEUE_PAGE_SIZE)
    qs = queue.querystring()
    qs = "" if qs == "?" else qs
    review = run.review
    version = review.version if review else 0
    can_review = has_role(request.user, REVIEWER)
    if backend.eager_neighbours:
        previous, following = queue.neighbours(run)
    else:  # resolved on click by web.run_pane.run_step
        previous = following = LAZY
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
    previews = _Previews(backend, run)
    raw_edit = editor_state if editor_state and editor_state.get("op") == "replace" else {}
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
        "raw_json": raw_edit["value"] if raw_edit else pretty(current),
        "raw_error": raw_edit.get("error", ""),
        "input_tree": render_tree(run.input),
        "input_files": previews(run.input_files),
        "output_files": previews(run.output_files),
        "expected_files": previews(review.expected_files if review else [], expected=True),
        "verdict_form": verdict_form or VerdictForm(initial={"body": review.body if review else "",
                                                             "version": version}),
        "status_form": status_form or StatusForm(initial={"version": version}),
        "promote_form": promote_form or PromoteForm(initial={
            "name": (review.promoted_example_name if review and review.promoted_example_name
                     else default_example_name(run))
        }),
        "upload_form": upload_form,
        "file_error": file_error,
        "max_upload_mb": settings.LOUPE_MAX_UPLOAD_BYTES / 1_048_576,
        "max_upload_bytes": settings.LOUPE_MAX_UPLOAD_BYTES,
        "audit": backend.audit_trail(run.pk),
        "example_check": review.example_check if review else None,
        # Regression checks need runs stored here; in proxy mode they are not offered.
        "checks_enabled": backend.name == "local",
        "conflict": conflict,
        "pane_message": message,
        "backend_error": error,
    }
