"""Writes to reviews: verdicts, corrections, expected files, clearing. Every change is
atomic, refuses stale versions, keeps the run's chip and the chip counters in step, and
leaves an audit event. Pages and the API call these same functions."""

from collections import Counter
from dataclasses import dataclass

from django.core.files.base import File
from django.db import transaction
from django.utils import timezone

from review.corrections import FILE, corrections_sync
from review.counters import (
    is_verdict_action,
    marks_of,
    review_counts_move,
    review_day_count_move,
    reviewer_count_verdict,
    verdict_bucket,
)
from review.jsondiff import corrected_paths
from review.models import AuditEvent, ExpectedFile, Review, SecondReview
from review.notify import review_events_emit
from runs.chips import Rating, ReviewStatus, derive_chip
from runs.counters import chip_count_move
from runs.files import (
    BadFileName,
    files_delete_on_commit,
    free_name,
    guess_content_type,
    safe_relative_path,
    store_file,
)
from runs.models import DOUBLE_WANTED, Run, RunFile

Via = AuditEvent.Via


class ReviewError(ValueError):
    """A review change that cannot be made; `field` names the offending input."""

    def __init__(self, message: str, field: str = "<root>"):
        super().__init__(message)
        self.field = field


class StaleReview(ReviewError):
    """The review changed since the reviewer loaded it; `current` is the review as it is now."""

    def __init__(self, current: Review):
        super().__init__(
            "Someone else saved this review since you opened it. Your changes were not saved; "
            "the current version is shown below.",
            field="version",
        )
        self.current = current


class FileMissing(ReviewError):
    pass


VERDICTS = {
    # docs/rules.md#reviews: thumbs up records pass + resolved; down fail + open; partial partial + open.
    "pass": {"rating": Rating.PASS, "status": ReviewStatus.RESOLVED},
    "fail": {"rating": Rating.FAIL, "status": ReviewStatus.OPEN},
    "partial": {"rating": Rating.PARTIAL, "status": ReviewStatus.OPEN},
}
STATUS_ACTIONS = {
    "resolve": ReviewStatus.RESOLVED,
    "ignore": ReviewStatus.IGNORED,
    "reopen": ReviewStatus.OPEN,
}


def review_locked(run_id: str) -> tuple[Run, Review, str | None]:
    """Lock the run's row, then read its review: the locking primitive of every review write
    (docs/rules.md#concurrent-writes). Two statements on purpose: under READ COMMITTED a
    statement that waited for a row lock re-reads only the locked row, so a review joined into
    the locking statement would be the one from before the other writer committed, and its
    version check would pass against a stale version. The second statement starts after the
    lock is granted and sees every committed change. The review is created empty when missing
    (no other writer can create it meanwhile: they wait for the same lock). Also the review's
    verdict bucket before this write (None when created now) for the review rollup. Call inside
    transaction.atomic()."""
    run = Run.objects.select_for_update().get(pk=run_id)
    review = Review.objects.filter(run_id=run.pk).first()
    if review is None:
        review = Review.objects.create(run=run)
        run.review = review
        return run, review, None
    run.review = review
    return run, review, verdict_bucket(review.rating)


def _validate(changes: dict) -> None:
    if "rating" in changes and changes["rating"] not in (None, *Rating.values):
        raise ReviewError("rating must be pass, fail, partial or null.", field="rating")
    if "status" in changes and changes["status"] not in (None, *ReviewStatus.values):
        raise ReviewError("status must be open, resolved, ignored or null.", field="status")
    if "body" in changes and changes["body"] is not None and not isinstance(changes["body"], str):
        raise ReviewError("body must be a string.", field="body")
    if isinstance(changes.get("body"), str) and len(changes["body"]) > 20_000:
        raise ReviewError("The note is longer than 20,000 characters.", field="body")


def _sync_derived(review: Review, run: Run, *, correction_notes: dict | None = None, files_changed: bool) -> dict:
    """Keep has_expected, the corrections, the run's chip and the counters consistent with the
    review; returns the corrected / uncorrected field paths for the audit event.

    Every change of the expected files comes through here with files_changed=True and keeps one
    file correction per file (review.corrections), so when the files did not change their names
    are read off those corrections instead of a query of their own."""
    existing = list(review.corrections.all())
    if files_changed:
        file_names = list(review.expected_files.values_list("name", flat=True))
    else:
        file_names = sorted(c.path for c in existing if c.kind == FILE)
    review.has_expected = review.expected is not None or bool(file_names)
    review.corrected_paths = corrected_paths(run.output, review.expected)
    history = corrections_sync(review, run.output, file_names, notes=correction_notes, existing=existing)
    new_chip = derive_chip(review.rating, review.status)
    if run.chip != new_chip:
        chip_count_move(automation_id=run.automation_id, sampled=run.sampled, old=run.chip, new=new_chip)
        Run.objects.filter(pk=run.pk).update(chip=new_chip)
        run.chip = new_chip
    return history


def _audit(run: Run, user, via: str, action: str, changes: dict) -> None:
    if is_verdict_action(action):
        reviewer_count_verdict(run=run, user=user)
    AuditEvent.objects.create(run=run, user=user if getattr(user, "pk", None) else None, via=via,
                              action=action, changes=changes)


