"""Writes to the dataset: promotion of a reviewed run into an example."""

import re

from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.utils import timezone

from datasets.models import EXAMPLE_NAME_RE, Example, ExampleCheck, ExampleFile, ExampleFolder
from events.outbox import event_emit, event_wanted
from events.types import EXAMPLE_PROMOTED
from review.counters import review_day_count_move, verdict_bucket
from review.models import AuditEvent, ExpectedFile, Review
from review.services import StaleReview, review_locked
from runs.files import files_delete_on_commit, store_file, store_file_bytes
from runs.models import FileRole, Run, RunFile


class PromoteError(ValueError):
    def __init__(self, message: str, field: str = "name"):
        super().__init__(message)
        self.field = field


def default_example_name(run: Run) -> str:
    """A valid archive folder name derived from the run id: `run_AbC.1` -> `run_abc-1`."""
    name = re.sub(r"[^a-z0-9_-]+", "-", run.id.lower()).strip("-_") or "example"
    return name[:128]


def example_file_store(*, example: Example, folder: str, path: str, content: bytes, content_type: str) -> ExampleFile:
    return store_file(ExampleFile(example=example, folder=folder, path=path, content_type=content_type),
                      replaces=example.files.filter(folder=folder, path=path).first(), name=path, content=content)


class ExampleNameTaken(PromoteError):
    """The name belongs to an example promoted from another run; replacing it must be chosen."""

    def __init__(self, example: Example):
        source = example.source_run_id or "no run"
        super().__init__(f"The example {example.name!r} already exists, promoted from {source}. Choose another "
                         "name, or tick the box to replace that example with this run.", field="replace_example")
        self.example = example


def example_promote(*, run: Run, name: str | None, user, via: str = AuditEvent.Via.WEB,
                    replace_other: bool = True, base_version: int | None = None) -> Example:
    """Copy the run's input, output, expected output and files into an example of the same
    automation. An upsert by name: promoting again under the same name refreshes it. With
    replace_other=False (the review page until the reviewer ticks the box), a name held by
    an example of another run is refused (ExampleNameTaken). Replacing another run's example is
    recorded in the audit with what it held (docs/security.md). `base_version`, the review
    version the reviewer saw, is checked under the run's lock (StaleReview when stale): the
    example takes the review as it is, so a promote from a stale page would copy a correction
    the reviewer never saw."""
    name = (name or "").strip() or default_example_name(run)
    if not EXAMPLE_NAME_RE.match(name):
        raise PromoteError(
            "Example names use 1-128 lowercase letters, digits, '-' or '_', starting with a letter or digit."
        )
    try:
        return _promote(run, name, user, via, replace_other, base_version)
    except IntegrityError:
        # Another promotion created an example of this name at the same moment (the unique
        # name): promote again, now as the update of that example.
        return _promote(run, name, user, via, replace_other, base_version)


def _promote(run: Run, name: str, user, via: str, replace_other: bool, base_version: int | None) -> Example:
    with transaction.atomic():
        run, review, bucket_before = review_locked(run.pk)
        if base_version is not None and base_version != review.version:
            raise StaleReview(review)
        if bucket_before is None:
            review_day_count_move(run=run, old=None, new=verdict_bucket(None))
        now = timezone.now()
        example = Example.objects.select_for_update().filter(automation_id=run.automation_id, name=name).first()
        created = example is None
        replaced = None
        if created:
            example = Example(automation_id=run.automation_id, name=name, created_at=now)
        elif example.source_run_id != run.id:
            if not replace_other:
                raise ExampleNameTaken(example)
            replaced = {"sourceRunId": example.source_run_id, "expected": example.expected,
                        "files": sorted(f"{f.folder}/{f.path}" for f in example.files.all()),
                        "updatedAt": example.updated_at.isoformat() if example.updated_at else None}
        example.input = run.input
        example.output = run.output
        example.expected = review.expected
        example.source_run = run
        example.promoted_by = user if getattr(user, "pk", None) else None
        example.metadata = {**(example.metadata or {}), "sourceRunId": run.id,
                            "promotedBy": getattr(user, "username", None), "promotedAt": now.isoformat()}
        example.updated_at = now
        example.save(force_insert=created)
        _mirror_files(example, run, review, created=created)
        old_name = review.promoted_example_name
        review.promoted_example = example
        review.promoted_example_name = example.name
        review.version += 1
        review.save(update_fields=["promoted_example", "promoted_example_name", "version"])
        AuditEvent.objects.create(
            run=run, user=user if getattr(user, "pk", None) else None, via=via, action="promote",
            changes={"promoted_example_name": [old_name, example.name], "created": created,
                     "has_expected": review.expected is not None,
                     **({"replaced": replaced} if replaced is not None else {})},
        )
        if event_wanted(EXAMPLE_PROMOTED):
            event_emit(type=EXAMPLE_PROMOTED, automation_id=run.automation.ref, data={
                "exampleId": example.pk, "exampleName": example.name, "created": created, "runId": run.pk,
                "reviewId": review.pk, "automationId": run.automation.ref, "hasExpected": review.expected is not None,
                "by": getattr(user, "username", None) or None})
    example.promoted_review = review  # the review as promoted (its new version), for the caller's page
    example.created_now = created
    return example


