"""The dataset review item page (docs/dataset-reviews.md): the snapshot input beside the expected
output in the workbench's editor, field and file decisions, comments, a corrected-file upload,
the timeline. Every button posts the page's one form with everything typed, so a refused write
(a stale item, a bad value, the upstream down) shows the page again with nothing typed lost."""

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import role_required
from accounts.roles import LEAD, REVIEWER, has_role
from backends.base import BackendError, ChangeRefused, NotFound, StorageFull
from backends.dataset_review_sources import source
from backends.dataset_reviews import DatasetReviewSource, ItemConflict, ReviewItem, ReviewRequest, parse_time, read_head
from dsreview import paths, staging
from review.jsondiff import EditError, resolve
from review.workbench import EditErrors, apply_op, apply_typed, raw_text, typed_values
from runs import pdf
from runs.files import download_response
from web.backend_errors import backend_errors
from web.editor import render_editor
from web.forms.dataset_reviews import NEW_FILE, CorrectedFileForm
from web.panes import file_preview, pdf_page_response

WRITE_ROLES = (REVIEWER, LEAD)
ACTIONS = {"approve", "remove", "reopen", "comment", "edit", "field-decision", "file-decision"}


def _decision_rows(review: ReviewRequest, item: ReviewItem) -> list[dict]:
    focus = {f["path"]: f.get("reason") for f in review.focus_fields}
    rows = []
    for path in paths.leaves(item.current_expected):
        rows.append({"path": path, "focus": path in focus or paths.covered(path, focus),
                     "reason": focus.get(path), "ignored": paths.covered(path, review.ignored_fields),
                     "decision": item.field_decisions.get(path), "pointer": paths.to_pointer(path)})
    return rows


class Kept:
    """What the reviewer sent that the page shows again: typed values, editor errors, the
    comment, the upload form and its staged file, and (after a 409) the events since."""

    def __init__(self, *, typed=None, errors=None, comment: str = "", conflict=None, upload_form=None, staged=None,
                 error: str | None = None):
        self.typed, self.errors, self.comment, self.conflict = typed, errors, comment, conflict
        self.upload_form, self.staged, self.error = upload_form, staged, error


def _context(request: HttpRequest, src: DatasetReviewSource, review: ReviewRequest, item: ReviewItem, kept: Kept | None = None) -> dict:
    kept = kept or Kept()
    writable = review.items_writable and has_role(request.user, *WRITE_ROLES)
    rows = _decision_rows(review, item)
    files = [{**f, "decision": item.file_decisions.get(f["path"])} for f in item.expected_files]
    return {
        "nav": "dsreviews", "review": review, "item": item, "drifted": item.input_drifted,
        "input_files": [(f, file_preview(f.read, f.path, f.content_type)) for f in src.input_files(review, item)],
        "expected_files": files, "events": src.events(review, item_id=item.id), "writable": writable,
        "editor": render_editor(item.current_expected, output=item.snapshot_expected, editable=writable,
                                typed=kept.typed, errors=kept.errors),
        "rows": rows, "focus_pointers": " ".join(r["pointer"] for r in rows if r["focus"]),
        "ignored_pointers": " ".join(r["pointer"] for r in rows if r["ignored"]),
        "updated_at": item.updated_at_wire, "comment": kept.comment, "conflict": kept.conflict,
        "seen_expected": json.dumps(item.current_expected, ensure_ascii=False), "frozen": review.frozen,
        "upload_form": kept.upload_form or CorrectedFileForm(), "staged": kept.staged, "error": kept.error,
        "new_file": NEW_FILE,
    }


@require_GET
@backend_errors
def item_detail(request: HttpRequest, pk: str, item_pk: str) -> HttpResponse:
    src = source()
    review, item = src.request_and_item(pk, item_pk)
    return render(request, "dsreview/item.html", _context(request, src, review, item))


