"""The default backend: runs, reviews, files and examples in Loupe's own database and storage.
A thin layer over backends/local_queries.py, review.queries and the services; it turns rows into the interface's value
objects and the services' errors into the interface's errors. No query is added on the way:
the queue page still costs the budget pinned in tests/web/test_queue.py."""

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import BooleanField as BooleanExpression
from django.db.models import Count, Exists, ExpressionWrapper, F, OuterRef, Q, Sum

from backends import local_queries
from backends.base import Backend
from backends.errors import ChangeRefused, NotFound, ReviewConflict, StorageFull
from backends.local_queries import counts_masked, masked_chip, masked_chip_counts
from backends.values import (
    MAX_SCORES,
    ExampleInfo,
    ExamplePage,
    FileDownload,
    FileInfo,
    PromoteResult,
    QueuePage,
    QueueQuery,
    ReviewInfo,
    RunInfo,
    ScoreInfo,
    StepInfo,
)
from datasets import archive
from datasets.compare import ExampleRun
from datasets.models import Example, ExampleFile
from datasets.services import (
    ExampleError,
    PromoteError,
    example_create,
    example_delete,
    example_promote,
    example_update,
    latest_check,
)
from review import queries, services
from review.models import ExpectedFile, Review
from runs.chips import Chip, derive_chip
from runs.files import StorageFull as DiskFull
from runs.ids import small_int
from runs.models import DOUBLE_WANTED, Automation, EvaluatorScore, Run, RunFile, RunStatus, RunStep
from runs.sql import raw_once

CHUNK = 64 * 1024
# The example list never loads the JSON columns.
LIST_DEFERRED = ("input", "output", "expected", "overrides", "assertions", "metadata")


_UNREAD = object()


def _file_infos(rows, role: str | None = None) -> list[FileInfo]:
    """FileInfo of run files or expected files (`role` for rows without one of their own)."""
    return [FileInfo(key=str(f.pk), name=f.name, role=role or f.role, size=f.size, content_type=f.content_type,
                     handle=f.file) for f in rows]


def review_info(review: Review | None, *, files: list[FileInfo] | None = None, example_check=_UNREAD,
                updated_by: str | None = None) -> ReviewInfo | None:
    """`files`, `example_check` and `updated_by` (a name), when given, are what the caller already
    read of them (the pane's query; a save that changed neither); else they are read here."""
    if review is None:
        return None
    if files is None:
        files = _file_infos(review.expected_files.all(), role="expected")
    if example_check is _UNREAD:
        example_check = latest_check(review.promoted_example) if review.promoted_example_id else None
    return ReviewInfo(
        rating=review.rating, status=review.status, body=review.body or "", expected=review.expected,
        version=review.version, expected_files=files, promoted_example_name=review.promoted_example_name,
        promoted_example_id=str(review.promoted_example_id) if review.promoted_example_id else None,
        updated_at=review.updated_at,
        updated_by=updated_by if updated_by is not None else review.updated_by.get_username() if review.updated_by else "",
        example_check=example_check,
    )


def run_info(pane: local_queries.PaneRow) -> RunInfo:
    """The run as the pane shows it, from what run_for_pane read (no query of its own)."""
    run = pane.run
    return RunInfo(
        id=run.pk, automation=run.automation, status=run.status, created_at=run.created_at, sampled=run.sampled,
        sample_bucket=run.sample_bucket, chip=run.chip, output_preview=run.output_preview,
        completed_at=run.completed_at, duration_ms=run.duration_ms, version=run.version, trigger=run.trigger,
        example_id=run.example_id, stratum=run.stratum, inclusion_bp=run.inclusion_bp, detail=True, error=run.error,
        input=run.input, output=run.output, double_review=run.double_review,
        files=_file_infos(pane.files),
        review=review_info(pane.review, example_check=pane.check, updated_by=pane.updated_by,
                           files=_file_infos(pane.expected_files, role="expected")),
    )


