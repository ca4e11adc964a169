"""Builds the review pane's context: one place for what the run page and its fragments show."""

import csv
import email.errors
import email.header
import io
import json
from dataclasses import dataclass, replace
from email import policy as email_policy
from email.parser import BytesParser
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from accounts.roles import REVIEWER, has_role
from backends import get_backend
from backends.base import BackendError, FileInfo, RunInfo
from backends.saves import pretty
from datasets.services import default_example_name
from review.workbench import Corrections
from runs import jsonbounds, pdf
from runs.files import preview_kind
from runs.pdf import page_count
from runs.sampling import bp_to_percent
from web.editor import render_editor
from web.forms.review import PaneForm
from web.html import format_html
from web.jsontree import render_tree
from web.queue_list import RunQueue, ago

PREVIEW_BYTES = 256 * 1024  # the default of LOUPE_PREVIEW_KB
PREVIEW_ROWS = 50  # the default of LOUPE_PREVIEW_ROWS
EMAIL_HEADER_CHARS = 2000  # a header's value shown (and decoded) at most
EMAIL_HEADERS = ("From", "To", "Cc", "Date", "Subject")
UNAVAILABLE = "Preview unavailable — download the file to read it"


@dataclass
class FilePreview:
    kind: str
    text: str = ""
    rows: list | None = None
    truncated: bool = False
    pages: int = 0  # PDFs: pages rendered as images (runs.pdf)
    headers: list | None = None  # e-mail: (name, value) pairs
    note: str = ""  # why a preview is missing


@dataclass(frozen=True)
class PreviewLimits:
    """The bounds of one preview (docs/security.md#documents): bytes read, rows, columns, cell length."""

    max_bytes: int = PREVIEW_BYTES
    rows: int = PREVIEW_ROWS
    columns: int = 30
    cell_chars: int = 200

    @classmethod
    def from_settings(cls) -> "PreviewLimits":
        return cls(max_bytes=settings.LOUPE_PREVIEW_KB * 1024, rows=settings.LOUPE_PREVIEW_ROWS,
                   columns=settings.LOUPE_PREVIEW_COLUMNS, cell_chars=settings.LOUPE_PREVIEW_CELL_CHARS)


def pane_preview_kind(name: str, content_type: str) -> str:
    if name.lower().endswith(".eml") or content_type == "message/rfc822":
        return "email"
    return preview_kind(name, content_type)


def unavailable(reason: str) -> FilePreview:
    return FilePreview(kind="none", note=f"{UNAVAILABLE} ({reason}).")


def file_preview(read_head, name: str, content_type: str, limits: PreviewLimits | None = None) -> FilePreview:
    """What the pane previews of a file; `read_head(limit)` returns its first bytes (OSError: none).
    Bounded in bytes read, output and time: a file a preview cannot show within its limits is
    "preview unavailable", never a failed pane."""
    limits = limits or PreviewLimits.from_settings()
    kind = pane_preview_kind(name, content_type)
    if kind == "pdf":
        return _pdf_preview(read_head)
    if kind in ("image", "none"):
        return FilePreview(kind=kind)
    try:
        data = read_head(limits.max_bytes + 1)
    except (OSError, BackendError):
        return FilePreview(kind="none")
    truncated = len(data) > limits.max_bytes
    data = data[: limits.max_bytes]
    try:
        return _preview(kind, data, truncated, limits)
    except (ValueError, LookupError, RecursionError, MemoryError, csv.Error, email.errors.MessageError) as exc:
        # The parsers are bounded by the bytes they get; anything they still refuse is no 500.
        return _refused(kind, exc)


def _pdf_preview(read_head) -> FilePreview:
    """A PDF's page count, or a note saying why there is none."""
    try:
        return FilePreview(kind="pdf", pages=page_count(read_head(pdf.MAX_BYTES + 1)))
    except (OSError, BackendError):
        return FilePreview(kind="pdf", note="Not rendered here (the page's budget of file reads is spent).")
    except pdf.PdfUnreadable as exc:
        return FilePreview(kind="pdf", note=str(exc))


