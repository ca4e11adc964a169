"""The local backend's ORM reads: the queue's queryset, keyset pages, chip counts from the
counters, neighbours, and the review pane's run in a fixed number of queries."""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import CharField, Count, Exists, F, JSONField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import JSONObject
from django.utils import timezone

from backends.base import QueueQuery
from datasets.models import ExampleCheck
from review.models import Claim, ExpectedFile, Review
from review.queries import day_bounds, newer_than, older_than
from runs.chips import Chip, Rating
from runs.models import DOUBLE_WANTED, ChipCount, EvaluatorScore, Run, RunFile
from runs.sql import compiled_once, db_row

DISAGREEMENTS = {"evaluator_passed_human_failed": (True, Rating.FAIL),
                 "evaluator_failed_human_passed": (False, Rating.PASS)}


def _yes_no(runs: QuerySet, answer: str | None, condition: Q) -> QuerySet:
    """A yes / no filter of the queue (expected, promoted); anything else leaves `runs` as they are."""
    if answer == "yes":
        return runs.filter(condition)
    return runs.exclude(condition) if answer == "no" else runs


def _created_between(runs: QuerySet, date_from, date_to) -> QuerySet:
    """The runs created from day `date_from` through day `date_to` in the current time zone
    (review.queries.day_bounds; either may be None)."""
    start, end = day_bounds(date_from, date_to)
    if start:
        runs = runs.filter(created_at__gte=start)
    if end:
        runs = runs.filter(created_at__lt=end)
    return runs


def _disagreeing(runs: QuerySet, disagreement: str) -> QuerySet:
    """The runs whose human verdict and an evaluator's disagree as DISAGREEMENTS[disagreement] says."""
    evaluator_passed, human = DISAGREEMENTS[disagreement]
    scores = EvaluatorScore.objects.filter(run=OuterRef("pk"), passed=evaluator_passed)
    return runs.filter(Exists(scores), review__rating=human)


def queue_queryset(query: QueueQuery) -> QuerySet:
    """Runs matching the queue's filters (no ordering, no pagination), heavy columns deferred."""
    runs = Run.objects.light().select_related("automation")
    if query.unknown_automation:
        return runs.none()
    if query.automation:
        runs = runs.filter(automation=query.automation)
    if query.sampled_only:
        runs = runs.filter(sampled=True)
    if query.chip:
        runs = runs.filter(chip=query.chip)
        if query.chip != Chip.UNREVIEWED:  # a chip filter must not tell a second reviewer the first verdict
            runs = runs.exclude(double_review=DOUBLE_WANTED)
    if query.status:
        runs = runs.filter(status=query.status)
    runs = _created_between(runs, query.date_from, query.date_to)
    runs = _yes_no(runs, query.expected, Q(review__has_expected=True))
    runs = _yes_no(runs, query.promoted, Q(review__promoted_example_name__isnull=False))
    if query.disagreement in DISAGREEMENTS:
        runs = _disagreeing(runs, query.disagreement)
    if query.run_id:
        # By prefix, any case (an index on UPPER(id) serves it on PostgreSQL: runs migration 0005).
        runs = runs.filter(pk__istartswith=query.run_id)
    return runs


# The columns a queue row shows (backends.base.RunInfo's light fields), read as plain values:
# fifty model instances and their unused datetime columns were a good part of the page's time.
ROW_FIELDS = ("id", "automation_id", "status", "created_at", "sampled", "sample_bucket", "chip", "output_preview",
              "completed_at", "duration_ms", "version", "trigger", "example_id", "claim_holder", "stratum",
              "inclusion_bp", "double_review")
# The chip a run waiting for its blind second review shows in the queue instead of its own
# (docs/rules.md#double-review): the first verdict stays hidden until the second is in.
SECOND_REVIEW_CHIP = "second_review"


def masked_chip(chip: str, double_review: str) -> str:
    return SECOND_REVIEW_CHIP if double_review == DOUBLE_WANTED and chip != Chip.UNREVIEWED else chip


def masked_chip_counts(query: QueueQuery) -> Counter:
    """{chip: runs} of the runs in the query's scope whose chip the queue masks (waiting for their
    blind second review): the chip counts move them to SECOND_REVIEW_CHIP, so a count cannot give
    a first verdict away. One query on the partial index run_double_review."""
    runs = Run.objects.filter(double_review=DOUBLE_WANTED).exclude(chip=Chip.UNREVIEWED)
    if query.automation is not None:
        runs = runs.filter(automation=query.automation)
    if query.sampled_only:
        runs = runs.filter(sampled=True)
    return Counter(dict(runs.order_by().values_list("chip").annotate(n=Count("pk"))))


def counts_masked(counts: dict[str, int], masked: Counter) -> dict[str, int]:
    """Chip counts with the masked runs moved from their chips to SECOND_REVIEW_CHIP."""
    moved = dict(counts)
    for chip, n in masked.items():
        moved[chip] = moved.get(chip, 0) - n
        moved[SECOND_REVIEW_CHIP] = moved.get(SECOND_REVIEW_CHIP, 0) + n
    return {chip: max(n, 0) for chip, n in moved.items() if n > 0}


def _claim_holder() -> RawSQL:
    """Who holds the run now (review.claims), as a scalar subquery written out: the same subquery
    built by the ORM cost the queue page a millisecond of compiling on every request."""
    q = connection.ops.quote_name
    claim, user, run = Claim._meta.db_table, User._meta.db_table, Run._meta.db_table
    return RawSQL(f"SELECT u.{q('username')} FROM {q(claim)} c INNER JOIN {q(user)} u ON u.{q('id')} = c.{q('user_id')} "
                  f"WHERE c.{q('run_id')} = {q(run)}.{q('id')} AND c.{q('expires_at')} > %s LIMIT 1",
                  [timezone.now()], output_field=CharField())


