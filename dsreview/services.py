"""Writes of dataset review requests (docs/dataset-reviews.md). The pages and the API call
these; they raise ReviewInputError (a 400 naming the field), RequestFrozen / ItemsLocked (409)
and StaleItem (409 carrying the current item). The checks are dsreview.validation's; applying
the outcome to the dataset is dsreview.apply."""

from datetime import datetime

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from datasets.models import Example, ExampleFile, ExampleFolder
from dsreview import paths
from dsreview.models import (
    FROZEN,
    ITEMS_WRITABLE,
    TRANSITIONS,
    DatasetReview,
    DatasetReviewEvent,
    DatasetReviewFile,
    DatasetReviewItem,
    EventAction,
    ItemStatus,
    RequestStatus,
)
from dsreview.queries import canonical_sha256, current_expected_files, stored_sha256
from dsreview.request_events import request_change_record, request_state
from dsreview.validation import (
    CREATE_STATUSES,
    TITLE_MAX,
    UNSET,
    ItemsLocked,
    RequestFrozen,
    ReviewInputError,
    StaleItem,
    _example_names,
    _focus_fields,
    _ignored_fields,
    _iso,
    _millis,
    _next_updated_at,
    _path_in_any,
    _status,
    _text,
    parse_expected_updated_at,
)
from runs.files import BadFileName, guess_content_type, safe_relative_path, store_file

__all__ = ["UNSET", "ItemsLocked", "RequestFrozen", "ReviewInputError", "StaleItem", "item_file_edit", "item_update",
           "review_create", "review_update"]


# --- requests -----------------------------------------------------------------------------


def review_create(*, automation, user, title, example_names, instructions=None, focus_fields=None,
                  ignored_fields=None, item_notes=None, status=RequestStatus.DRAFT) -> DatasetReview:
    """Create a request of the named examples, snapshotting each one (input, expected output,
    expected-file manifest, input-file SHA-256). Everything is checked before anything is
    written; the rows go in with bulk inserts in one transaction."""
    title = _text(title, "title", required=True, max_length=TITLE_MAX)
    instructions = _text(instructions, "instructions")
    names = _example_names(example_names)
    status = _status(status or RequestStatus.DRAFT, CREATE_STATUSES)
    now = timezone.now()
    actor = user if getattr(user, "pk", None) else None
    with transaction.atomic():
        # The examples are locked while they are copied (a statement of its own), so the hashes
        # taken here and the documents the database copies below are of the same version.
        list(Example.objects.select_for_update().filter(automation=automation, name__in=names).values_list("pk", flat=True))
        examples = {e.name: e for e in Example.objects.filter(automation=automation, name__in=names).only(
            "pk", "name", "input", "expected", "metadata")}
        for index, name in enumerate(names):
            if name not in examples:
                raise ReviewInputError(f"No example named {name!r} in this automation's dataset.",
                                       f"exampleNames[{index}]")
        documents = [examples[name].expected for name in names]
        focus = _focus_fields(focus_fields, documents) if focus_fields is not None else []
        ignored = _ignored_fields(ignored_fields, documents) if ignored_fields is not None else []
        notes = _item_notes(item_notes, examples) if item_notes is not None else {}
        files: dict[int, list[tuple[str, str, str]]] = {}  # plain rows: no model instances for 1,000s of files
        for example_id, folder, path, stored in ExampleFile.objects.filter(
                example_id__in=[e.pk for e in examples.values()]).order_by("folder", "path").values_list(
                "example_id", "folder", "path", "file"):
            files.setdefault(example_id, []).append((folder, path, stored))
        storage = ExampleFile._meta.get_field("file").storage

        review = DatasetReview.objects.create(
            automation=automation, title=title, instructions=instructions, focus_fields=focus,
            ignored_fields=ignored, status=status, example_names=names, created_by=actor,
            created_at=now, updated_at=now)
        items = []
        for position, name in enumerate(names):
            example = examples[name]
            example_files = files.get(example.pk, [])
            manifest = {
                "expectedFiles": [{"name": path} for folder, path, _ in example_files
                                  if folder == ExampleFolder.EXPECTED],
                "metadata": example.metadata if isinstance(example.metadata, dict) else None,
                "inputFileHashes": [{"path": path, "sha256": stored_sha256(storage, stored)}
                                    for folder, path, stored in example_files if folder == ExampleFolder.INPUT],
            }
            note = notes.get(name, {}).get("comment")
            # The input and expected documents are copied by the database (below), not sent again.
            items.append(DatasetReviewItem(
                review=review, example=example, example_name=name, position=position, snapshot_manifest=manifest,
                snapshot_input_sha256=canonical_sha256(example.input), snapshot_at=now,
                note=note, updated_by=actor, updated_at=_millis(now)))
        DatasetReviewItem.objects.bulk_create(items, batch_size=500)
        live = Example.objects.filter(pk=OuterRef("example_id"))
        DatasetReviewItem.objects.filter(review=review).update(
            snapshot_input=Subquery(live.values("input")[:1]), snapshot_expected=Subquery(live.values("expected")[:1]))
        if any(item.pk is None for item in items):  # a database that does not return ids from bulk inserts
            ids = dict(DatasetReviewItem.objects.filter(review=review).values_list("example_name", "pk"))
            for item in items:
                item.pk = item.id = ids[item.example_name]
        by_name = {item.example_name: item for item in items}
        events = [DatasetReviewEvent(review=review, actor=actor, action=EventAction.CREATED, created_at=now,
                                     diff_summary={"title": title, "examples": len(names), "status": status})]
        for name, note in notes.items():
            if note.get("comment"):
                events.append(DatasetReviewEvent(review=review, item=by_name[name], actor=actor, created_at=now,
                                                 action=EventAction.COMMENTED,
                                                 diff_summary={"comment": note["comment"]}))
            for field_note in note.get("fields", []):
                events.append(DatasetReviewEvent(review=review, item=by_name[name], actor=actor, created_at=now,
                                                 action=EventAction.COMMENTED, diff_summary=field_note))
        DatasetReviewEvent.objects.bulk_create(events, batch_size=500)
    return review