def _body(request: HttpRequest, item: ReviewItem, typed: dict) -> dict:
    """The wire's item PATCH for the button pressed (EditErrors / ChangeRefused when it cannot be)."""
    action, _, target = (request.POST.get("action") or "").partition(":")
    body = {"expectedUpdatedAt": request.POST.get("expected_updated_at") or ""}
    if action not in ACTIONS and not request.POST.get("op"):
        raise ChangeRefused("Choose an action.", field="action")
    if request.POST.get("op"):  # the editor's row and key buttons: an edit of the structure
        body["expected"] = apply_op(apply_typed(item.current_expected, typed), request.POST["op"],
                                    post=request.POST).doc
        action = "edit"
    elif action == "edit" or (action == "approve" and typed and _changed(item, typed)):
        # Approving with typed changes saves them as an edit: nothing typed is dropped.
        body["expected"], action = apply_typed(item.current_expected, typed), "edit"
    if action in ("field-decision", "file-decision"):
        decision, _, where = target.partition(":")
        body["fieldPath" if action == "field-decision" else "filePath"] = where
        body["decision"] = None if decision == "clear" else decision
    if request.POST.get("comment"):
        body["comment"] = request.POST["comment"]
    body["action"] = action
    return body


@require_POST
@role_required(*WRITE_ROLES, action="review dataset examples")
@backend_errors
def item_act(request: HttpRequest, pk: str, item_pk: str) -> HttpResponse:
    src = source()
    review, item = src.request_and_item(pk, item_pk)
    typed, comment = typed_values(request.POST), request.POST.get("comment", "")
    try:
        body = _body(request, item, typed)
        src.item_act(review=review, item=item, user=request.user, body=body)
    except EditErrors as exc:
        return _again(request, src, review, item, Kept(typed=exc.typed, errors=exc.errors, comment=comment), 400)
    except ItemConflict as exc:
        return _conflict(request, src, review, exc.current, Kept(typed=_own_changes(request, typed), comment=comment))
    except (EditError, BackendError) as exc:
        return _again(request, src, review, item, Kept(typed=typed, comment=comment, error=str(exc)), _status(exc))
    return redirect(_next_url(src, review, item, body["action"]))


def _status(exc: Exception) -> int:
    if isinstance(exc, (EditError, ChangeRefused)):
        return 409 if getattr(exc, "status", None) == 409 else 400
    if isinstance(exc, NotFound):
        return 404
    return 507 if isinstance(exc, StorageFull) else 502


def _again(request: HttpRequest, src: DatasetReviewSource, review: ReviewRequest, item: ReviewItem, kept: Kept,
           status: int) -> HttpResponse:
    if kept.error:
        messages.error(request, kept.error)
    return render(request, "dsreview/item.html", _context(request, src, review, item, kept), status=status)


def _conflict(request: HttpRequest, src: DatasetReviewSource, review: ReviewRequest, current: ReviewItem, kept: Kept) -> HttpResponse:
    """409: the item as it is now, the events since the version the reviewer saw, what they typed.
    Only what the reviewer changed is kept over the new version: a field left as it was shows the
    value someone else saved, and sending the form again does not undo it."""
    seen = parse_time(request.POST.get("expected_updated_at"))
    kept.conflict = [e for e in src.events(review, item_id=current.id)
                     if seen is None or (e.created_at and e.created_at > seen)]
    return render(request, "dsreview/item.html", _context(request, src, review, current, kept), status=409)


def _own_changes(request: HttpRequest, typed: dict) -> dict:
    """The typed values that differ from the document the page showed (its seen_expected)."""
    try:
        seen = json.loads(request.POST.get("seen_expected") or "null")
    except ValueError:
        return typed
    own = {}
    for path, text in typed.items():
        try:
            before = resolve(seen, path)
        except EditError:
            own[path] = text
            continue
        if isinstance(before, (dict, list)) or text != raw_text(before):
            own[path] = text
    return own


def _changed(item: ReviewItem, typed: dict) -> bool:
    try:
        return apply_typed(item.current_expected, typed) != item.current_expected
    except EditErrors:
        return True


