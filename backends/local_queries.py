"""The local backend's ORM reads: the queue's queryset, keyset pages, chip counts from the
counters, neighbours, and the review pane's run in a fixed number of queries."""

import json
from datetime import UTC, datetime

from django.db.models import Exists, JSONField, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import JSONObject
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from backends.base import QueueQuery
from datasets.models import ExampleCheck
from review.models import Claim
from review.queries import day_bounds, newer_than, older_than
from runs.chips import Rating
from runs.models import ChipCount, EvaluatorScore, Run

DISAGREEMENTS = {"evaluator_passed_human_failed": (True, Rating.FAIL),
                 "evaluator_failed_human_passed": (False, Rating.PASS)}


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
    if query.status:
        runs = runs.filter(status=query.status)
    start, end = day_bounds(query.date_from, query.date_to)
    if start:
        runs = runs.filter(created_at__gte=start)
    if end:
        runs = runs.filter(created_at__lt=end)
    if query.expected == "yes":
        runs = runs.filter(review__has_expected=True)
    elif query.expected == "no":
        runs = runs.exclude(review__has_expected=True)
    if query.promoted == "yes":
        runs = runs.filter(review__promoted_example_name__isnull=False)
    elif query.promoted == "no":
        runs = runs.exclude(review__promoted_example_name__isnull=False)
    if query.disagreement in DISAGREEMENTS:
        evaluator_passed, human = DISAGREEMENTS[query.disagreement]
        scores = EvaluatorScore.objects.filter(run=OuterRef("pk"), passed=evaluator_passed)
        runs = runs.filter(Exists(scores), review__rating=human)
    if query.run_id:
        # By prefix, any case (an index on UPPER(id) serves it on PostgreSQL: runs migration 0005).
        runs = runs.filter(pk__istartswith=query.run_id)
    return runs


# The columns a queue row shows (backends.base.RunInfo's light fields), read as plain values:
# fifty model instances and their unused datetime columns were a good part of the page's time.
ROW_FIELDS = ("id", "automation_id", "status", "created_at", "sampled", "sample_bucket", "chip", "output_preview",
              "completed_at", "duration_ms", "version", "trigger", "example_id", "claim_holder")


def queue_rows(query: QueueQuery) -> tuple[list[dict], bool, bool]:
    """One keyset page: (rows newest first, has older, has newer), from one extra row, never a count.
    Each row is a dict of ROW_FIELDS; `claim_holder` is who holds the run now (review.claims),
    read in the same query."""
    holder = Claim.objects.filter(run_id=OuterRef("pk"), expires_at__gt=timezone.now()).values("user__username")[:1]
    runs = queue_queryset(query).select_related(None).annotate(claim_holder=Subquery(holder))
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


def queue_neighbours(query: QueueQuery, created_at: datetime, run_id: str) -> tuple[str | None, str | None]:
    """queue_neighbour in both directions in one statement: two scalar subqueries (each one
    keyset step down an index) selected next to the run's own primary-key row."""
    runs = queue_queryset(query).select_related(None).order_by()
    newer = runs.filter(newer_than(created_at, run_id)).order_by("created_at", "id").values("id")[:1]
    older = runs.filter(older_than(created_at, run_id)).order_by("-created_at", "-id").values("id")[:1]
    row = (Run.objects.filter(pk=run_id).order_by()
           .annotate(previous_id=Subquery(newer), next_id=Subquery(older))
           .values_list("previous_id", "next_id").first())
    if row is None:  # the run is gone: ask each way on its own
        return (queue_neighbour(query, created_at, run_id, "previous"),
                queue_neighbour(query, created_at, run_id, "next"))
    return row


# The latest check of the run's promoted example, read in the pane's own query as one JSON
# object (one indexed lookup, datasets.ExampleCheck's example_check_latest index) instead of a
# query of its own.
_LATEST_CHECK = (ExampleCheck.objects.filter(example_id=OuterRef("review__promoted_example_id"))
                 .order_by("-created_at", "-id")
                 .values(row=JSONObject(id="id", run_id="run_id", verdict="verdict", details="details",
                                        created_at="created_at"))[:1])


def run_for_pane(run_id: str) -> Run:
    """The run with everything the review pane shows, in a fixed number of queries: the run with
    its automation, review, updated_by, promoted example and that example's latest check (as
    `pane_check`, None without one) in one; its files and expected files in one each."""
    run = (
        Run.objects.select_related("automation", "review", "review__updated_by", "review__promoted_example")
        .annotate(pane_check_row=Subquery(_LATEST_CHECK, output_field=JSONField()))
        .prefetch_related("files", "review__expected_files")
        .get(pk=run_id)
    )
    row = run.pane_check_row
    run.pane_check = None
    if row:
        details = row["details"]
        if isinstance(details, str):  # SQLite's json_object() keeps a JSON column as its text
            details = json.loads(details)
        run.pane_check = ExampleCheck(
            id=row["id"], example_id=run.review.promoted_example_id, run_id=row["run_id"], verdict=row["verdict"],
            details=details or {}, created_at=_moment(row["created_at"]))
    return run


def _moment(value: str) -> datetime:
    """A date-time as JSON renders it (PostgreSQL: ISO 8601 with offset; SQLite: UTC text)."""
    moment = parse_datetime(value.replace(" ", "T", 1))
    return timezone.make_aware(moment, UTC) if timezone.is_naive(moment) else moment