def _item_notes(value, examples: dict) -> dict[str, dict]:
    if not isinstance(value, list):
        raise ReviewInputError("Expected a list of {exampleName, comment?, fields?}.", "itemNotes")
    out: dict[str, dict] = {}
    for index, entry in enumerate(value):
        field = f"itemNotes[{index}]"
        if not isinstance(entry, dict):
            raise ReviewInputError("Expected an object {exampleName, comment?, fields?}.", field)
        unknown = set(entry) - {"exampleName", "comment", "fields"}
        if unknown:
            raise ReviewInputError(f"Unknown key {sorted(unknown)[0]!r}.", field)
        name = entry.get("exampleName")
        if name not in examples:
            raise ReviewInputError(f"{name!r} is not one of this request's exampleNames.", f"{field}.exampleName")
        if name in out:
            raise ReviewInputError(f"A second note for {name!r}; give one per example.", f"{field}.exampleName")
        comment = _text(entry.get("comment"), f"{field}.comment")
        field_notes = []
        raw_fields = entry.get("fields")
        if raw_fields is not None:
            if not isinstance(raw_fields, list):
                raise ReviewInputError("Expected a list of {path, comment}.", f"{field}.fields")
            for j, fnote in enumerate(raw_fields):
                where = f"{field}.fields[{j}]"
                if not isinstance(fnote, dict) or not isinstance(fnote.get("path"), str):
                    raise ReviewInputError("Expected {path, comment}.", where)
                path = _path_in_any(fnote["path"], f"{where}.path", [examples[name].expected])
                field_notes.append({"comment": _text(fnote.get("comment"), f"{where}.comment", required=True),
                                    "fieldPath": path})
        out[name] = {"comment": comment, "fields": field_notes}
    return out


def review_locked(review_id: int) -> DatasetReview:
    """Lock the request row in a statement of its own, then read it (docs/dataset-reviews.md)."""
    DatasetReview.objects.select_for_update().filter(pk=review_id).values_list("pk", flat=True).first()
    return DatasetReview.objects.get(pk=review_id)


def review_update(*, review: DatasetReview, user, changes: dict) -> DatasetReview:
    """Change title / instructions / focus fields / ignored fields / status. Closed and
    cancelled requests are frozen: the only change they take is status back to open (with
    any other field in the same call). Closing writes nothing to the dataset."""
    with transaction.atomic():
        review = review_locked(review.pk)
        new_status = changes.get("status", UNSET)
        if new_status is not UNSET:
            _status(new_status, list(RequestStatus.values))
        if new_status is not UNSET and new_status != review.status and new_status not in TRANSITIONS[review.status]:
            allowed = ", ".join(sorted(TRANSITIONS[review.status]))
            raise ReviewInputError(f"A {review.status} request cannot become {new_status}; it can become "
                                   f"{allowed}.", "status")
        reopening = new_status == RequestStatus.OPEN and review.status in FROZEN
        if review.status in FROZEN and not reopening and any(
                key != "status" or value != review.status for key, value in changes.items()):
            raise RequestFrozen(f"The request is {review.status}; reopen it (status open) before changing it.")
        fields, before = [], request_state(review)
        if new_status is not UNSET and new_status != review.status:
            review.status = new_status
            review.closed_at = timezone.now() if new_status in FROZEN else None
            fields += ["status", "closed_at"]
        documents = None
        if "title" in changes:
            review.title = _text(changes["title"], "title", required=True, max_length=TITLE_MAX)
            fields.append("title")
        if "instructions" in changes:
            review.instructions = _text(changes["instructions"], "instructions")
            fields.append("instructions")
        if "focusFields" in changes or "ignoredFields" in changes:
            documents = list(review.items.values_list("snapshot_expected", flat=True))
        if "focusFields" in changes:
            review.focus_fields = _focus_fields(changes["focusFields"] or [], documents)
            fields.append("focus_fields")
        if "ignoredFields" in changes:
            review.ignored_fields = _ignored_fields(changes["ignoredFields"] or [], documents)
            fields.append("ignored_fields")
        if fields:
            review.updated_at = timezone.now()
            review.save(update_fields=[*fields, "updated_at"])
        request_change_record(review, before, user=user, reopening=reopening)
    return review