def _chunks(field_file) -> Iterator[bytes]:
    with field_file.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def _download(field_file, name: str, content_type: str, size: int) -> FileDownload:
    try:
        field_file.open("rb").close()
    except OSError as exc:
        raise NotFound(f"The stored file {name} cannot be read.") from exc
    return FileDownload(chunks=_chunks(field_file), filename=name.rsplit("/", 1)[-1], content_type=content_type,
                        size=size)


def _refused(exc: Exception, field: str = "<root>") -> ChangeRefused:
    if isinstance(exc, services.FileMissing):
        return NotFound(str(exc), field=exc.field)
    return ChangeRefused(str(exc), field=getattr(exc, "field", field))


# Sums of the ChipCount counters per automation, one annotation per (scope, chip).
_CHIP_TOTALS = {
    f"chips_{scope}_{chip}": Sum("chip_counts__count", default=0, filter=Q(chip_counts__chip=chip) & (
        Q(chip_counts__sampled=True) if scope == "sampled" else Q()))
    for scope in ("sampled", "all") for chip in Chip.values
}


def _automations_of(query: QueueQuery, rows: list[dict]) -> dict:
    """The rows' automations by pk: those the query carries, the others read in one query
    (callers outside the queue page)."""
    automations = {a.pk: a for a in query.automations}
    if query.automation is not None:
        automations[query.automation.pk] = query.automation
    missing = {r["automation_id"] for r in rows} - automations.keys()
    if missing:
        automations.update(Automation.objects.in_bulk(missing))
    return automations


# Whether some run of the automation waits for its blind second review (the partial index
# run_double_review): only then do the chip counts need the masked runs (docs/rules.md#double-review).
_DOUBLE_WANTED = Exists(Run.objects.filter(automation=OuterRef("pk"), double_review=DOUBLE_WANTED))


def _loaded_chip_totals(query: QueueQuery) -> dict | None:
    """The chip counters automations() loaded, by automation pk; None unless every automation of
    the query (and the chosen one) carries them."""
    loaded = {a.pk: a.chip_totals for a in query.automations if hasattr(a, "chip_totals")}
    if not query.automations or len(loaded) != len(query.automations):
        return None
    if query.automation is not None and query.automation.pk not in loaded:
        return None
    return loaded


