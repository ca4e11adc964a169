"""Proxy mode: the dataset review pages over an upstream's dataset-review-request routes (SDK
0.20.93, the reviews generation; docs/proxy.md#dataset-review-requests), through the backend's
one client (its retries, bounded reads and error mapping: backends/eigenpal/client.py).

A request's page key is `<automation id>~<request id>`: the upstream's routes hang under the
automation, and the pages' URLs carry only the key. Upstream calls per page: the inbox 1 (plus
the cached automation list); a request 2 (its detail with the items, its events); an item 2 (the
detail, the events) plus one per previewed input file; an item write 1 (a stale one 2: the
write's 409, then the detail for the item as it is now); a file 1.

Applying the outcome is not offered: the upstream owns the examples, and an apply made from here
would reach neither the upstream's audit of the request nor happen in one transaction per example
(docs/dataset-reviews.md#proxy-mode)."""

from backends.base import ChangeRefused, FileDownload, NotFound
from backends.dataset_reviews import (
    DatasetReviewSource,
    InboxPage,
    ItemConflict,
    ReviewEvent,
    ReviewItem,
    ReviewRequest,
)
from backends.eigenpal.client import file_path, seg
from runs.models import Automation

SEP = "~"  # never in the upstream's ids (UUIDs, numbers); unreserved in URLs
EXAMPLE_PAGE = 100  # the largest page the examples route gives