# --- items --------------------------------------------------------------------------------

ITEM_ACTIONS = ("approve", "comment", "edit", "edit-file", "field-decision", "file-decision", "remove", "reopen")
DECISIONS = ("approved", "removed")


def _locked_item(review: DatasetReview, item_id, expected_updated_at: datetime) -> tuple[DatasetReview, DatasetReviewItem]:
    """Inside a transaction: lock the item row in a statement of its own, then read the item and
    its request (after the lock was granted, so both are the latest committed), check that the
    request takes item writes and that the caller saw the current version."""
    found = (DatasetReviewItem.objects.select_for_update().filter(pk=item_id, review_id=review.pk)
             .values_list("pk", flat=True).first())
    if found is None:
        raise DatasetReviewItem.DoesNotExist
    item = DatasetReviewItem.objects.get(pk=found)
    review = DatasetReview.objects.get(pk=review.pk)
    if review.status not in ITEMS_WRITABLE:
        raise ItemsLocked(f"The request is {review.status}; items take changes only while it is draft or open.")
    if _millis(item.updated_at) != _millis(expected_updated_at):
        raise StaleItem(item)
    return review, item


def _decision(decision, comment, existing: dict, key: str, field: str, user, now: datetime) -> dict:
    """The decisions map after setting (or clearing, decision None) the one for `key`; a comment
    without a decision is a note on the decision already recorded."""
    decisions = dict(existing or {})
    if decision is UNSET:
        if comment is None:
            raise ReviewInputError("Give a decision (approved, removed or null) or a comment.", "decision")
        if key not in decisions:
            raise ReviewInputError(f"No decision on {key!r} yet: a comment alone is a note on a recorded "
                                   "decision.", "decision")
        decisions[key] = {**decisions[key], "comment": comment, "updatedAt": _iso(now)}
    elif decision is None:
        decisions.pop(key, None)
    else:
        _status(decision, DECISIONS, "decision")
        decisions[key] = {"decision": decision, "reviewerId": str(user.pk) if getattr(user, "pk", None) else "",
                          "updatedAt": _iso(now), **({"comment": comment} if comment is not None else {})}
    return decisions


def item_update(*, review: DatasetReview, item_id, user, action: str, expected_updated_at,
                expected=UNSET, comment=None, field_path=None, file_path=None, decision=UNSET) -> DatasetReviewItem:
    """One reviewer action on one item (every action but edit-file, item_file_edit's)."""
    _status(action, [a for a in ITEM_ACTIONS if a != "edit-file"], "action")
    seen = parse_expected_updated_at(expected_updated_at)
    comment = _text(comment, "comment")
    if action == "comment" and comment is None:
        raise ReviewInputError("Required for action comment.", "comment")
    if action == "edit" and expected is UNSET:
        raise ReviewInputError("Required for action edit: the corrected expected output.", "expected")
    if action == "field-decision" and not isinstance(field_path, str):
        raise ReviewInputError("Required for action field-decision: a dotted path such as vendor.iban.", "fieldPath")
    if action == "file-decision" and not isinstance(file_path, str):
        raise ReviewInputError("Required for action file-decision: an expected file's path.", "filePath")
    actor = user if getattr(user, "pk", None) else None
    with transaction.atomic():
        review, item = _locked_item(review, item_id, seen)
        now = _next_updated_at(item.updated_at)
        summary: dict = {}
        if comment is not None:
            summary["comment"] = comment
        fields = ["updated_at", "updated_by"]
        if action == "approve":
            item.status, event = ItemStatus.APPROVED, EventAction.APPROVED
            fields.append("status")
        elif action == "remove":
            item.status, event = ItemStatus.REMOVED, EventAction.REMOVED
            fields.append("status")
        elif action == "reopen":
            summary["from"] = item.status
            item.status, event = ItemStatus.PENDING, EventAction.REOPENED
            fields.append("status")
        elif action == "edit":
            summary["changed"] = _changed_paths(item.current_expected, expected)
            item.edited_expected, item.expected_edited = expected, True
            item.status, event = ItemStatus.EDITED, EventAction.EDITED
            fields += ["edited_expected", "expected_edited", "status"]
        elif action == "comment":
            event = EventAction.COMMENTED
            if field_path is not None:
                summary["fieldPath"] = _item_path(item, field_path)
        elif action == "field-decision":
            path = _item_path(item, field_path)
            item.field_decisions = _decision(decision, comment, item.field_decisions, path, "fieldPath", user, now)
            summary.update(fieldPath=path, decision=None if decision is UNSET else decision)
            event = EventAction.FIELD_DECISION
            fields.append("field_decisions")
        else:  # file-decision
            known = {f["path"] for f in current_expected_files(item)}
            if file_path not in known:
                raise ReviewInputError(f"No expected file {file_path!r} in this item.", "filePath")
            item.file_decisions = _decision(decision, comment, item.file_decisions, file_path, "filePath", user, now)
            summary.update(filePath=file_path, decision=None if decision is UNSET else decision)
            event = EventAction.FILE_DECISION
            fields.append("file_decisions")
        item.updated_at, item.updated_by = now, actor
        item.save(update_fields=fields)
        DatasetReviewEvent.objects.create(review=review, item=item, actor=actor, action=event,
                                          diff_summary=summary or None, created_at=now)
    return item


