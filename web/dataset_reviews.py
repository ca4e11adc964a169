"""Dataset review pages (docs/dataset-reviews.md): the inbox, sending examples for review from a
dataset, one request (lifecycle, apply), and one item (the snapshot input beside the expected
output in the workbench's editor, field and file decisions, comments, the timeline).
Local backend only: proxy mode does not serve these pages yet."""

import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import role_required
from accounts.roles import LEAD, REVIEWER, has_role
from datasets.models import Example, ExampleFile, ExampleFolder
from dsreview import paths, services
from dsreview.models import (
    FROZEN,
    ITEMS_WRITABLE,
    TRANSITIONS,
    DatasetReview,
    DatasetReviewEvent,
    DatasetReviewFile,
    DatasetReviewItem,
    RequestStatus,
)
from dsreview.queries import GONE, current_expected_files, failed_example_names, item_drifted, progress_for
from review.jsondiff import EditError, resolve
from review.workbench import EditErrors, apply_op, apply_typed, raw_text, typed_values
from runs import pdf
from runs.files import FILE_CSP, inline_content_type
from runs.models import Automation
from web.editor import render_editor
from web.forms.dataset_reviews import ReviewRequestForm
from web.panes import file_preview, pdf_page_response

WRITE_ROLES = (REVIEWER, LEAD)
LABELS = {"open": "Open", "paused": "Pause", "closed": "Close the request", "cancelled": "Cancel the request",
          "draft": "Back to draft"}
PAGE_SIZE = 50


# --- inbox --------------------------------------------------------------------------------


@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or "active"
    qs = DatasetReview.objects.select_related("automation").order_by("-created_at", "-id")
    if status == "active":
        qs = qs.filter(status__in=[RequestStatus.OPEN, RequestStatus.PAUSED])
    elif status in RequestStatus.values:
        qs = qs.filter(status=status)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    progress = progress_for([r.pk for r in page.object_list])
    rows = [(r, progress[r.pk]) for r in page.object_list]
    return render(request, "dsreview/inbox.html", {
        "nav": "dsreviews", "rows": rows, "page": page, "status": status,
        "statuses": [("active", "Open and paused"), *[(s, s.capitalize()) for s in RequestStatus.values],
                     ("all", "All")]})


# --- sending examples for review ---------------------------------------------------------


