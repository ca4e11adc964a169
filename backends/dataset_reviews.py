"""Where the dataset review pages get their requests, items, events and files: a small interface
of its own (the review and dataset pages' one is backends.base), its value objects and its one
new error. Two sources: backends.dataset_reviews_local (Loupe's own dsreview tables) and
backends.eigenpal.dataset_reviews (an upstream's dataset-review-request routes);
backends.dataset_review_sources.source() picks the one that goes with the configured backend.

The value objects are built from the wire's shapes (SDK 0.20.93, dsreview.wire), which both
sources speak; what only Loupe's tables know (the lead's note, the live example, who by name)
is optional and empty in proxy mode. Errors are backends.base's: ChangeRefused (a 400 naming
`field`, or a 409 with `status` 409: frozen request, items locked), ItemConflict (a stale
expectedUpdatedAt, carrying the item as it is now), NotFound, StorageFull, Unavailable."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.utils.dateparse import parse_datetime

from backends.base import ChangeRefused, FileDownload
from dsreview.models import FROZEN, ITEMS_WRITABLE, TRANSITIONS
from runs.models import Automation


def parse_time(value) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_datetime(value.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass
class ReviewRequest:
    key: str  # the pages' id of the request (the source decodes it)
    id: str
    automation: Automation  # local row; in proxy mode the mirror of the upstream automation
    title: str
    status: str
    instructions: str | None = None
    focus_fields: list[dict] = field(default_factory=list)
    ignored_fields: list[str] = field(default_factory=list)
    example_names: list[str] = field(default_factory=list)
    progress: dict = field(default_factory=dict)
    created_by: str | None = None
    created_at: datetime | None = None
    closed_at: datetime | None = None

    @classmethod
    def from_wire(cls, data: dict, *, key: str, automation: Automation) -> "ReviewRequest":
        return cls(key=key, id=str(data.get("id")), automation=automation, title=data.get("title") or "",
                   status=data.get("status") or "draft", instructions=data.get("instructions"),
                   focus_fields=[f for f in data.get("focusFields") or [] if isinstance(f, dict)],
                   ignored_fields=list(data.get("ignoredFields") or []),
                   example_names=list(data.get("exampleNames") or []), progress=data.get("progress") or {},
                   created_by=data.get("createdBy"), created_at=parse_time(data.get("createdAt")),
                   closed_at=parse_time(data.get("closedAt")))

    @property
    def frozen(self) -> bool:
        return self.status in FROZEN

    @property
    def items_writable(self) -> bool:
        return self.status in ITEMS_WRITABLE

    @property
    def transitions(self) -> list[str]:
        return sorted(TRANSITIONS.get(self.status, ()))


@dataclass
class InputFile:
    """An input file of the item's example, as the page previews it; `read(limit)` gives at most
    `limit` of its first bytes."""

    path: str
    read: Callable[[int], bytes]
    size: int | None = None
    content_type: str = ""


@dataclass
class ReviewItem:
    id: str
    review_id: str
    example_name: str
    status: str
    updated_at_wire: str  # the exact text to send back as expectedUpdatedAt (the optimistic lock)
    snapshot_input: object = None
    snapshot_expected: object = None
    current_expected: object = None
    manifest: dict = field(default_factory=dict)
    field_decisions: dict = field(default_factory=dict)
    file_decisions: dict = field(default_factory=dict)
    current_files: list[dict] | None = None
    input_drifted: bool = False
    updated_by: str | None = None
    updated_at: datetime | None = None
    # Known only to the local source (Loupe's tables):
    note: str | None = None
    snapshot_at: datetime | None = None
    example_id: str | None = None
    applied_at: datetime | None = None
    position: int = 0
    updated_by_name: str | None = None
    input_files: list[InputFile] | None = None  # None: the page asks the source (proxy mode)

    @classmethod
    def from_wire(cls, data: dict, **extra) -> "ReviewItem":
        def _dict(value) -> dict:
            return value if isinstance(value, dict) else {}

        return cls(id=str(data.get("id")), review_id=str(data.get("reviewId")),
                   example_name=data.get("exampleName") or "", status=data.get("status") or "pending",
                   updated_at_wire=data.get("updatedAt") or "", snapshot_input=data.get("snapshotInputJson"),
                   snapshot_expected=data.get("snapshotExpectedJson"),
                   current_expected=data.get("currentExpectedJson"), manifest=_dict(data.get("snapshotManifest")),
                   field_decisions=_dict(data.get("fieldDecisions")), file_decisions=_dict(data.get("fileDecisions")),
                   current_files=data.get("currentExpectedFiles") if isinstance(
                       data.get("currentExpectedFiles"), list) else None,
                   input_drifted=bool(data.get("inputDrifted")), updated_by=data.get("updatedBy"),
                   updated_at=parse_time(data.get("updatedAt")), **extra)

    @property
    def expected_files(self) -> list[dict]:
        """The expected files now: the reviewer's overlay, else the snapshot's (origin snapshot)."""
        if self.current_files is not None:
            return self.current_files
        return [{"path": f.get("name"), "fileId": "", "filename": str(f.get("name")).rsplit("/", 1)[-1],
                 "origin": "snapshot"} for f in self.manifest.get("expectedFiles") or [] if isinstance(f, dict)]

    @property
    def input_paths(self) -> list[str]:
        return [h.get("path") for h in self.manifest.get("inputFileHashes") or [] if isinstance(h, dict)]


@dataclass
class ReviewEvent:
    id: str
    action: str
    item_id: str | None = None
    actor: str | None = None  # a user name where the source knows it, else the user id
    diff_summary: dict = field(default_factory=dict)
    created_at: datetime | None = None
    example_name: str | None = None  # for request-level timelines

    @classmethod
    def from_wire(cls, data: dict, **extra) -> "ReviewEvent":
        summary = data.get("diffSummary")
        return cls(id=str(data.get("id")), action=data.get("action") or "",
                   item_id=str(data["itemId"]) if data.get("itemId") is not None else None,
                   actor=data.get("actorUserId"), diff_summary=summary if isinstance(summary, dict) else {},
                   created_at=parse_time(data.get("createdAt")), **extra)


@dataclass
class InboxPage:
    rows: list[ReviewRequest]
    number: int
    has_next: bool
    total: int | None = None


@dataclass
class ApplyOutcome:
    replaced: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    needs_confirmation: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


class ItemConflict(ChangeRefused):
    """The item changed since the reviewer read it (a stale expectedUpdatedAt): nothing was
    written; `current` is the item as it is now."""

    def __init__(self, current: ReviewItem):
        super().__init__("Someone changed this item while you had it open; nothing was saved.",
                         field="expectedUpdatedAt", status=409)
        self.current = current


def read_head(download: FileDownload, limit: int) -> bytes:
    """At most `limit` bytes of a download (the rest is not read; the stream is closed)."""
    data = bytearray()
    chunks = download.chunks
    try:
        for chunk in chunks:
            data += chunk
            if len(data) >= limit:
                break
    finally:
        close = getattr(chunks, "close", None)
        if close:
            close()
    return bytes(data[:limit])


class DatasetReviewSource:
    """What the dataset review pages call. `key` is a request's ReviewRequest.key."""

    # Whether "Apply approved edits" is offered (docs/dataset-reviews.md#applying-the-outcome).
    can_apply = True
    # Whether "every example whose last check failed" can be offered on the create page.
    knows_failed_checks = True

    def inbox(self, *, status: str, number: int, page_size: int) -> InboxPage:
        raise NotImplementedError

    def request(self, key: str) -> ReviewRequest:
        raise NotImplementedError

    def items(self, review: ReviewRequest) -> list[ReviewItem]:
        raise NotImplementedError

    def item(self, review: ReviewRequest, item_id: str) -> ReviewItem:
        raise NotImplementedError

    def request_and_item(self, key: str, item_id: str) -> tuple[ReviewRequest, ReviewItem]:
        review = self.request(key)
        return review, self.item(review, item_id)

    def input_files(self, review: ReviewRequest, item: ReviewItem) -> list[InputFile]:
        """The snapshot's input files that can still be read, for the page's previews."""
        if item.input_files is not None:
            return item.input_files
        return [InputFile(path=path, read=lambda limit, path=path: read_head(
            self.item_file(review, item, "input", path), limit)) for path in item.input_paths if path]

    def events(self, review: ReviewRequest, *, item_id: str | None = None) -> list[ReviewEvent]:
        """The request's timeline (item_id None: every event) or one item's, oldest first."""
        raise NotImplementedError

    def example_names(self, automation: Automation, limit: int) -> list[str]:
        raise NotImplementedError

    def failed_example_names(self, automation: Automation) -> list[str]:
        return []

    def create(self, *, automation: Automation, user, fields: dict) -> ReviewRequest:
        """fields: the wire's create body (title, exampleNames, instructions, focusFields, ...)."""
        raise NotImplementedError

    def update(self, *, review: ReviewRequest, user, changes: dict) -> ReviewRequest:
        raise NotImplementedError

    def item_act(self, *, review: ReviewRequest, item: ReviewItem, user, body: dict) -> ReviewItem:
        """One item action; body: the wire's item PATCH (action, expectedUpdatedAt, expected?, ...)."""
        raise NotImplementedError

    def item_file_edit(self, *, review: ReviewRequest, item: ReviewItem, user, expected_updated_at: str,
                       content: bytes, content_type: str, filename: str, file_path: str | None,
                       new_path: str | None, comment: str | None) -> ReviewItem:
        raise NotImplementedError

    def item_file(self, review: ReviewRequest, item: ReviewItem, kind: str, path: str) -> FileDownload:
        raise NotImplementedError

    def apply(self, *, review: ReviewRequest, user, delete_removed: bool) -> ApplyOutcome:
        raise ChangeRefused("Applying is not offered here.", field="status")