def queue_rows(query: QueueQuery) -> tuple[list[dict], bool, bool]:
    """One keyset page: (rows newest first, has older, has newer), from one extra row, never a count.
    Each row is a dict of ROW_FIELDS; `claim_holder` is who holds the run now (review.claims),
    read in the same query."""
    runs = queue_queryset(query).select_related(None).annotate(claim_holder=_claim_holder())
    if query.after and not query.before:
        rows = list(runs.filter(newer_than(*query.after)).order_by("created_at", "id")
                    .values(*ROW_FIELDS)[: query.page_size + 1])
        has_newer = len(rows) > query.page_size
        return list(reversed(rows[: query.page_size])), True, has_newer
    if query.before:
        runs = runs.filter(older_than(*query.before))
    rows = list(runs.order_by("-created_at", "-id").values(*ROW_FIELDS)[: query.page_size + 1])
    return rows[: query.page_size], len(rows) > query.page_size, query.before is not None


def queue_chip_counts(query: QueueQuery) -> dict[str, int]:
    """From the ChipCount counters: never counts the run table."""
    rows = ChipCount.objects.all()
    if query.automation:
        rows = rows.filter(automation=query.automation)
    elif query.unknown_automation:
        rows = rows.none()
    if query.sampled_only:
        rows = rows.filter(sampled=True)
    return {r["chip"]: max(r["n"] or 0, 0) for r in rows.values("chip").annotate(n=Sum("count"))}


def queue_neighbour(query: QueueQuery, created_at: datetime, run_id: str, direction: str) -> str | None:
    """The id of the run just newer ("previous") or just older ("next") in the queue: one query."""
    runs = queue_queryset(query).select_related(None)
    if direction == "previous":
        runs = runs.filter(newer_than(created_at, run_id)).order_by("created_at", "id")
    else:
        runs = runs.filter(older_than(created_at, run_id)).order_by("-created_at", "-id")
    return runs.values_list("id", flat=True).first()


# The latest check of the run's promoted example, read in the pane's own query as one JSON
# object (one indexed lookup, datasets.ExampleCheck's example_check_latest index) instead of a
# query of its own.
_LATEST_CHECK = (ExampleCheck.objects.filter(example_id=OuterRef("review__promoted_example_id"))
                 .order_by("-created_at", "-id")
                 .values(row=JSONObject(id="id", run_id="run_id", verdict="verdict", details="details",
                                        created_at="created_at"))[:1])


@dataclass
class PaneRow:
    """What the review pane shows of a run, read by run_for_pane."""

    run: Run  # with its automation and review (None: not reviewed)
    review: Review | None
    files: list[RunFile]
    expected_files: list[ExpectedFile]
    updated_by: str  # who last changed the review ("" when nobody or no review)
    check: ExampleCheck | None  # the promoted example's latest check


def run_for_pane(run_id: str) -> PaneRow:
    """The run with everything the review pane shows, in two queries: the run with its automation,
    review, the name of who last changed it and its promoted example's latest check (None
    without one; the example itself is not read: its documents are large and the pane shows
    only its name); its files and its review's expected files (run_files_both)."""
    run = (
        Run.objects.select_related("automation", "review")
        .annotate(pane_check_row=Subquery(_LATEST_CHECK, output_field=JSONField()),
                  pane_updated_by=F("review__updated_by__username"))
        .get(pk=run_id)
    )
    try:
        review = run.review
    except Review.DoesNotExist:
        review = None
    files, expected_files = run_files_both(run_id)
    row = db_row(run.pane_check_row, datetimes=("created_at",), json_columns=("details",))
    check = None if not row else ExampleCheck(
        id=row["id"], example_id=review.promoted_example_id, run_id=row["run_id"], verdict=row["verdict"],
        details=row["details"] or {}, created_at=row["created_at"])
    return PaneRow(run=run, review=review, files=files, expected_files=expected_files,
                   updated_by=run.pane_updated_by or "", check=check)


_FILE_COLUMNS = ("expected", "id", "role", "name", "file", "content_type", "size")


def run_files_both(run_id: str) -> tuple[list[RunFile], list[ExpectedFile]]:
    """A run's files and its review's expected files in one query (UNION ALL), as unsaved rows
    carrying what the pane shows (name, role, size, type, the stored file), each in its model's
    order."""
    def build(marker):
        files = (RunFile.objects.filter(run_id=marker).order_by().annotate(expected=Value(False))
                 .values_list(*_FILE_COLUMNS))
        expected = (ExpectedFile.objects.filter(review__run_id=marker).order_by()
                    .annotate(expected=Value(True), role=Value("expected", output_field=CharField()))
                    .values_list(*_FILE_COLUMNS))
        return files.union(expected, all=True)

    with connection.cursor() as cursor:
        cursor.execute(*compiled_once("pane files", build, run_id))
        rows = cursor.fetchall()
    run_files, expected_files = [], []
    for is_expected, pk, role, name, stored, content_type, size in rows:
        if is_expected:
            expected_files.append(ExpectedFile(pk=pk, name=name, file=stored, content_type=content_type, size=size))
        else:
            run_files.append(RunFile(pk=pk, run_id=run_id, role=role, name=name, file=stored,
                                     content_type=content_type, size=size))
    run_files.sort(key=lambda f: (f.role, f.name))
    expected_files.sort(key=lambda f: f.name)
    return run_files, expected_files