class EigenpalDatasetReviews(DatasetReviewSource):
    can_apply = False
    knows_failed_checks = False

    def __init__(self, backend):
        self.backend = backend
        self._details: dict[str, dict] = {}  # per page: one detail call serves the request and its items

    @property
    def upstream(self):
        return self.backend.upstream

    # -- keys and automations ------------------------------------------------------------------

    def _automation(self, remote_id: str, name: str | None = None) -> Automation:
        for automation in self.backend.automations():
            if str(automation.remote_id) == str(remote_id):
                return automation
        if name is None:
            raise NotFound(f"The EigenPal API has no automation {remote_id!r}.")
        # Not in the upstream's automation list (yet): a stand-in, as backends.eigenpal.wire does.
        return Automation(kind="workflow", slug=str(remote_id), name=name, remote_id=str(remote_id))

    @staticmethod
    def _split(key: str) -> tuple[str, str]:
        automation_id, sep, review_id = str(key).partition(SEP)
        if not sep or not automation_id or not review_id:
            raise NotFound(f"No dataset review request {key!r}.")
        return automation_id, review_id

    def _base(self, key: str) -> str:
        automation_id, review_id = self._split(key)
        return f"/automations/{seg(automation_id)}/dataset-review-requests/{seg(review_id)}"

    def _value(self, data: dict, automation: Automation | None = None) -> ReviewRequest:
        automation_id = str(data.get("automationId"))
        automation = automation or self._automation(automation_id, data.get("automationName") or automation_id)
        return ReviewRequest.from_wire(data, key=f"{automation_id}{SEP}{data.get('id')}", automation=automation)

    # -- reads ---------------------------------------------------------------------------------

    def inbox(self, *, status: str, number: int, page_size: int) -> InboxPage:
        params = {"limit": page_size, "offset": (number - 1) * page_size}
        if status == "active":
            params["status"] = "open,paused"
        elif status != "all":
            params["status"] = status
        data = self.upstream.json("GET", "/dataset-review-requests", params=params) or {}
        rows = [self._value(row) for row in data.get("data") or [] if isinstance(row, dict)]
        total = data.get("total") if isinstance(data.get("total"), int) else None
        has_next = total > number * page_size if total is not None else len(rows) == page_size
        return InboxPage(rows=rows, number=number, has_next=has_next, total=total)

    def _detail(self, key: str, *, fresh: bool = False) -> dict:
        if fresh or key not in self._details:
            data = self.upstream.json("GET", self._base(key))
            if not isinstance(data, dict):
                raise NotFound(f"No dataset review request {key!r}.")
            self._details[key] = data
        return self._details[key]

    def request(self, key: str) -> ReviewRequest:
        data = self._detail(key)
        return self._value(data, self._automation(self._split(key)[0], data.get("automationName")))

    def items(self, review: ReviewRequest) -> list[ReviewItem]:
        rows = self._detail(review.key).get("items") or []
        return [ReviewItem.from_wire(row, position=n) for n, row in enumerate(rows) if isinstance(row, dict)]

    def item(self, review: ReviewRequest, item_id: str) -> ReviewItem:
        found = next((item for item in self.items(review) if item.id == str(item_id)), None)
        if found is None:
            raise NotFound(f"No item {item_id!r} in this request.")
        return found

    def events(self, review: ReviewRequest, *, item_id: str | None = None) -> list[ReviewEvent]:
        data = self.upstream.json("GET", f"{self._base(review.key)}/events") or {}
        events = [ReviewEvent.from_wire(e) for e in data.get("events") or [] if isinstance(e, dict)]
        if item_id is not None:
            return [e for e in events if e.item_id == str(item_id)]
        names = {item.id: item.example_name for item in self.items(review)}
        for event in events:
            event.example_name = names.get(event.item_id)
        return events

    def example_names(self, automation: Automation, limit: int) -> list[str]:
        names: list[str] = []
        number = 1
        while len(names) < limit:
            page = self.backend.examples_page(automation, number, EXAMPLE_PAGE)
            names += [row.name for row in page.rows if row.name]
            if not page.rows or len(page.rows) < EXAMPLE_PAGE:
                break
            number += 1
        return names[:limit]

    def item_file(self, review: ReviewRequest, item: ReviewItem, kind: str, path: str) -> FileDownload:
        if kind not in ("input", "expected"):
            raise NotFound(f"No {kind} file {path!r}.")
        response = self.upstream.request("GET", f"{self._base(review.key)}/items/{seg(item.id)}/files/"
                                                f"{file_path(path)}", params={"kind": kind}, stream=True)
        return self.backend._streamed(response, path)

    # -- writes --------------------------------------------------------------------------------

    def create(self, *, automation: Automation, user, fields: dict) -> ReviewRequest:
        if not automation.remote_id:
            raise NotFound(f"{automation.ref} is not an automation of the EigenPal API.")
        body = {key: value for key, value in fields.items() if value not in (None, [], "")}
        data = self.upstream.json("POST", f"/automations/{seg(automation.remote_id)}/dataset-review-requests",
                                  json=body)
        return self._value(data or {}, automation)

    def update(self, *, review: ReviewRequest, user, changes: dict) -> ReviewRequest:
        data = self.upstream.json("PATCH", self._base(review.key), json=changes) or {}
        self._details[review.key] = data
        return self._value(data, review.automation)

    def _item_write(self, review: ReviewRequest, item: ReviewItem, **kwargs) -> ReviewItem:
        try:
            data = self.upstream.json("PATCH", f"{self._base(review.key)}/items/{seg(item.id)}", **kwargs) or {}
        except ChangeRefused as exc:
            if exc.status == 409 and exc.field == "expectedUpdatedAt":
                self._detail(review.key, fresh=True)
                raise ItemConflict(self.item(review, item.id)) from None
            raise
        self._details.pop(review.key, None)
        return ReviewItem.from_wire(data.get("item") or {})

    def item_act(self, *, review: ReviewRequest, item: ReviewItem, user, body: dict) -> ReviewItem:
        return self._item_write(review, item, json=body)

    def item_file_edit(self, *, review: ReviewRequest, item: ReviewItem, user, expected_updated_at: str,
                       content: bytes, content_type: str, filename: str, file_path: str | None,
                       new_path: str | None, comment: str | None) -> ReviewItem:
        data = {"action": "edit-file", "expectedUpdatedAt": expected_updated_at}
        for name, value in (("filePath", file_path), ("newPath", new_path), ("comment", comment)):
            if value:
                data[name] = value
        return self._item_write(review, item, data=data, files={
            "file": (filename or "file", content, content_type or "application/octet-stream")})
