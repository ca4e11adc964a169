"""The dataset review pages over Loupe's own tables (backends.dataset_reviews): dsreview's
queries and services, their models turned into the value objects through dsreview.wire, their
errors into backends.base's."""

from contextlib import contextmanager

from django.core.paginator import Paginator

from backends.base import ChangeRefused, FileDownload, NotFound, StorageFull
from backends.dataset_reviews import (
    ApplyOutcome,
    DatasetReviewSource,
    InboxPage,
    InputFile,
    ItemConflict,
    ReviewEvent,
    ReviewItem,
    ReviewRequest,
)
from backends.local import _download
from datasets.models import Example, ExampleFile, ExampleFolder
from dsreview import services
from dsreview.apply import review_apply
from dsreview.models import DatasetReview, DatasetReviewEvent, DatasetReviewFile, DatasetReviewItem, RequestStatus
from dsreview.queries import GONE, failed_example_names, input_drift, item_drifted, progress_for
from dsreview.wire import event_to_dict, iso, item_to_dict, request_to_dict
from runs.files import StorageFull as DiskFull
from runs.ids import small_int

LIST_FIELDS = ("id", "review_id", "example_id", "example_name", "position", "status", "note", "updated_at",
               "applied_at")


@contextmanager
def _errors():
    """dsreview's errors as the pages' (backends.base) ones."""
    try:
        yield
    except services.ReviewInputError as exc:
        raise ChangeRefused(str(exc), field=exc.field) from None
    except (services.RequestFrozen, services.ItemsLocked) as exc:
        raise ChangeRefused(str(exc), field="status", status=409) from None
    except DatasetReviewItem.DoesNotExist:
        raise NotFound("No such item in this request.", field="itemId") from None
    except DiskFull:
        raise StorageFull() from None


def _pk(value) -> int:
    pk = small_int(str(value))
    if pk is None:
        raise NotFound(f"No dataset review request {value!r}.")
    return pk


def request_value(review: DatasetReview, progress: dict | None = None) -> ReviewRequest:
    return ReviewRequest.from_wire(request_to_dict(review, progress), key=str(review.pk), automation=review.automation)


def item_value(item: DatasetReviewItem, drifted: bool, *, live_files=None, named: bool = False) -> ReviewItem:
    """`named`: updated_by was selected with the item (its name is shown); `live_files`: the
    example's input-file rows, read once for the drift check and the previews."""
    inputs = None
    if live_files is not None:
        snapshot = set(ReviewItem.from_wire({"snapshotManifest": item.snapshot_manifest}).input_paths)
        inputs = [InputFile(path=f.path, size=f.size, content_type=f.content_type, read=_reader(f))
                  for f in live_files if f.path in snapshot]
    return ReviewItem.from_wire(
        item_to_dict(item, drifted), note=item.note, snapshot_at=item.snapshot_at, position=item.position,
        example_id=str(item.example_id) if item.example_id else None, applied_at=item.applied_at,
        updated_by_name=(item.updated_by.get_username() if named and item.updated_by else None), input_files=inputs)


def _reader(row: ExampleFile):
    def read(limit: int) -> bytes:
        with row.file.open("rb") as handle:
            return handle.read(limit)

    return read


def _event_value(event: DatasetReviewEvent, *, with_item: bool = False) -> ReviewEvent:
    """The actor by name (selected with the event); the item's example for a request's timeline."""
    wire = event_to_dict(event)
    if event.actor_id:
        wire["actorUserId"] = event.actor.get_username()
    return ReviewEvent.from_wire(wire, example_name=event.item.example_name if with_item and event.item_id else None)


