"""Dataset review pages (docs/dataset-reviews.md): the inbox, sending examples for review from a
dataset, and one request (lifecycle, timeline, apply). The item page is web/dataset_review_items.py.
Every read and write goes through the dataset review source of the configured backend
(backends.dataset_reviews): Loupe's own tables, or an upstream's routes in proxy mode."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import role_required
from accounts.roles import LEAD, has_role
from backends import get_backend
from backends.base import ChangeRefused
from backends.dataset_review_sources import source
from dsreview.models import FROZEN, RequestStatus
from web.backend_errors import backend_errors
from web.forms.dataset_reviews import ReviewRequestForm

LABELS = {"open": "Open", "paused": "Pause", "closed": "Close the request", "cancelled": "Cancel the request",
          "draft": "Back to draft"}
PAGE_SIZE = 50
MAX_PICK = 2000  # examples offered on the create page
EVENTS_SHOWN = 100  # the request's timeline shows the latest
ITEMS_SHOWN = 100  # items per page of a request (a page of 1,000 rows takes half a second to render)


@require_GET
@backend_errors
def inbox(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or "active"
    if status not in ("active", "all", *RequestStatus.values):
        status = "active"
    page = source().inbox(status=status, number=_page_number(request), page_size=PAGE_SIZE)
    return render(request, "dsreview/inbox.html", {
        "nav": "dsreviews", "rows": page.rows, "page": page, "status": status,
        "statuses": [("active", "Open and paused"), *[(s, s.capitalize()) for s in RequestStatus.values],
                     ("all", "All")]})


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, int(request.GET.get("page") or 1))
    except ValueError:
        return 1


@require_http_methods(["GET", "POST"])
@role_required(LEAD, action="send examples for review")
@backend_errors
def request_new(request: HttpRequest, ref: str) -> HttpResponse:
    src = source()
    automation = get_backend().automation(ref)
    failed = src.failed_example_names(automation)
    form = ReviewRequestForm(request.POST or None, names=src.example_names(automation, MAX_PICK),
                             failed_names=failed, initial={"examples": request.GET.getlist("example")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            review = src.create(automation=automation, user=request.user, fields={
                "title": data["title"], "exampleNames": data["example_names"], "instructions": data["instructions"],
                "focusFields": data["focus_fields"], "ignoredFields": data["ignored_fields"],
                "itemNotes": data["item_notes"], "status": data["status"]})
        except ChangeRefused as exc:
            form.add_service_error(exc.field, str(exc))
        else:
            messages.success(request, f"Sent {len(data['example_names'])} example(s) for review.")
            return redirect("dsreview_request", pk=review.key)
    return render(request, "dsreview/new.html", {"nav": "datasets", "automation": automation, "form": form,
                                                 "failed": failed, "knows_failed": src.knows_failed_checks})


@require_GET
@backend_errors
def request_detail(request: HttpRequest, pk: str) -> HttpResponse:
    src = source()
    review = src.request(pk)
    items = src.items(review)
    waiting = [i for i in items if i.status in ("edited", "removed") and i.applied_at is None]
    number = _page_number(request)
    number = min(number, max(1, -(-len(items) // ITEMS_SHOWN)))
    return render(request, "dsreview/request.html", {
        "nav": "dsreviews", "review": review, "items": items[(number - 1) * ITEMS_SHOWN:number * ITEMS_SHOWN],
        "page": {"number": number, "has_next": number * ITEMS_SHOWN < len(items), "total": len(items),
                 "start": (number - 1) * ITEMS_SHOWN + 1, "end": min(number * ITEMS_SHOWN, len(items))},
        "progress": review.progress,
        "events": src.events(review)[-EVENTS_SHOWN:], "can_lead": has_role(request.user, LEAD), "can_apply": src.can_apply,
        "transitions": [(s, "Reopen" if review.status in FROZEN else LABELS[s]) for s in review.transitions],
        "to_apply": len(waiting), "removed": [i for i in waiting if i.status == "removed"]})


def _lead_change(request: HttpRequest, pk: str, change, done) -> HttpResponse:
    """A lead's POST on the request `pk`: `change(src, review)` through the source; a refused
    change is shown as an error, else `done(result)` says what changed; back to the request."""
    src = source()
    review = src.request(pk)
    try:
        result = change(src, review)
    except ChangeRefused as exc:
        messages.error(request, str(exc))
    else:
        done(result)
    return redirect("dsreview_request", pk=review.key)


@require_POST
@role_required(LEAD, action="change dataset review requests")
@backend_errors
def request_status(request: HttpRequest, pk: str) -> HttpResponse:
    status = request.POST.get("status")
    return _lead_change(
        request, pk, lambda src, review: src.update(review=review, user=request.user, changes={"status": status}),
        lambda _: messages.success(request, f"The request is now {status}."
                                   + (" Nothing was written to the dataset; apply the outcome when you are ready."
                                      if status == "closed" else "")))


@require_POST
@role_required(LEAD, action="apply a review's outcome to the dataset")
@backend_errors
def request_apply(request: HttpRequest, pk: str) -> HttpResponse:
    delete_removed = request.POST.get("delete_removed") == "on"
    return _lead_change(request, pk, lambda src, review: src.apply(review=review, user=request.user, delete_removed=delete_removed),
                        lambda result: _applied(request, result))


def _applied(request: HttpRequest, result) -> None:
    """The messages of an applied outcome: what was replaced, deleted, left unconfirmed or skipped."""
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
