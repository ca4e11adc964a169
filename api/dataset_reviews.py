"""Dataset review requests as SDK 0.20.93 calls them (docs/dataset-reviews.md): the tenant-wide
inbox, and per automation the requests, their items, item files and events. Writes go through
dsreview.services; the shapes are dsreview.wire's."""

from django.http import FileResponse, HttpRequest, JsonResponse

from accounts.roles import LEAD, REVIEWER
from api.automations import get_automation
from api.support import (
    ApiError,
    Query,
    api_response,
    api_view,
    bad_request,
    check_upload_size,
    is_multipart,
    json_body,
    limit_and_offset,
    not_found,
    reject_unknown,
    request_id,
    uploaded_files,
)
from datasets.models import ExampleFile, ExampleFolder
from dsreview import services
from dsreview.models import DatasetReview, DatasetReviewEvent, DatasetReviewFile, DatasetReviewItem, RequestStatus
from dsreview.queries import current_expected_files, input_drift, progress_for
from dsreview.wire import event_to_dict, item_to_dict, request_to_dict
from runs.files import FILE_CSP
from runs.ids import small_int

EDIT_FILE_LIMIT = 50 * 1024 * 1024
CREATE_FIELDS = {"title", "exampleNames", "instructions", "focusFields", "ignoredFields", "itemNotes", "status"}
UPDATE_FIELDS = {"title", "instructions", "focusFields", "ignoredFields", "status"}
ITEM_FIELDS = {"action", "expectedUpdatedAt", "expected", "comment", "fieldPath", "filePath", "decision"}
EDIT_FILE_FIELDS = {"action", "expectedUpdatedAt", "filePath", "newPath", "comment"}
WRITE_ROLES = (REVIEWER, LEAD)


def _raise(exc: Exception):
    if isinstance(exc, services.ReviewInputError):
        raise bad_request(exc.field, str(exc)) from None
    if isinstance(exc, (services.RequestFrozen, services.ItemsLocked)):
        raise ApiError(409, str(exc), field="status", code="conflict") from None
    raise exc


def _statuses(query: Query) -> list[str]:
    statuses = query.csv("status")
    for status in statuses:
        if status not in RequestStatus.values:
            raise bad_request("status", f"Unknown status {status!r}; expected {', '.join(RequestStatus.values)}.")
    return statuses


def _page(request: HttpRequest, qs, *, inbox: bool):
    query = Query(request.GET)
    statuses = _statuses(query)
    limit, offset = limit_and_offset(query)
    if statuses:
        qs = qs.filter(status__in=statuses)
    qs = qs.order_by("-created_at", "-id")
    if inbox:
        qs = qs.select_related("automation")
    rows = list(qs[offset:offset + limit])
    progress = progress_for([r.pk for r in rows])
    data = [request_to_dict(r, progress[r.pk], automation_name=r.automation.name if inbox else None) for r in rows]
    return api_response(request, {"data": data, "total": qs.count(), "limit": limit, "offset": offset})


@api_view(params=("status", "limit", "offset"))
def inbox(request: HttpRequest):
    """Every request of the instance, newest first (reviewers: no automation needed)."""
    return _page(request, DatasetReview.objects.all(), inbox=True)


def _review(automation_id: str, review_id: str) -> DatasetReview:
    automation = get_automation(automation_id)
    pk = small_int(review_id)
    review = DatasetReview.objects.filter(pk=pk, automation=automation).first() if pk is not None else None
    if review is None:
        raise not_found(f"No dataset review request {review_id!r} in {automation.ref}.", field="reviewId")
    return review


def _items(review: DatasetReview, statuses=None) -> list[dict]:
    qs = review.items.all()
    if statuses:
        qs = qs.filter(status__in=statuses)
    items = list(qs)
    drift = input_drift(items)
    return [item_to_dict(item, drift[item.pk]) for item in items]


def _detail(review: DatasetReview, *, events: bool = False) -> dict:
    data = request_to_dict(review, progress_for([review.pk])[review.pk])
    data["items"] = _items(review)
    if events:
        data["events"] = [event_to_dict(e) for e in review.events.all()]
    return data