def review_update(*, run: Run, changes: dict, user, base_version: int | None = None,
                  via: str = Via.WEB, action: str = "update", correction_notes: dict | None = None) -> Review:
    """Partially update a run's review (a left-out key is unchanged, None clears).

    `base_version` is the version the reviewer saw; when given and stale, StaleReview.
    `correction_notes` ({(kind, path): (note, label)}) sets the notes of those corrections
    (a reviews-generation `corrections` list, which replaces the whole set's notes).
    """
    _validate(changes)
    with transaction.atomic():
        run, review, bucket_before = review_locked(run.pk)
        marks_before = marks_of(run, review)
        if base_version is not None and base_version != review.version:
            raise StaleReview(review)
        _second_reviewer_refused(run, user)
        if correction_notes is not None:
            unknown = [path for kind, path in correction_notes
                       if kind == "file" and not review.expected_files.filter(name=path).exists()]
            if unknown:
                raise ReviewError(f"No expected file named {unknown[0]!r}; upload it first.", field="corrections")
        notes_before = _notes(review) if correction_notes is not None else None
        diff = review.apply(changes, user=user)
        if diff or correction_notes is not None:
            diff.update(_sync_derived(review, run, correction_notes=correction_notes, files_changed=False))
            if notes_before is not None and _notes(review) != notes_before:
                diff["corrections"] = [notes_before, _notes(review)]
            if diff and not set(diff) - {"corrections", "corrected", "uncorrected"}:
                review.version += 1
                review.updated_at = timezone.now()
            review.save()
            review_counts_move(marks_before, marks_of(run, review))
            if diff:
                _audit(run, user, via, action, diff)
        review_day_count_move(run=run, old=bucket_before, new=verdict_bucket(review.rating))
        if diff:
            review_events_emit(run=run, review=review, diff=diff, user=user)
    return review


def _second_reviewer_refused(run: Run, user) -> None:
    """A run waiting for its blind second review: whoever holds that second review may not write
    the first too (docs/rules.md#double-review). One query, only for such runs."""
    if run.double_review == DOUBLE_WANTED and getattr(user, "pk", None) \
            and SecondReview.objects.filter(run_id=run.pk, reviewer_id=user.pk).exists():
        raise ReviewError("You hold this run's second review; its first review must come from someone else.",
                          field="reviewer")


def _notes(review: Review) -> dict:
    """{kind:path: note} of the corrections that carry a note or label (the audit of a notes change)."""
    return {f"{c.kind}:{c.path}": [c.note, c.label] for c in review.corrections.all() if c.note or c.label}


UNCHANGED = object()


def review_save(*, run: Run, user, verdict: str | None = None, note: str | None = None, expected=UNCHANGED,
                base_version: int | None = None, via: str = Via.WEB) -> Review:
    """Verdict, note and corrected output saved together, in one transaction and one audit event.

    What the review pane's one "Save" sends: `verdict` None leaves the rating alone, `note` None
    leaves the note alone, `expected` left out leaves the correction alone (None clears it).
    """
    changes = {}
    if verdict:
        if verdict not in VERDICTS:
            raise ReviewError("Unknown verdict; use pass, fail or partial.", field="verdict")
        changes.update(VERDICTS[verdict])
    if note is not None:
        changes["body"] = note
    if expected is not UNCHANGED:
        changes["expected"] = expected
    action = f"save:{verdict}" if verdict else "save"
    return review_update(run=run, changes=changes, user=user, base_version=base_version, via=via, action=action)


def review_verdict(*, run: Run, verdict: str, user, base_version: int | None = None, via: str = Via.WEB) -> Review:
    if verdict not in VERDICTS:
        raise ReviewError("Unknown verdict; use pass, fail or partial.", field="verdict")
    return review_update(run=run, changes=VERDICTS[verdict], user=user, base_version=base_version,
                         via=via, action=f"verdict:{verdict}")


def review_set_status(*, run: Run, action: str, user, base_version: int | None = None, via: str = Via.WEB) -> Review:
    if action not in STATUS_ACTIONS:
        raise ReviewError("Unknown action; use resolve, ignore or reopen.", field="action")
    return review_update(run=run, changes={"status": STATUS_ACTIONS[action]}, user=user,
                         base_version=base_version, via=via, action=action)


def review_clear(*, run: Run, user, via: str = Via.API, base_version: int | None = None) -> None:
    """Delete the review with its expected JSON and every expected file (API DELETE).
    `base_version` (an If-Match) is checked under the run's lock: StaleReview when the review
    changed since (a missing review counts as version 0)."""
    with transaction.atomic():
        run = Run.objects.select_for_update().get(pk=run.pk)
        review = Review.objects.filter(run=run).first()
        if base_version is not None and (review.version if review is not None else 0) != base_version:
            raise StaleReview(review)
        if review is None:
            return
        expected_files = list(review.expected_files.all())
        names = [expected_file.name for expected_file in expected_files]
        files_delete_on_commit([expected_file.file for expected_file in expected_files])
        snapshot = {"rating": review.rating, "status": review.status, "body": review.body,
                    "expected": review.expected, "files": names}
        review_day_count_move(run=run, old=verdict_bucket(review.rating), new=None)
        review_counts_move(marks_of(run, review), Counter())
        review.delete()
        chip_count_move(automation_id=run.automation_id, sampled=run.sampled, old=run.chip, new="unreviewed")
        Run.objects.filter(pk=run.pk).update(chip="unreviewed")
        run.chip = "unreviewed"
        _audit(run, user, via, "clear", {"deleted": snapshot})