class LocalBackend(Backend):
    name = "local"
    has_chip_counts = True
    reports_steps = True

    def automations(self) -> list[Automation]:
        """Every automation with its chip counters (sampled runs and all runs) in the same query,
        so the queue shows its chip counts without a query of their own. The statement never
        changes, so it is compiled once per database (compiling its twelve sums cost four times
        what running it did, on every queue page and pane)."""
        automations = list(raw_once("automations with chip totals", lambda: Automation.objects.order_by("kind", "slug")
                                    .annotate(**_CHIP_TOTALS, double_wanted=_DOUBLE_WANTED)))
        for automation in automations:
            automation.chip_totals = {
                scope: {chip: getattr(automation, f"chips_{scope}_{chip}") for chip in Chip.values}
                for scope in ("sampled", "all")}
        return automations

    def queue_page(self, query: QueueQuery) -> QueuePage:
        rows, has_older, has_newer = local_queries.queue_rows(query)
        automations = _automations_of(query, rows)
        infos = [RunInfo(id=r["id"], automation=automations[r["automation_id"]], status=r["status"],
                         created_at=r["created_at"], sampled=r["sampled"], sample_bucket=r["sample_bucket"],
                         chip=masked_chip(r["chip"], r["double_review"]), output_preview=r["output_preview"],
                         completed_at=r["completed_at"],
                         duration_ms=r["duration_ms"], version=r["version"], trigger=r["trigger"],
                         example_id=r["example_id"], stratum=r["stratum"], inclusion_bp=r["inclusion_bp"])
                 for r in rows]
        return QueuePage(
            rows=infos,
            holders={r["id"]: r["claim_holder"] for r in rows if r["claim_holder"]},
            older=(rows[-1]["created_at"], rows[-1]["id"]) if rows and has_older else None,
            newer=(rows[0]["created_at"], rows[0]["id"]) if rows and has_newer else None,
        )

    def chip_counts(self, query: QueueQuery) -> dict[str, int]:
        """From the counters automations() loaded with the automations when the query carries
        them (no query of its own), else from the ChipCount table."""
        loaded = _loaded_chip_totals(query)
        if loaded is None:
            counts = local_queries.queue_chip_counts(query)
            return counts_masked(counts, masked_chip_counts(query)) if counts else counts
        if query.unknown_automation:
            return {}
        chosen = [query.automation] if query.automation is not None else query.automations
        scope = "sampled" if query.sampled_only else "all"
        totals = {}
        for automation in chosen:
            for chip, n in loaded[automation.pk][scope].items():
                totals[chip] = totals.get(chip, 0) + (n or 0)
        # Runs waiting for a blind second review count as such, not under their chip, so that no
        # count gives a first verdict away; one more query, only where such runs exist.
        if any(getattr(automation, "double_wanted", True) for automation in chosen):
            return counts_masked(totals, masked_chip_counts(query))
        return {chip: max(n, 0) for chip, n in totals.items() if n}

    def neighbour(self, query: QueueQuery, run: RunInfo, direction: str) -> str | None:
        return local_queries.queue_neighbour(query, run.created_at, run.id, direction)

    def run(self, run_id: str) -> RunInfo:
        try:
            return run_info(local_queries.run_for_pane(run_id))
        except Run.DoesNotExist:
            raise NotFound(f"No run {run_id!r}.") from None

    def run_file(self, run_id: str, key: str) -> FileDownload:
        run_file = RunFile.objects.filter(pk=key, run_id=run_id).first() if small_int(key) is not None else None
        if run_file is None:
            raise NotFound("No such file in this run.")
        return _download(run_file.file, run_file.name, run_file.content_type, run_file.size)

    def expected_file(self, run_id: str, key: str) -> FileDownload:
        expected = (ExpectedFile.objects.filter(pk=key, review__run_id=run_id).first()
                    if small_int(key) is not None else None)
        if expected is None:
            raise NotFound("No such expected file for this run.")
        return _download(expected.file, expected.name, expected.content_type, expected.size)

    def read_head(self, run: RunInfo, file: FileInfo, limit: int, *, expected: bool = False) -> bytes:
        with file.handle.open("rb") as handle:
            return handle.read(limit)

    def run_scores(self, run_id: str) -> list[ScoreInfo]:
        rows = list(EvaluatorScore.objects.filter(run_id=run_id).order_by("name")[:MAX_SCORES])
        if not rows and not Run.objects.filter(pk=run_id).exists():
            raise NotFound(f"No run {run_id!r}.")
        return [ScoreInfo(s.name, s.value, s.passed, s.source) for s in rows]

    def audit_trail(self, run_id: str, limit: int = 50) -> list:
        return queries.audit_trail(run_id, limit)

    def run_steps(self, run: RunInfo) -> list[StepInfo]:
        return [StepInfo(position=s.position, name=s.name, type=s.type, status=s.status, started_at=s.started_at,
                         completed_at=s.completed_at, input=s.input, output=s.output, error=s.error)
                for s in RunStep.objects.filter(run_id=run.id).order_by("position")]

    def last_output(self, run: RunInfo) -> Any:
        return (Run.objects.filter(automation_id=run.automation.pk, status=RunStatus.COMPLETED, output__isnull=False)
                .exclude(pk=run.id).order_by("-created_at").values_list("output", flat=True).first())

    # -- writes: the services do the work, atomically, with their own audit events ------------

    def _run_row(self, run: RunInfo) -> Run:
        try:
            return Run.objects.select_related("automation").get(pk=run.id)
        except ObjectDoesNotExist:
            raise NotFound(f"No run {run.id!r}.") from None

    def review_update(self, *, run: RunInfo, changes: dict, user, base_version: int | None, action: str) -> RunInfo:
        """The run as saved: the review from the service's own write, the expected files and the
        example check as `run` had them (a review update changes neither; a file change or a
        promotion in between bumps the version, which a stale base_version refuses)."""
        try:
            review = services.review_update(run=run, changes=changes, user=user, base_version=base_version,
                                            action=action)
        except Run.DoesNotExist:
            raise NotFound(f"No run {run.id!r}.") from None
        except services.StaleReview as exc:
            raise ReviewConflict(review_info(exc.current)) from None
        except services.ReviewError as exc:
            raise _refused(exc) from None
        if not run.detail:
            return self.run(run.id)
        before = run.review
        return replace(run, chip=derive_chip(review.rating, review.status), review=review_info(
            review, files=before.expected_files if before else [], example_check=before.example_check if before else None))

    def _file_op(self, work) -> str:
        try:
            return work().name
        except services.ReviewError as exc:
            raise _refused(exc) from None
        except DiskFull:
            raise StorageFull() from None

    def expected_file_upload(self, *, run: RunInfo, upload, name: str | None, user) -> str:
        """A same-name file is kept beside the first: the free name is chosen again under the
        run's lock (two uploads at the same moment both stay)."""
        return self._file_op(lambda: services.expected_file_upload(run=self._run_row(run), upload=upload, name=name,
                                                                    keep_existing=True,
                                                                    user=user))

    def expected_file_copy(self, *, run: RunInfo, output_name: str, expected_name: str | None, user) -> str:
        return self._file_op(lambda: services.expected_file_copy_output(
            run=self._run_row(run), output_name=output_name, expected_name=expected_name, user=user,
            keep_existing=True))

    def expected_file_rename(self, *, run: RunInfo, name: str, new_name: str, user) -> str:
        return self._file_op(lambda: services.expected_file_rename(run=self._run_row(run), name=name,
                                                                    new_name=new_name, user=user))

    def expected_file_delete(self, *, run: RunInfo, name: str, user) -> str:
        return self._file_op(lambda: services.expected_file_delete(run=self._run_row(run), name=name, user=user))

    def promote(self, *, run: RunInfo, name: str, user, replace_other: bool = True,
                base_version: int | None = None) -> PromoteResult:
        try:
            example = example_promote(run=run, name=name, user=user, replace_other=replace_other,
                                      base_version=base_version)
        except Run.DoesNotExist:
            raise NotFound(f"No run {run.id!r}.") from None
        except services.StaleReview as exc:
            raise ReviewConflict(review_info(exc.current)) from None
        except PromoteError as exc:
            raise ChangeRefused(str(exc), field=exc.field) from None
        except DiskFull:
            raise StorageFull() from None
        return PromoteResult(example_id=str(example.pk), name=example.name, run=self._promoted(run, example))

    @staticmethod
    def _promoted(run: RunInfo, example: Example) -> RunInfo | None:
        """The pane's run after a promotion, from what it had: promoting changes only the review's
        example link and version (and which example check the pane shows)."""
        before = run.review
        if not run.detail or before is None:
            return None
        if before.promoted_example_id == str(example.pk):
            check = before.example_check
        else:
            check = None if example.created_now else latest_check(example)
        return replace(run, review=replace(before, promoted_example_name=example.name,
                                           promoted_example_id=str(example.pk),
                                           version=example.promoted_review.version, example_check=check))

    # -- datasets --------------------------------------------------------------------------------

    def automation(self, ref: str) -> Automation:
        try:
            return Automation.objects.by_ref(ref)
        except Automation.DoesNotExist:
            raise NotFound(f"No automation {ref}.") from None

    def datasets(self) -> list[tuple[Automation, int | None]]:
        return [(a, a.n_examples) for a in Automation.objects.annotate(n_examples=Count("examples"))]

    def examples_page(self, automation: Automation, number: int, page_size: int) -> ExamplePage:
        examples = (
            automation.examples.defer(*LIST_DEFERRED)
            .annotate(n_files=Count("files"),
                      has_expected=ExpressionWrapper(Q(expected__isnull=False), output_field=BooleanExpression()))
            .order_by(F("row_order").asc(nulls_last=True), "name")
        )
        page = Paginator(examples, page_size).get_page(number)
        rows = [ExampleInfo(id=str(e.pk), name=e.name, annotation=e.annotation, has_expected=e.has_expected,
                            n_files=e.n_files, source_run_id=e.source_run_id, created_at=e.created_at,
                            updated_at=e.updated_at, row_order=e.row_order) for e in page.object_list]
        return ExamplePage(rows=rows, number=page.number, count=page.paginator.count, page_size=page_size)

    def _example_row(self, automation: Automation, example_id: str) -> Example:
        example = (Example.objects.select_related("promoted_by").filter(pk=example_id, automation=automation).first()
                   if small_int(example_id) is not None else None)
        if example is None:
            raise NotFound("No such example in this dataset.")
        return example

    def example(self, automation: Automation, example_id: str) -> ExampleInfo:
        example = self._example_row(automation, example_id)
        files = [FileInfo(key=str(f.pk), name=f.path, role=f.folder, size=f.size, content_type=f.content_type,
                          handle=f.file) for f in example.files.all()]
        return ExampleInfo(
            id=str(example.pk), name=example.name, annotation=example.annotation,
            has_expected=example.expected is not None, n_files=len(files), source_run_id=example.source_run_id,
            created_at=example.created_at, updated_at=example.updated_at, row_order=example.row_order,
            promoted_by=example.promoted_by.get_username() if example.promoted_by else "",
            input=example.input, expected=example.expected, output=example.output, metadata=example.metadata,
            files=files, assertions=example.assertions or [],
            checks=list(example.checks.order_by("-created_at", "-id")[:20]))

    def example_runs(self, automation: Automation, example: ExampleInfo, limit: int) -> tuple[object, list]:
        # Runs name their example by id or by name (datasets/loop.py accepts both).
        runs = (Run.objects.filter(automation=automation, example_id__in=[example.id, example.name])
                .order_by("-created_at", "-id").only("id", "version", "created_at", "status", "output")[:limit])
        return example.output, [ExampleRun(r.id, r.version, r.created_at, r.status, r.output) for r in runs]

    def example_rerun(self, *, automation: Automation, example: ExampleInfo, user) -> str:
        raise ChangeRefused("Loupe records runs and does not execute them, so it cannot rerun this example. Run it "
                            "where the automation runs and record the run (ingest API or import_runs) with "
                            f"exampleId {example.id}: it joins this comparison.")

    def example_create(self, *, automation: Automation, fields: dict, user) -> str:
        fields = dict(fields)
        try:
            with transaction.atomic():
                created = example_create(automation=automation, name=fields.pop("name"), user=user, **fields)
        except ExampleError as exc:
            raise ChangeRefused(str(exc), field=exc.field) from None
        return str(created.pk)

    def example_update(self, *, automation: Automation, example: ExampleInfo, changes: dict, user) -> None:
        try:
            example_update(example=self._example_row(automation, example.id), user=user, **changes)
        except ExampleError as exc:
            raise ChangeRefused(str(exc), field=exc.field) from None

    def example_delete(self, *, automation: Automation, example: ExampleInfo, user) -> None:
        example_delete(example=self._example_row(automation, example.id), user=user)

    def example_file(self, automation: Automation, example_id: str, key: str) -> FileDownload:
        example = self._example_row(automation, example_id)
        found = ExampleFile.objects.filter(pk=key, example=example).first() if small_int(key) is not None else None
        if found is None:
            raise NotFound("No such file in this example.")
        return _download(found.file, found.path, found.content_type, found.size)

    def dataset_export(self, automation: Automation, example_ids: list[str] | None) -> FileDownload:
        data = archive.export_dataset(automation=automation, example_ids=example_ids)
        return FileDownload(chunks=iter([data]), filename=f"{automation.ref}-dataset.zip",
                            content_type="application/zip", size=len(data))

    def dataset_import(self, *, automation: Automation, upload, mode: str, user):
        try:
            return archive.import_dataset(automation=automation, fileobj=upload, mode=mode, user=user)
        except archive.ArchiveError as exc:
            raise ChangeRefused(str(exc), field=exc.field) from None
        except DiskFull:
            raise StorageFull() from None