def _refused(kind: str, exc: Exception) -> FilePreview:
    """The "preview unavailable" note saying why the parser of `kind` refused the file."""
    what = {"csv": "CSV", "json": "JSON", "email": "e-mail"}.get(kind, kind)
    if isinstance(exc, RecursionError):
        return unavailable(f"the {what} nests too deeply to show")
    if isinstance(exc, MemoryError):
        return unavailable(f"the {what} is too large to show")
    return unavailable(f"the {what} could not be read: {str(exc)[:120] or type(exc).__name__}")


def _preview(kind: str, data: bytes, truncated: bool, limits: PreviewLimits) -> FilePreview:
    if kind == "email":
        return email_preview(data, truncated)
    text = data.decode("utf-8", errors="replace")
    if kind == "csv":
        return csv_preview(text, truncated, limits)
    if kind == "json" and not truncated:
        try:
            pretty_text = json.dumps(jsonbounds.loads(text), indent=2, ensure_ascii=False)
        except ValueError:  # not JSON, or nested past LOUPE_MAX_JSON_DEPTH: shown as text
            kind = "text"
        else:
            if len(pretty_text) <= 4 * limits.max_bytes:  # indentation of a deep document can multiply it
                text = pretty_text
    return FilePreview(kind=kind, text=text, truncated=truncated)


def _cut(cell: str, chars: int) -> str:
    return cell if len(cell) <= chars else cell[: chars - 1] + "…"


def csv_preview(text: str, truncated: bool, limits: PreviewLimits) -> FilePreview:
    """The first rows of a CSV, columns and cells cut to the limits. A cell longer than the csv
    module's field limit (128 KB) is a csv.Error: "preview unavailable"."""
    rows, cut = [], truncated
    for row in csv.reader(io.StringIO(text)):
        if len(rows) > limits.rows:
            cut = True
            break
        if len(row) > limits.columns:
            row, cut = row[: limits.columns] + ["…"], True
        if any(len(cell) > limits.cell_chars for cell in row):
            row, cut = [_cut(cell, limits.cell_chars) for cell in row], True
        rows.append(row)
    return FilePreview(kind="csv", rows=rows, truncated=cut)


def _header_text(raw) -> str:
    """A header's value as shown: unfolded, cut to EMAIL_HEADER_CHARS *before* any decoding, its
    encoded words (=?utf-8?...?=) decoded. No address parsing: the structured parser of the
    email package is quadratic or recursive on hostile headers (60,000 addresses, nested comments)."""
    value = " ".join(str(raw).split())
    cut = len(value) > EMAIL_HEADER_CHARS
    value = value[:EMAIL_HEADER_CHARS]
    if "=?" in value:
        try:
            value = str(email.header.make_header(email.header.decode_header(value)))
        except (ValueError, LookupError, email.errors.HeaderParseError):
            pass
    return value + (" …" if cut else "")


def _part_text(part) -> str:
    payload = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


def email_preview(data: bytes, truncated: bool) -> FilePreview:
    """An e-mail's main headers and its first plain-text part (HTML parts are not rendered).
    Parsed with the compat32 policy: headers stay strings (see _header_text)."""
    message = BytesParser(policy=email_policy.compat32).parsebytes(data)
    headers = [(h, _header_text(message[h])) for h in EMAIL_HEADERS if message[h]]
    body = ""
    for depth, part in enumerate(message.walk()):
        if depth > 200:
            break
        if part.get_content_type() == "text/plain" and not part.is_multipart() and \
                part.get_content_disposition() != "attachment":
            body = _part_text(part)
            break
    if not body:
        body = "(no plain-text part)"
    return FilePreview(kind="email", text=body, headers=headers, truncated=truncated)