@require_http_methods(["GET", "POST"])
@role_required(LEAD, action="send examples for review")
def request_new(request: HttpRequest, ref: str) -> HttpResponse:
    automation = _automation(ref)
    names = list(Example.objects.filter(automation=automation).order_by("row_order", "name")
                 .values_list("name", flat=True)[:2000])
    failed = failed_example_names(automation)
    form = ReviewRequestForm(request.POST or None, names=names, failed_names=failed,
                             initial={"examples": request.GET.getlist("example")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            review = services.review_create(
                automation=automation, user=request.user, title=data["title"], example_names=data["example_names"],
                instructions=data["instructions"], focus_fields=data["focus_fields"],
                ignored_fields=data["ignored_fields"], item_notes=data["item_notes"], status=data["status"])
        except services.ReviewInputError as exc:
            form.add_service_error(exc.field, str(exc))
        else:
            messages.success(request, f"Sent {len(data['example_names'])} example(s) for review.")
            return redirect("dsreview_request", pk=review.pk)
    return render(request, "dsreview/new.html", {"nav": "datasets", "automation": automation, "form": form,
                                                 "failed": failed})


def _automation(ref: str) -> Automation:
    try:
        return Automation.objects.by_ref(ref)
    except Automation.DoesNotExist:
        raise Http404(f"No automation {ref}") from None


# --- one request --------------------------------------------------------------------------


def _request(pk) -> DatasetReview:
    return get_object_or_404(DatasetReview.objects.select_related("automation", "created_by"), pk=pk)


@require_GET
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    review = _request(pk)
    items = list(review.items.all())
    return render(request, "dsreview/request.html", {
        "nav": "dsreviews", "review": review, "items": items, "progress": progress_for([review.pk])[review.pk],
        "can_lead": has_role(request.user, LEAD), "transitions": [
            (s, "Reopen" if review.status in FROZEN else LABELS[s]) for s in sorted(TRANSITIONS[review.status])],
        "to_apply": sum(1 for i in items if i.status in ("edited", "removed") and i.applied_at is None),
        "removed": [i for i in items if i.status == "removed" and i.applied_at is None]})


@require_POST
@role_required(LEAD, action="change dataset review requests")
def request_status(request: HttpRequest, pk: int) -> HttpResponse:
    review = _request(pk)
    try:
        services.review_update(review=review, user=request.user, changes={"status": request.POST.get("status")})
    except services.ReviewInputError as exc:
        messages.error(request, str(exc))
    except services.RequestFrozen as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"The request is now {request.POST.get('status')}."
                         + (" Nothing was written to the dataset; apply the outcome when you are ready."
                            if request.POST.get("status") == "closed" else ""))
    return redirect("dsreview_request", pk=review.pk)


@require_POST
@role_required(LEAD, action="apply a review's outcome to the dataset")
def request_apply(request: HttpRequest, pk: int) -> HttpResponse:
    review = _request(pk)
    try:
        result = services.review_apply(review=review, user=request.user,
                                       delete_removed=request.POST.get("delete_removed") == "on")
    except services.ReviewInputError as exc:
        messages.error(request, str(exc))
        return redirect("dsreview_request", pk=review.pk)
    if result.replaced:
        messages.success(request, f"Replaced the expected output of {', '.join(result.replaced)}.")
    if result.deleted:
        messages.success(request, f"Deleted the example(s) {', '.join(result.deleted)}.")
    if result.needs_confirmation:
        messages.warning(request, f"Not deleted yet: {', '.join(result.needs_confirmation)}. Tick the confirmation "
                                  "to delete removed examples.")
    for name, why in result.skipped.items():
        messages.warning(request, f"Skipped {name}: {why}.")
    if not (result.replaced or result.deleted or result.needs_confirmation or result.skipped):
        messages.info(request, "Nothing to apply: no edited or removed item is waiting.")
    return redirect("dsreview_request", pk=review.pk)


# --- one item -----------------------------------------------------------------------------


def _item(pk, item_pk) -> DatasetReviewItem:
    return get_object_or_404(DatasetReviewItem.objects.select_related("review__automation", "example", "updated_by"),
                             pk=item_pk, review_id=pk)


def _decision_rows(review: DatasetReview, item: DatasetReviewItem) -> list[dict]:
    focus = {f["path"]: f.get("reason") for f in review.focus_fields or []}
    rows = []
    for path in paths.leaves(item.current_expected):
        rows.append({"path": path, "focus": path in focus or paths.covered(path, focus),
                     "reason": focus.get(path), "ignored": paths.covered(path, review.ignored_fields or []),
                     "decision": (item.field_decisions or {}).get(path), "pointer": paths.to_pointer(path)})
    return rows


def _item_context(request: HttpRequest, item: DatasetReviewItem, *, typed=None, errors=None, comment: str = "",
                  conflict=None) -> dict:
    review = item.review
    live = list(ExampleFile.objects.filter(example_id=item.example_id, folder=ExampleFolder.INPUT)
                .order_by("path")) if item.example_id else []
    drifted = item_drifted(item, item.example.input if item.example else GONE, live)
    hashes = {h["path"] for h in (item.snapshot_manifest or {}).get("inputFileHashes") or []}
    input_files = [(f, _preview(f)) for f in live if f.path in hashes]
    events = list(DatasetReviewEvent.objects.filter(item=item).select_related("actor").order_by("created_at", "id"))
    writable = review.status in ITEMS_WRITABLE and has_role(request.user, *WRITE_ROLES)
    rows = _decision_rows(review, item)
    return {
        "nav": "dsreviews", "review": review, "item": item, "drifted": drifted, "input_files": input_files,
        "expected_files": [{**f, "decision": (item.file_decisions or {}).get(f["path"])}
                           for f in current_expected_files(item)], "events": events, "writable": writable,
        "editor": render_editor(item.current_expected, output=item.snapshot_expected, editable=writable,
                                typed=typed, errors=errors),
        "rows": rows, "focus_pointers": " ".join(r["pointer"] for r in rows if r["focus"]),
        "ignored_pointers": " ".join(r["pointer"] for r in rows if r["ignored"]),
        "updated_at": item.updated_at.isoformat(), "comment": comment, "conflict": conflict,
        "seen_expected": json.dumps(item.current_expected, ensure_ascii=False),
        "frozen": review.status in FROZEN,
    }


def _preview(row: ExampleFile):
    def read_head(limit: int) -> bytes:
        with row.file.open("rb") as handle:
            return handle.read(limit)

    preview = file_preview(read_head, row.path, row.content_type)
    return preview


@require_GET
def item_detail(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    return render(request, "dsreview/item.html", _item_context(request, _item(pk, item_pk)))


ACTIONS = {"approve", "remove", "reopen", "comment", "edit", "field-decision", "file-decision"}


@require_POST
@role_required(*WRITE_ROLES, action="review dataset examples")
def item_act(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    """The item page's one form: every button posts it with what was typed (the editor's fields,
    the comment), so a refused write shows the page again with nothing typed lost."""
    item = _item(pk, item_pk)
    typed = typed_values(request.POST)
    comment = request.POST.get("comment", "")
    action, _, target = (request.POST.get("action") or "").partition(":")
    kwargs = {}
    try:
        if action not in ACTIONS and not request.POST.get("op"):
            raise services.ReviewInputError("Choose an action.", "action")
        if request.POST.get("op"):  # the editor's row and key buttons: an edit of the structure
            doc = apply_op(apply_typed(item.current_expected, typed), request.POST["op"], post=request.POST).doc
            kwargs["expected"], action = doc, "edit"
        elif action == "edit" or (action == "approve" and typed and _changed(item, typed)):
            # Approving with typed changes saves them as an edit: nothing typed is dropped.
            kwargs["expected"] = apply_typed(item.current_expected, typed)
            action = "edit"
        if action == "field-decision":
            decision, _, field_path = target.partition(":")
            kwargs.update(field_path=field_path, decision=None if decision == "clear" else decision)
        if action == "file-decision":
            decision, _, file_path = target.partition(":")
            kwargs.update(file_path=file_path, decision=None if decision == "clear" else decision)
        services.item_update(review=item.review, item_id=item.pk, user=request.user, action=action,
                             expected_updated_at=request.POST.get("expected_updated_at"),
                             comment=comment or None, **kwargs)
    except EditErrors as exc:
        context = _item_context(request, item, typed=exc.typed, errors=exc.errors, comment=comment)
        return render(request, "dsreview/item.html", context, status=400)
    except services.StaleItem as exc:
        current = _item(pk, exc.item.pk)
        seen = request.POST.get("expected_updated_at") or ""
        since = [e for e in DatasetReviewEvent.objects.filter(item=current).select_related("actor")
                 .order_by("created_at", "id") if e.created_at.isoformat() > seen]
        # Only what the reviewer changed is kept over the new version: a field left as it was
        # shows the value someone else saved, and sending the form again does not undo it.
        context = _item_context(request, current, typed=_own_changes(request, typed), comment=comment,
                                conflict=since)
        return render(request, "dsreview/item.html", context, status=409)
    except EditError as exc:
        messages.error(request, str(exc))
        return render(request, "dsreview/item.html", _item_context(request, item, typed=typed, comment=comment),
                      status=400)
    except (services.ReviewInputError, services.ItemsLocked) as exc:
        messages.error(request, str(exc))
        context = _item_context(request, item, typed=typed, comment=comment)
        return render(request, "dsreview/item.html", context, status=400 if isinstance(
            exc, services.ReviewInputError) else 409)
    return redirect(_next_url(item, action))


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


def _changed(item: DatasetReviewItem, typed: dict) -> bool:
    try:
        return apply_typed(item.current_expected, typed) != item.current_expected
    except EditErrors:
        return True


def _next_url(item: DatasetReviewItem, action: str) -> str:
    """After a decision on the whole item, the next pending item; else this one again."""
    here = reverse("dsreview_item", args=[item.review_id, item.pk])
    if action in ("approve", "remove", "edit"):
        following = (DatasetReviewItem.objects.filter(review_id=item.review_id, status="pending",
                                                      position__gt=item.position)
                     .order_by("position").values_list("pk", flat=True).first())
        if following:
            return reverse("dsreview_item", args=[item.review_id, following])
    return here


@require_GET
def item_file(request: HttpRequest, pk: int, item_pk: int, kind: str, path: str) -> HttpResponse:
    item = _item(pk, item_pk)
    if kind == "expected":
        entry = next((f for f in current_expected_files(item) if f["path"] == path), None)
        if entry is not None and entry["origin"] != "snapshot":
            upload = get_object_or_404(DatasetReviewFile, pk=entry["fileId"], item=item)
            return _download(upload.file, path, upload.content_type, inline=bool(request.GET.get("inline")))
        folder = ExampleFolder.EXPECTED
    else:
        folder = ExampleFolder.INPUT
    row = get_object_or_404(ExampleFile, example_id=item.example_id, folder=folder, path=path)
    return _download(row.file, path, row.content_type, inline=bool(request.GET.get("inline")))


def _download(field_file, path: str, content_type: str, *, inline: bool = False) -> FileResponse:
    """An attachment; inline (previews) only for types that run no script (runs.files)."""
    shown = inline_content_type(path, content_type) if inline else None
    response = FileResponse(field_file.open("rb"), as_attachment=shown is None, filename=path.rsplit("/", 1)[-1],
                            content_type=shown or content_type or "application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = FILE_CSP
    return response


@require_GET
def item_pdf_page(request: HttpRequest, pk: int, item_pk: int, number: int, path: str) -> HttpResponse:
    """Page `number` of an input PDF as a PNG, as the run pane shows documents (runs.pdf)."""
    item = _item(pk, item_pk)
    row = get_object_or_404(ExampleFile, example_id=item.example_id, folder=ExampleFolder.INPUT, path=path)
    with row.file.open("rb") as handle:
        data = handle.read(pdf.MAX_BYTES + 1)
    return pdf_page_response(data if len(data) <= pdf.MAX_BYTES else None, number, 1000)