def _item_dict(item: DatasetReviewItem) -> dict:
    return item_to_dict(item, input_drift([item])[item.pk])


@api_view(params=("status", "limit", "offset"))
def requests_list(request: HttpRequest, automation_id: str):
    automation = get_automation(automation_id)
    return _page(request, DatasetReview.objects.filter(automation=automation), inbox=False)


@api_view(roles=(LEAD,), action="send examples for review")
def request_create(request: HttpRequest, automation_id: str):
    automation = get_automation(automation_id)
    body = json_body(request)
    reject_unknown(body, CREATE_FIELDS)
    if "title" not in body:
        raise bad_request("title", "Required.")
    if "exampleNames" not in body:
        raise bad_request("exampleNames", "Required: the names of the examples to review.")
    try:
        review = services.review_create(
            automation=automation, user=request.user, title=body["title"], example_names=body["exampleNames"],
            instructions=body.get("instructions"), focus_fields=body.get("focusFields"),
            ignored_fields=body.get("ignoredFields"), item_notes=body.get("itemNotes"),
            status=body.get("status") or RequestStatus.DRAFT)
    except services.ReviewInputError as exc:
        _raise(exc)
    return api_response(request, _detail(review), status=201)


@api_view()
def request_get(request: HttpRequest, automation_id: str, review_id: str):
    return api_response(request, _detail(_review(automation_id, review_id)))


@api_view(roles=(LEAD,), action="change dataset review requests")
def request_update(request: HttpRequest, automation_id: str, review_id: str):
    review = _review(automation_id, review_id)
    body = json_body(request)
    reject_unknown(body, UPDATE_FIELDS)
    try:
        review = services.review_update(review=review, user=request.user, changes=body)
    except (services.ReviewInputError, services.RequestFrozen) as exc:
        _raise(exc)
    return api_response(request, _detail(review))


@api_view(params=("status",))
def items_list(request: HttpRequest, automation_id: str, review_id: str):
    review = _review(automation_id, review_id)
    statuses = Query(request.GET).csv("status")
    for status in statuses:
        if status not in ("pending", "approved", "edited", "removed"):
            raise bad_request("status", f"Unknown item status {status!r}; expected pending, approved, edited or "
                                        "removed.")
    return api_response(request, {"items": _items(review, statuses)})


def _stale(request: HttpRequest, item: DatasetReviewItem) -> JsonResponse:
    """409: the error envelope plus the item as it is now (nothing was written)."""
    body = {"issues": [{"field": "expectedUpdatedAt", "message": "The item changed since you read it; nothing was "
                        "written. The current item is attached.", "code": "conflict", "severity": "error"}],
            "requestId": request_id(request), "item": _item_dict(item)}
    response = JsonResponse(body, status=409, json_dumps_params={"ensure_ascii": False})
    response["x-request-id"] = request_id(request)
    return response


def _item_pk(review: DatasetReview, item_id: str) -> int:
    pk = small_int(item_id)
    if pk is None or not review.items.filter(pk=pk).exists():
        raise not_found(f"No item {item_id!r} in this request.", field="itemId")
    return pk


@api_view(roles=WRITE_ROLES, action="review dataset examples")
def item_update(request: HttpRequest, automation_id: str, review_id: str, item_id: str):
    """JSON for every action but edit-file, which is multipart (a file comes with it)."""
    review = _review(automation_id, review_id)
    pk = _item_pk(review, item_id)
    try:
        if is_multipart(request):
            item = _edit_file(request, review, pk)
        else:
            body = json_body(request)
            reject_unknown(body, ITEM_FIELDS)
            if body.get("action") == "edit-file":
                raise bad_request("action", "edit-file uploads a file: send it as multipart/form-data with the parts "
                                            "action, expectedUpdatedAt, file and filePath or newPath.")
            if "action" not in body:
                raise bad_request("action", f"Required: one of {', '.join(services.ITEM_ACTIONS)}.")
            item = services.item_update(
                review=review, item_id=pk, user=request.user, action=body["action"],
                expected_updated_at=body.get("expectedUpdatedAt"),
                expected=body["expected"] if "expected" in body else services.UNSET,
                comment=body.get("comment"), field_path=body.get("fieldPath"), file_path=body.get("filePath"),
                decision=body["decision"] if "decision" in body else services.UNSET)
    except services.StaleItem as exc:
        return _stale(request, exc.item)
    except DatasetReviewItem.DoesNotExist:
        raise not_found(f"No item {item_id!r} in this request.", field="itemId") from None
    except (services.ReviewInputError, services.ItemsLocked) as exc:
        _raise(exc)
    return api_response(request, {"item": _item_dict(item)})