class _Previews:
    """Previews of a run's files within the backend's budget of reads (remote reads cost calls)
    and the pane's budget of preview bytes (LOUPE_PANE_PREVIEW_KB): a pane of a hundred small
    files shows the first ones, the others say the budget is spent."""

    def __init__(self, backend, run: RunInfo):
        self.backend, self.run, self.left = backend, run, backend.preview_budget
        self.limits = PreviewLimits.from_settings()
        self.bytes_left = settings.LOUPE_PANE_PREVIEW_KB * 1024

    def __call__(self, files: list[FileInfo], *, expected: bool = False) -> list[tuple]:
        return [(f, self.preview(f, expected)) for f in files]

    def preview(self, f: FileInfo, expected: bool) -> FilePreview:
        def read_head(limit: int) -> bytes:
            if self.left is not None:
                if self.left <= 0:
                    raise OSError("preview budget spent")
                self.left -= 1
            return self.backend.read_head(self.run, f, limit, expected=expected)

        if pane_preview_kind(f.name, f.content_type) in ("image", "none", "pdf"):
            return file_preview(read_head, f.name, f.content_type, self.limits)
        if self.bytes_left < 1024:
            return unavailable(f"this page already shows {settings.LOUPE_PANE_PREVIEW_KB} KB of previews, "
                               "LOUPE_PANE_PREVIEW_KB")
        limits = replace(self.limits, max_bytes=min(self.limits.max_bytes, self.bytes_left))
        preview = file_preview(read_head, f.name, f.content_type, limits)
        self.bytes_left -= min(limits.max_bytes, f.size if f.size is not None else limits.max_bytes)
        return preview


# The pane shows a run's latest changes; the whole history loads on demand (web/run_pane.py
# run_history): fifty entries were a third of the pane's time on a much-edited run.
HISTORY_SHOWN = 10


def _history(backend, run_id: str) -> dict:
    events = backend.audit_trail(run_id, limit=HISTORY_SHOWN + 1)
    return {"audit": history_html(events[:HISTORY_SHOWN]), "audit_more": len(events) > HISTORY_SHOWN}


_ACTION_PREFIXES = ("verdict:", "correct:", "expected_file:", "save:")


def history_html(events) -> SafeString:
    """The history's <li> items, built once in Python (like the queue's rows): per-event template
    filters (two dates, a natural time, four cuts) were most of the history's rendering time.
    Every value is escaped (web/html.py)."""
    now = timezone.now()
    items = []
    for event in events:
        action = event.action
        for prefix in _ACTION_PREFIXES:
            action = action.replace(prefix, "")
        local = timezone.localtime(event.created_at)
        lines = mark_safe("<br>".join(format_html('<span class="prewrap">{}</span>', line)  # noqa: S308
                                      for line in event.describe()))
        items.append(format_html(
            '<li><strong>{}</strong> <span class="muted">{}</span>{}\n'
            '<time class="muted small" datetime="{}" title="{}"> · {}</time>\n<div class="what">{}</div></li>',
            getattr(event, "username", None) or "system", action,
            format_html(' <span class="badge">{}</span>', event.via) if event.via != "web" else "",
            local.isoformat(), local.strftime("%Y-%m-%d %H:%M:%S ") + (local.tzname() or ""), ago(event.created_at, now),
            lines))
    return mark_safe("".join(items))  # noqa: S308 (each item built by format_html above)


@dataclass
class PaneState:
    """What one request shows in the pane besides the run: after a failed save, what the
    reviewer typed (`pane_form`, `typed` and `shown`, the correction as typed, not as stored)
    and why it was not saved; after a save, where the focus goes and who holds the run."""

    pane_form: PaneForm | None = None
    typed: dict | None = None
    field_errors: dict | None = None
    shown: Any = None  # None: the correction as stored
    op_error: str | None = None
    focus: str | None = None
    hold: Any = None  # review.claims.Hold
    conflict: dict | None = None
    upload_form: Any = None
    file_error: str | None = None
    error: BackendError | None = None