@dataclass
class FileChange:
    review: Review
    name: str


def _store_expected(review: Review, name: str, content: File | bytes, content_type: str, user,
                    details: dict | None = None) -> ExpectedFile:
    """Store (or replace) one expected file. A replaced file is described in `details` (for
    the audit): no overwrite goes unrecorded (docs/security.md)."""
    expected = ExpectedFile(review=review, name=name, content_type=content_type or guess_content_type(name),
                            created_by=user if getattr(user, "pk", None) else None)
    old = review.expected_files.select_related("created_by").filter(name=name).first()
    if old is not None and details is not None:
        details["replaced"] = {"size": old.size, "contentType": old.content_type,
                               "createdAt": old.created_at.isoformat() if old.created_at else None,
                               "createdBy": getattr(old.created_by, "username", None)}
    return store_file(expected, replaces=old, name=name, content=content)


def _file_change(run: Run, user, via: str, action: str, details: dict, work) -> FileChange:
    with transaction.atomic():
        run, review, bucket_before = review_locked(run.pk)
        marks_before = marks_of(run, review)
        name = work(review)  # may add to `details` (what a replaced file was)
        review.version += 1
        review.updated_at, review.updated_by = timezone.now(), user if getattr(user, "pk", None) else None
        _sync_derived(review, run, files_changed=True)
        review.save()
        review_day_count_move(run=run, old=bucket_before, new=verdict_bucket(review.rating))
        review_counts_move(marks_before, marks_of(run, review))
        _audit(run, user, via, action, {**details, "name": name})
        review_events_emit(run=run, review=review, diff={"files": [action, name]}, user=user)
    return FileChange(review=review, name=name)


def _clean_name(name: str) -> str:
    try:
        return safe_relative_path(name)
    except BadFileName as exc:
        raise ReviewError(str(exc), field="name") from None


def _target_name(review: Review, clean: str, keep_existing: bool) -> str:
    """With keep_existing (the pages: no silent overwrite, docs/security.md), a free name chosen
    under the run's lock, so two uploads of one name at the same moment both stay."""
    if not keep_existing:
        return clean
    return free_name(review.expected_files.values_list("name", flat=True), clean)


def expected_file_upload(*, run: Run, upload: File, name: str | None, user, via: str = Via.WEB,
                         keep_existing: bool = False) -> FileChange:
    """Attach an uploaded file as expected; an existing file of that name is replaced, or with
    keep_existing kept beside the new one (`name-2.ext`)."""
    clean = _clean_name(name or getattr(upload, "name", "") or "file")
    content_type = getattr(upload, "content_type", "") or guess_content_type(clean)
    details = {"size": upload.size}
    return _file_change(run, user, via, "expected_file:upload", details, lambda review: _store_expected(
        review, _target_name(review, clean, keep_existing), upload, content_type, user, details).name)


def expected_file_copy_output(*, run: Run, output_name: str, expected_name: str | None, user,
                              via: str = Via.WEB, keep_existing: bool = False) -> FileChange:
    """Copy one of the run's output files to expected (the starting point of a corrected file)."""
    source = RunFile.objects.filter(run=run, name=output_name).exclude(role="input").first()
    if source is None:
        raise FileMissing(f"The run has no output file named {output_name!r}.", field="outputFileName")
    clean = _clean_name(expected_name or source.name)

    details = {"from": output_name}

    def work(review):
        with source.file.open("rb") as handle:
            data = handle.read()
        return _store_expected(review, _target_name(review, clean, keep_existing), data, source.content_type,
                               user, details).name

    return _file_change(run, user, via, "expected_file:copy", details, work)


def expected_file_rename(*, run: Run, name: str, new_name: str, user, via: str = Via.WEB) -> FileChange:
    clean = _clean_name(new_name)

    def work(review):
        expected = review.expected_files.filter(name=name).first()
        if expected is None:
            raise FileMissing(f"No expected file named {name!r}.", field="name")
        if clean != name and review.expected_files.filter(name=clean).exists():
            raise ReviewError(f"An expected file named {clean!r} already exists.", field="name")
        expected.name = clean
        expected.save(update_fields=["name"])
        return clean

    return _file_change(run, user, via, "expected_file:rename", {"from": name}, work)


def expected_file_delete(*, run: Run, name: str, user, via: str = Via.WEB) -> FileChange:
    def work(review):
        expected = review.expected_files.filter(name=name).first()
        if expected is None:
            raise FileMissing(f"No expected file named {name!r}.", field="name")
        files_delete_on_commit([expected.file])
        expected.delete()
        return name

    return _file_change(run, user, via, "expected_file:delete", {}, work)