def _item_path(item: DatasetReviewItem, path) -> str:
    try:
        paths.split(path)
    except ValueError as exc:
        raise ReviewInputError(str(exc), "fieldPath") from None
    path = path.strip()
    if not (paths.exists(item.current_expected, path) or paths.exists(item.snapshot_expected, path)):
        raise ReviewInputError(f"No field {path!r} in this item's expected output.", "fieldPath")
    return path


def _changed_paths(before, after, limit: int = 50) -> list[str]:
    old = {p: paths.lookup(before, p) for p in paths.leaves(before)}
    new = {p: paths.lookup(after, p) for p in paths.leaves(after)}
    changed = [p for p in new if p not in old or old[p] != new[p]] + [p for p in old if p not in new]
    return changed[:limit]


def item_file_edit(*, review: DatasetReview, item_id, user, expected_updated_at, content: bytes, content_type: str,
                   file_path=None, new_path=None, comment=None) -> DatasetReviewItem:
    """Corrected bytes for an expected file (file_path) or a new one (new_path): exactly one."""
    seen = parse_expected_updated_at(expected_updated_at)
    comment = _text(comment, "comment")
    file_path = file_path or None
    new_path = new_path or None
    if (file_path is None) == (new_path is None):
        raise ReviewInputError("Give exactly one of filePath (an existing expected file) and newPath (a new one).",
                               "filePath" if file_path is None else "newPath")
    target_field = "filePath" if file_path else "newPath"
    try:
        target = safe_relative_path(file_path or new_path)
    except BadFileName as exc:
        raise ReviewInputError(str(exc), target_field) from None
    actor = user if getattr(user, "pk", None) else None
    with transaction.atomic():
        review, item = _locked_item(review, item_id, seen)
        current = [dict(f) for f in current_expected_files(item)]
        existing = next((f for f in current if f["path"] == target), None)
        if file_path and existing is None:
            raise ReviewInputError(f"No expected file {target!r} in this item; use newPath to add one.", "filePath")
        if new_path and existing is not None:
            raise ReviewInputError(f"{target!r} already exists; use filePath to correct it.", "newPath")
        stored = store_file(DatasetReviewFile(item=item, path=target,
                                              content_type=content_type or guess_content_type(target)),
                            replaces=None, name=target, content=content)
        entry = {"path": target, "fileId": str(stored.pk), "filename": target.rsplit("/", 1)[-1],
                 "origin": "uploaded" if new_path or (existing and existing["origin"] == "uploaded") else "corrected"}
        if existing is None:
            current.append(entry)
        else:
            current[current.index(existing)] = entry
        now = _next_updated_at(item.updated_at)
        item.current_files, item.status, item.updated_at, item.updated_by = current, ItemStatus.EDITED, now, actor
        item.save(update_fields=["current_files", "status", "updated_at", "updated_by"])
        summary = {"filePath": target, "origin": entry["origin"], "size": stored.size}
        if comment:
            summary["comment"] = comment
        DatasetReviewEvent.objects.create(review=review, item=item, actor=actor, action=EventAction.FILE_EDITED,
                                          diff_summary=summary, created_at=now)
    return item