def _next_url(src, review: ReviewRequest, item: ReviewItem, action: str) -> str:
    """After a decision on the whole item, the next pending item; else this one again."""
    if action in ("approve", "remove", "edit"):
        following = next((i for i in src.items(review) if i.status == "pending" and i.position > item.position), None)
        if following is not None:
            return reverse("dsreview_item", args=[review.key, following.id])
    return reverse("dsreview_item", args=[review.key, item.id])


@require_POST
@role_required(*WRITE_ROLES, action="review dataset examples")
@backend_errors
def item_upload(request: HttpRequest, pk: str, item_pk: str) -> HttpResponse:
    """A corrected or new expected file, as the API's edit-file. The page's one form brings the
    typed fields along; a file that could not be saved stays staged (dsreview.staging)."""
    src = source()
    review, item = src.request_and_item(pk, item_pk)
    typed, comment = typed_values(request.POST), request.POST.get("comment", "")
    kept_file = staging.staged(request.POST.get("staged", ""), user_id=request.user.pk, item_key=f"{pk}/{item_pk}")
    form = CorrectedFileForm(request.POST, request.FILES, has_staged=kept_file is not None)
    kept = Kept(typed=typed, comment=comment, upload_form=form, staged=kept_file)
    if not form.is_valid():
        return _again(request, src, review, item, kept, 400)
    upload = form.cleaned_data["upload"]
    if upload is not None:
        content, name, content_type = upload.read(), upload.name, upload.content_type or ""
    else:
        content, name, content_type = kept_file.read(), kept_file.filename, kept_file.content_type
    try:
        src.item_file_edit(review=review, item=item, user=request.user,
                           expected_updated_at=request.POST.get("expected_updated_at") or "", content=content,
                           content_type=content_type, filename=name, file_path=form.cleaned_data["file_path"],
                           new_path=form.cleaned_data["new_path"], comment=comment or None)
    except BackendError as exc:
        if upload is not None:  # keep the new bytes; the older staged ones are replaced
            staging.discard(kept_file)
            kept.staged = staging.stage(content=content, filename=name, content_type=content_type,
                                        user_id=request.user.pk, item_key=f"{pk}/{item_pk}")
        kept.upload_form = CorrectedFileForm(initial={"upload_target": request.POST.get("upload_target"),
                                                      "upload_new_path": request.POST.get("upload_new_path")})
        if isinstance(exc, ItemConflict):
            kept.typed = _own_changes(request, typed)
            return _conflict(request, src, review, exc.current, kept)
        kept.error = (str(exc) if not isinstance(exc, StorageFull) else
                      "The file store is full: the corrected file was not saved. Try again once an admin has freed "
                      "space; what you typed is kept.")
        return _again(request, src, review, item, kept, _status(exc))
    staging.discard(kept_file)
    messages.success(request, f"Saved the corrected file {form.cleaned_data['file_path'] or form.cleaned_data['new_path']}.")
    return redirect(reverse("dsreview_item", args=[review.key, item.id]) + "#dsr-files")


@require_GET
@backend_errors
def item_file(request: HttpRequest, pk: str, item_pk: str, kind: str, path: str) -> HttpResponse:
    src = source()
    review, item = src.request_and_item(pk, item_pk)
    return download_response(src.item_file(review, item, kind, path), inline=request.GET.get("inline") == "1")


@require_GET
@backend_errors
def item_pdf_page(request: HttpRequest, pk: str, item_pk: str, number: int, path: str) -> HttpResponse:
    """Page `number` of an input PDF as a PNG, as the run pane shows documents (runs.pdf)."""
    src = source()
    review, item = src.request_and_item(pk, item_pk)
    data = read_head(src.item_file(review, item, "input", path), pdf.MAX_BYTES + 1)
    return pdf_page_response(data if len(data) <= pdf.MAX_BYTES else None, number, 1000)