class LocalDatasetReviews(DatasetReviewSource):
    def inbox(self, *, status: str, number: int, page_size: int) -> InboxPage:
        qs = DatasetReview.objects.select_related("automation").order_by("-created_at", "-id")
        if status == "active":
            qs = qs.filter(status__in=[RequestStatus.OPEN, RequestStatus.PAUSED])
        elif status in RequestStatus.values:
            qs = qs.filter(status=status)
        page = Paginator(qs, page_size).get_page(number)
        progress = progress_for([r.pk for r in page.object_list])
        return InboxPage(rows=[request_value(r, progress[r.pk]) for r in page.object_list], number=page.number,
                         has_next=page.has_next(), total=page.paginator.count)

    def _model(self, key) -> DatasetReview:
        review = DatasetReview.objects.select_related("automation").filter(pk=_pk(key)).first()
        if review is None:
            raise NotFound(f"No dataset review request {key!r}.")
        return review

    def request(self, key: str) -> ReviewRequest:
        review = self._model(key)
        return request_value(review, progress_for([review.pk])[review.pk])

    def items(self, review: ReviewRequest) -> list[ReviewItem]:
        """Every item in request order, as list rows: without the documents (a request of 1,000
        items would read every snapshot) and without input drift (the item page has both)."""
        rows = DatasetReviewItem.objects.filter(review_id=_pk(review.key)).only(*LIST_FIELDS)
        return [ReviewItem(id=str(row.pk), review_id=str(row.review_id), example_name=row.example_name,
                           status=row.status, updated_at_wire=iso(row.updated_at), updated_at=row.updated_at,
                           note=row.note, applied_at=row.applied_at, position=row.position,
                           example_id=str(row.example_id) if row.example_id else None) for row in rows]

    def _item_row(self, key, item_id) -> DatasetReviewItem:
        row = (DatasetReviewItem.objects.select_related("review__automation", "example", "updated_by")
               .filter(pk=_pk(item_id), review_id=_pk(key)).first())
        if row is None:
            raise NotFound(f"No item {item_id!r} in this request.")
        return row

    def _item_value(self, row: DatasetReviewItem) -> ReviewItem:
        live = (list(ExampleFile.objects.filter(example_id=row.example_id, folder=ExampleFolder.INPUT)
                     .order_by("path")) if row.example_id else [])
        drifted = item_drifted(row, row.example.input if row.example else GONE, live)
        return item_value(row, drifted, live_files=live, named=True)

    def item(self, review: ReviewRequest, item_id: str) -> ReviewItem:
        return self._item_value(self._item_row(review.key, item_id))

    def request_and_item(self, key: str, item_id: str) -> tuple[ReviewRequest, ReviewItem]:
        """One query for the item with its request and automation (the page's budget)."""
        row = self._item_row(key, item_id)
        return request_value(row.review), self._item_value(row)

    def events(self, review: ReviewRequest, *, item_id: str | None = None) -> list[ReviewEvent]:
        qs = DatasetReviewEvent.objects.filter(review_id=_pk(review.key)).select_related("actor")
        if item_id is not None:
            qs = qs.filter(item_id=_pk(item_id))
        else:
            qs = qs.select_related("item")
        return [_event_value(e, with_item=item_id is None) for e in qs.order_by("created_at", "id")]

    def example_names(self, automation, limit: int) -> list[str]:
        return list(Example.objects.filter(automation=automation).order_by("row_order", "name")
                    .values_list("name", flat=True)[:limit])

    def failed_example_names(self, automation) -> list[str]:
        return failed_example_names(automation)

    def create(self, *, automation, user, fields: dict) -> ReviewRequest:
        with _errors():
            review = services.review_create(
                automation=automation, user=user, title=fields.get("title"), example_names=fields.get("exampleNames"),
                instructions=fields.get("instructions"), focus_fields=fields.get("focusFields"),
                ignored_fields=fields.get("ignoredFields"), item_notes=fields.get("itemNotes"),
                status=fields.get("status") or RequestStatus.DRAFT)
        return request_value(review)

    def update(self, *, review: ReviewRequest, user, changes: dict) -> ReviewRequest:
        with _errors():
            services.review_update(review=DatasetReview(pk=_pk(review.key)), user=user, changes=changes)
        return self.request(review.key)

    def item_act(self, *, review: ReviewRequest, item: ReviewItem, user, body: dict) -> ReviewItem:
        try:
            with _errors():
                row = services.item_update(
                    review=DatasetReview(pk=_pk(review.key)), item_id=_pk(item.id), user=user, action=body.get("action"),
                    expected_updated_at=body.get("expectedUpdatedAt"),
                    expected=body["expected"] if "expected" in body else services.UNSET, comment=body.get("comment"),
                    field_path=body.get("fieldPath"), file_path=body.get("filePath"),
                    decision=body["decision"] if "decision" in body else services.UNSET)
        except services.StaleItem as exc:
            raise ItemConflict(self._item_value(self._item_row(review.key, exc.item.pk))) from None
        return item_value(row, input_drift([row])[row.pk])

    def item_file_edit(self, *, review: ReviewRequest, item: ReviewItem, user, expected_updated_at: str,
                       content: bytes, content_type: str, filename: str, file_path: str | None,
                       new_path: str | None, comment: str | None) -> ReviewItem:
        try:
            with _errors():
                row = services.item_file_edit(
                    review=DatasetReview(pk=_pk(review.key)), item_id=_pk(item.id), user=user,
                    expected_updated_at=expected_updated_at, content=content, content_type=content_type,
                    file_path=file_path, new_path=new_path, comment=comment)
        except services.StaleItem as exc:
            raise ItemConflict(self._item_value(self._item_row(review.key, exc.item.pk))) from None
        return item_value(row, input_drift([row])[row.pk])

    def item_file(self, review: ReviewRequest, item: ReviewItem, kind: str, path: str) -> FileDownload:
        if kind == "expected":
            entry = next((f for f in item.expected_files if f["path"] == path), None)
            if entry is None:
                raise NotFound(f"No expected file {path!r} in this item.")
            if entry["origin"] != "snapshot":
                upload = DatasetReviewFile.objects.filter(pk=small_int(entry["fileId"]), item_id=_pk(item.id)).first()
                if upload is None:
                    raise NotFound(f"The bytes of {path!r} are gone.")
                return _download(upload.file, path, upload.content_type, upload.size)
            folder = ExampleFolder.EXPECTED
        elif kind == "input" and path in item.input_paths:
            folder = ExampleFolder.INPUT
        else:
            raise NotFound(f"No input file {path!r} in this item's snapshot.")
        row = ExampleFile.objects.filter(example_id=item.example_id, folder=folder, path=path).first() \
            if item.example_id else None
        if row is None:
            raise NotFound(f"The example no longer has the file {folder}/{path}.")
        return _download(row.file, path, row.content_type, row.size)

    def apply(self, *, review: ReviewRequest, user, delete_removed: bool) -> ApplyOutcome:
        with _errors():
            result = review_apply(review=self._model(review.key), user=user, delete_removed=delete_removed)
        return ApplyOutcome(replaced=result.replaced, deleted=result.deleted,
                            needs_confirmation=result.needs_confirmation, skipped=result.skipped)