def _parse_multipart(request: HttpRequest) -> None:
    """Django parses multipart bodies only for POST; this PATCH carries one (edit-file)."""
    check_upload_size(request, limit=EDIT_FILE_LIMIT)
    if request.method != "POST":
        method, request.method = request.method, "POST"
        try:
            request._load_post_and_files()
        finally:
            request.method = method


def _edit_file(request: HttpRequest, review: DatasetReview, pk: int) -> DatasetReviewItem:
    _parse_multipart(request)
    reject_unknown(request.POST, EDIT_FILE_FIELDS)
    if request.POST.get("action") != "edit-file":
        raise bad_request("action", "A multipart item PATCH is action edit-file; other actions are JSON.")
    upload = uploaded_files(request, limit=EDIT_FILE_LIMIT)[0]
    return services.item_file_edit(
        review=review, item_id=pk, user=request.user, expected_updated_at=request.POST.get("expectedUpdatedAt"),
        content=upload.read(), content_type=upload.content_type or "", file_path=request.POST.get("filePath"),
        new_path=request.POST.get("newPath"), comment=request.POST.get("comment"))


@api_view(params=("kind",))
def item_file_get(request: HttpRequest, automation_id: str, review_id: str, item_id: str, path: str):
    """kind=input: the example's input file; kind=expected: the item's expected file as it is now
    (a reviewer's bytes, else the example's file: snapshot-origin files resolve by path)."""
    review = _review(automation_id, review_id)
    item = review.items.filter(pk=_item_pk(review, item_id)).first()
    kind = Query(request.GET).choice("kind", ("input", "expected")) or "input"
    path = path.lstrip("/")
    if kind == "expected":
        entry = next((f for f in current_expected_files(item) if f["path"] == path), None)
        if entry is None:
            raise not_found(f"No expected file {path!r} in this item.", field="path")
        if entry["origin"] != "snapshot":
            upload = DatasetReviewFile.objects.filter(pk=small_int(entry["fileId"]), item=item).first()
            if upload is None:
                raise not_found(f"The bytes of {path!r} are gone.", field="path")
            return _file_response(upload.file, path, upload.content_type)
        folder = ExampleFolder.EXPECTED
    else:
        hashes = {h["path"] for h in (item.snapshot_manifest or {}).get("inputFileHashes") or []}
        if path not in hashes:
            raise not_found(f"No input file {path!r} in this item's snapshot.", field="path")
        folder = ExampleFolder.INPUT
    row = ExampleFile.objects.filter(example_id=item.example_id, folder=folder, path=path).first()
    if row is None:
        raise not_found(f"The example no longer has the file {folder}/{path}.", field="path")
    return _file_response(row.file, path, row.content_type)


def _file_response(field_file, path: str, content_type: str) -> FileResponse:
    response = FileResponse(field_file.open("rb"), as_attachment=True, filename=path.rsplit("/", 1)[-1],
                            content_type=content_type or "application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = FILE_CSP
    return response


@api_view()
def events_list(request: HttpRequest, automation_id: str, review_id: str):
    review = _review(automation_id, review_id)
    events = DatasetReviewEvent.objects.filter(review=review).order_by("created_at", "id")
    return api_response(request, {"events": [event_to_dict(e) for e in events]})