_MIRRORED = ("folder", "path", "stored", "content_type", "size", "created_at")


def _mirror_files(example: Example, run: Run, review: Review, *, created: bool) -> None:
    """Make the example's files mirror the run now: expected files from the review, input files
    from the run (read in one query). A copy is kept while its source is the same file (same
    size, not stored after the copy was made: a replaced file is a new, later row); others are
    copied anew, and copies of files no longer there are deleted (their bytes on commit)."""
    expected = (ExpectedFile.objects.filter(review=review).order_by()
                .annotate(folder=Value(ExampleFolder.EXPECTED), path=F("name"), stored=F("file"))
                .values_list(*_MIRRORED))
    inputs = (RunFile.objects.filter(run=run, role=FileRole.INPUT).order_by()
              .annotate(folder=Value(ExampleFolder.INPUT), path=F("name"), stored=F("file"))
              .values_list(*_MIRRORED))
    sources = {(folder, path): (stored, content_type, size, stored_at)
               for folder, path, stored, content_type, size, stored_at in expected.union(inputs, all=True)}
    copies = {} if created else {(f.folder, f.path): f for f in example.files.all()}
    stale = [copy for key, copy in copies.items()
             if key not in sources or sources[key][2] != copy.size or sources[key][3] > copy.created_at]
    if stale:
        files_delete_on_commit([copy.file for copy in stale])
        ExampleFile.objects.filter(pk__in=[copy.pk for copy in stale]).delete()
    source_storage = {ExampleFolder.EXPECTED: ExpectedFile._meta.get_field("file").storage,
                      ExampleFolder.INPUT: RunFile._meta.get_field("file").storage}
    fresh = []
    for (folder, path), (stored, content_type, _size, _at) in sources.items():
        old = copies.get((folder, path))
        if old is not None and old not in stale:
            continue
        row = ExampleFile(example=example, folder=folder, path=path, content_type=content_type)
        with source_storage[folder].open(stored, "rb") as handle:
            store_file_bytes(row, replaces=old, name=path, content=handle.read())
        fresh.append(row)
    if fresh:
        ExampleFile.objects.bulk_create(fresh)


# --- Example create / update / delete (dataset pages, archive import) ---------------------

EXAMPLE_FIELDS = ("name", "input", "expected", "metadata", "annotation", "row_order", "overrides", "assertions")


class ExampleError(ValueError):
    def __init__(self, message: str, field: str = "name"):
        super().__init__(message)
        self.field = field


def _check_name(automation_id: int, name: str, *, exclude_pk: int | None = None) -> None:
    if not EXAMPLE_NAME_RE.match(name or ""):
        raise ExampleError(
            "Example names use 1-128 lowercase letters, digits, '-' or '_', starting with a letter or digit."
        )
    taken = Example.objects.filter(automation_id=automation_id, name=name).exclude(pk=exclude_pk)
    if taken.exists():
        raise ExampleError(f"An example named {name!r} already exists in this dataset.")