def _stored_form(run: RunInfo) -> PaneForm:
    """The pane form as the review is stored (unbound)."""
    review = run.review
    if review is None:
        return PaneForm(initial={"body": "", "version": 0, "example_name": default_example_name(run)})
    return PaneForm(initial={"body": review.body, "version": review.version,
                             "example_name": review.promoted_example_name or default_example_name(run)})


def _editor(run: RunInfo, state: PaneState, *, shown, can_review: bool, corrected: bool) -> dict:
    """The correction editor's fields and the list of corrections, for the document shown."""
    if shown is None:
        return {"editor": None, "corrections": []}
    return {"editor": render_editor(shown, output=run.output, editable=can_review, typed=state.typed,
                                    errors=state.field_errors),
            "corrections": Corrections.between(run.output, shown).summary if corrected else []}


def pane_context(request, run: RunInfo, state: PaneState | None = None) -> dict:
    """Everything the review pane shows."""
    state = state or PaneState()
    backend = get_backend()
    queue = RunQueue(request.GET, page_size=settings.LOUPE_QUEUE_PAGE_SIZE)
    qs = queue.querystring()
    qs = "" if qs == "?" else qs
    review = run.review
    version = review.version if review else 0
    can_review = has_role(request.user, REVIEWER)
    expected = review.expected if review else None
    current = expected if expected is not None else run.output
    previews = _Previews(backend, run)
    shown = current if state.shown is None else state.shown
    pane_form = state.pane_form or _stored_form(run)
    return {
        "pane_form": pane_form,
        # What the fields hold is not what is stored (a failed save): the page asks before leaving.
        "unsaved": pane_form.is_bound,
        **_editor(run, state, shown=shown, can_review=can_review,
                  corrected=expected is not None or shown is not current),
        "op_error": state.op_error,
        "focus": state.focus,
        "hold": state.hold,
        # The steps come after the pane (htmx, run_steps in web/run_pane.py): one query less here.
        "steps_reported": backend.reports_steps,
        "can_start_from_shape": can_review and run.output is None and shown is None,
        "nav": "queue",
        "run": run,
        "automation": run.automation,
        "review": review,
        "version": version,
        "chip": run.chip,
        "queue": queue,
        "qs": qs,
        "can_review": can_review,
        "rate_label": bp_to_percent(run.automation.sampling_rate_bp),
        "has_correction": expected is not None,
        "raw_json": pane_form["raw"].value() or pretty(shown),
        "input_tree": render_tree(run.input),
        "input_files": previews(run.input_files),
        "output_files": previews(run.output_files),
        "expected_files": previews(review.expected_files if review else [], expected=True),
        "upload_form": state.upload_form,
        "file_error": state.file_error,
        "max_upload_mb": settings.LOUPE_MAX_UPLOAD_BYTES / 1_048_576,
        "max_upload_bytes": settings.LOUPE_MAX_UPLOAD_BYTES,
        **_history(backend, run.pk),
        "example_check": review.example_check if review else None,
        # Regression checks need runs stored here; in proxy mode they are not offered.
        "checks_enabled": backend.name == "local",
        "conflict": state.conflict,
        "backend_error": state.error,
    }


def pdf_page_response(data: bytes | None, number: int, width: int) -> HttpResponse:
    """Page `number` of a PDF's bytes (None: over pdf.MAX_BYTES) as the PNG the pages show:
    rendered in a limited child process and cached (runs.pdf), a placeholder image naming the
    limit past it, a 404 for a file that is no PDF, too large, or without that page."""
    try:
        if data is None:
            raise pdf.PdfUnreadable(f"The PDF is larger than {pdf.MAX_BYTES // 1_048_576} MB; download it to read it.")
        rendered = pdf.render_page(data, number, width=width)
    except pdf.PdfUnreadable as exc:
        return HttpResponse(str(exc), status=404, content_type="text/plain; charset=utf-8")
    response = HttpResponse(rendered.png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600" if rendered.ok else "private, max-age=60"
    if not rendered.ok:
        response["X-Loupe-Not-Rendered"] = rendered.reason
    return response
