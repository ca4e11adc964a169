"""Reads of dataset review requests: exact progress counts, input drift, item files."""

import hashlib
import json
from collections import defaultdict

from django.db.models import Count

from datasets.models import Example, ExampleFile, ExampleFolder
from dsreview.models import DatasetReviewItem, ItemStatus


def canonical_sha256(value) -> str:
    """SHA-256 of JSON in one canonical form (sorted keys: PostgreSQL's jsonb reorders them)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_sha256(field_file) -> str:
    return stored_sha256(field_file.storage, field_file.name)


def stored_sha256(storage, name: str) -> str:
    digest = hashlib.sha256()
    with storage.open(name, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def empty_progress() -> dict:
    return {"total": 0, "pending": 0, "approved": 0, "edited": 0, "removed": 0, "remaining": 0, "complete": False}


def progress_for(review_ids) -> dict[int, dict]:
    """{review id: progress}, counted in one grouped query (always exact, never cached)."""
    out = {review_id: empty_progress() for review_id in review_ids}
    rows = (DatasetReviewItem.objects.filter(review_id__in=list(out)).order_by()
            .values_list("review_id", "status").annotate(n=Count("id")))
    for review_id, status, n in rows:
        progress = out[review_id]
        progress[status] = n
        progress["total"] += n
    for progress in out.values():
        progress["remaining"] = progress[ItemStatus.PENDING]
        progress["complete"] = progress["total"] > 0 and progress["remaining"] == 0
    return out


def input_drift(items) -> dict[int, bool]:
    """{item id: True when the live example's input (JSON or input-file bytes) no longer matches
    the snapshot}. Two queries for any number of items; bytes are hashed only for input files
    stored after the snapshot or of another size (an unchanged file keeps its row)."""
    items = list(items)
    example_ids = {item.example_id for item in items if item.example_id}
    inputs = dict(Example.objects.filter(pk__in=example_ids).values_list("pk", "input")) if example_ids else {}
    files = defaultdict(list)
    if example_ids:
        for row in ExampleFile.objects.filter(example_id__in=example_ids, folder=ExampleFolder.INPUT).order_by():
            files[row.example_id].append(row)
    out = {}
    for item in items:
        live_input = inputs.get(item.example_id, GONE) if item.example_id else GONE
        out[item.pk] = item_drifted(item, live_input, files.get(item.example_id, []))
    return out


GONE = object()  # no live example


def item_drifted(item, live_input, live_files) -> bool:
    """One item's drift, given its example's input now (GONE: no example) and input-file rows."""
    if live_input is GONE:
        return item.applied_at is None  # gone, and not by applying this request
    if canonical_sha256(live_input) != item.snapshot_input_sha256:
        return True
    hashes = {h["path"]: h["sha256"] for h in (item.snapshot_manifest or {}).get("inputFileHashes") or []}
    if {f.path for f in live_files} != set(hashes):
        return True
    return any(f.created_at > item.snapshot_at and file_sha256(f.file) != hashes[f.path] for f in live_files)


def current_expected_files(item) -> list[dict]:
    """The item's expected files now: the overlay, else the snapshot's (origin snapshot)."""
    if item.current_files is not None:
        return item.current_files
    return [{"path": f["name"], "fileId": "", "filename": f["name"].rsplit("/", 1)[-1], "origin": "snapshot"}
            for f in (item.snapshot_manifest or {}).get("expectedFiles") or []]


def failed_example_names(automation) -> list[str]:
    """Names of the automation's examples whose latest check failed (one query)."""
    from django.db.models import OuterRef, Subquery

    from datasets.models import CheckVerdict, ExampleCheck

    latest = ExampleCheck.objects.filter(example=OuterRef("pk")).order_by("-created_at", "-id").values("verdict")[:1]
    return list(Example.objects.filter(automation=automation).annotate(last=Subquery(latest))
                .filter(last=CheckVerdict.FAILED).order_by("row_order", "name").values_list("name", flat=True))


def example_reviews(automation_id: int, example_name: str) -> list[DatasetReviewItem]:
    """The items that hold this example (with their request), newest request first, in one
    query: the example page's links back. An item's applied_at says its outcome was applied."""
    return list(DatasetReviewItem.objects.filter(review__automation_id=automation_id, example_name=example_name)
                .select_related("review").order_by("-review__created_at", "-id")[:20])