def example_create(*, automation, name: str, user=None, **fields) -> Example:
    """A new example of `automation`; `fields` are any of EXAMPLE_FIELDS besides name."""
    unknown = set(fields) - set(EXAMPLE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown example fields: {sorted(unknown)}")
    _check_name(automation.pk, name)
    now = timezone.now()
    fields.setdefault("assertions", [])
    return Example.objects.create(automation=automation, name=name, created_at=now, updated_at=now, **fields)


def example_update(*, example: Example, user=None, **changes) -> Example:
    """Set some of EXAMPLE_FIELDS on one example (a rename is checked for clashes)."""
    unknown = set(changes) - set(EXAMPLE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown example fields: {sorted(unknown)}")
    if "name" in changes and changes["name"] != example.name:
        _check_name(example.automation_id, changes["name"], exclude_pk=example.pk)
    for field_name, value in changes.items():
        setattr(example, field_name, value)
    example.updated_at = timezone.now()
    example.save(update_fields=[*changes, "updated_at"])
    return example


def example_delete(*, example: Example, user=None) -> None:
    """Delete one example with its files (stored files go once the transaction commits)."""
    with transaction.atomic():
        files_delete_on_commit([f.file for f in example.files.all()])
        example.delete()


def examples_delete_all(*, automation) -> tuple[int, int]:
    """Empty an automation's dataset; returns (examples deleted, files deleted)."""
    with transaction.atomic():
        files = list(ExampleFile.objects.filter(example__automation=automation).only("file"))
        files_delete_on_commit([f.file for f in files])
        ExampleFile.objects.filter(example__automation=automation).delete()
        _, per_model = Example.objects.filter(automation=automation).delete()
    return per_model.get(Example._meta.label, 0), len(files)


# --- Example files (used by the API) -----------------------------------------------------


def example_file_upload(*, example: Example, folder: str, files: list[tuple[str, bytes, str]]) -> list[str]:
    """Store (path, content, content_type) files in the folder; a file at the same path is replaced."""
    stored = []
    with transaction.atomic():
        for path, content, content_type in files:
            stored.append(example_file_store(example=example, folder=folder, path=path, content=content,
                                             content_type=content_type).path)
        Example.objects.filter(pk=example.pk).update(updated_at=timezone.now())
    return stored


def example_file_rename(*, example: Example, folder: str, path: str, new_filename: str) -> str:
    """Give the file a new basename in the same parent folder; returns the new path."""
    if not new_filename or "/" in new_filename or new_filename in (".", ".."):
        raise ExampleError("Give a new file name without '/'; the parent folder is kept.", field="newFilename")
    parent = path.rpartition("/")[0]
    new_path = f"{parent}/{new_filename}" if parent else new_filename
    with transaction.atomic():
        example_file = example.files.select_for_update().filter(folder=folder, path=path).first()
        if example_file is None:
            raise ExampleError(f"No file {folder}/{path}.", field="path")
        if new_path != path and example.files.filter(folder=folder, path=new_path).exists():
            raise ExampleError(f"A file {folder}/{new_path} already exists.", field="newFilename")
        example_file.path = new_path
        example_file.save(update_fields=["path"])
        Example.objects.filter(pk=example.pk).update(updated_at=timezone.now())
    return new_path


def example_file_delete(*, example: Example, folder: str, path: str) -> bool:
    """Delete one file; False when there was none (a repeated delete is harmless)."""
    with transaction.atomic():
        example_file = example.files.filter(folder=folder, path=path).first()
        if example_file is None:
            return False
        files_delete_on_commit([example_file.file])
        example_file.delete()
        Example.objects.filter(pk=example.pk).update(updated_at=timezone.now())
    return True


def latest_check(example: Example | None) -> ExampleCheck | None:
    return example.checks.order_by("-created_at", "-id").first() if example else None


def automation_set_auto_resolve(*, automation, enabled: bool) -> None:
    automation.auto_resolve = enabled
    automation.save(update_fields=["auto_resolve", "updated_at"])
