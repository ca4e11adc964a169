"""Writes to the dataset: promotion of a reviewed run into an example."""

import re

from django.db import transaction
from django.utils import timezone

from datasets.models import EXAMPLE_NAME_RE, Example, ExampleCheck, ExampleFile, ExampleFolder
from review.counters import review_day_count_move, verdict_bucket
from review.models import AuditEvent, Review
from runs.files import files_delete_on_commit, store_file
from runs.models import FileRole, Run


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


def _read(field_file) -> bytes:
    with field_file.open("rb") as handle:
        return handle.read()


class ExampleNameTaken(PromoteError):
    """The name belongs to an example promoted from another run; replacing it must be chosen."""

    def __init__(self, example: Example):
        source = example.source_run_id or "no run"
        super().__init__(f"The example {example.name!r} already exists, promoted from {source}. Choose another "
                         "name, or tick the box to replace that example with this run.", field="replace_example")
        self.example = example


def example_promote(*, run: Run, name: str | None, user, via: str = AuditEvent.Via.WEB,
                    replace_other: bool = True) -> Example:
    """Copy the run's input, output, expected output and files into an example of the same
    automation. An upsert by name: promoting again under the same name refreshes it. With
    replace_other=False (the review page until the reviewer ticks the box), a name held by
    an example of another run is refused (ExampleNameTaken). Replacing another run's example is
    recorded in the audit with what it held (docs/security.md)."""
    name = (name or "").strip() or default_example_name(run)
    if not EXAMPLE_NAME_RE.match(name):
        raise PromoteError(
            "Example names use 1-128 lowercase letters, digits, '-' or '_', starting with a letter or digit."
        )
    with transaction.atomic():
        run = Run.objects.select_for_update().get(pk=run.pk)
        review, created = Review.objects.get_or_create(run=run)
        if created:
            review_day_count_move(run=run, old=None, new=verdict_bucket(None))
        now = timezone.now()
        example, created = Example.objects.select_for_update().get_or_create(
            automation_id=run.automation_id, name=name,
            defaults={"created_at": now},
        )
        replaced = None
        if not created and example.source_run_id != run.id:
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
        example.save()
        # The example's files mirror the run now: expected files from the review, input files from the run.
        files_delete_on_commit([old.file for old in example.files.all()])
        example.files.all().delete()
        for expected in review.expected_files.all():
            example_file_store(example=example, folder=ExampleFolder.EXPECTED, path=expected.name,
                               content=_read(expected.file), content_type=expected.content_type)
        for run_file in run.files.filter(role=FileRole.INPUT):
            example_file_store(example=example, folder=ExampleFolder.INPUT, path=run_file.name,
                               content=_read(run_file.file), content_type=run_file.content_type)
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
    return example


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
