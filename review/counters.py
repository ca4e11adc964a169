"""The review rollups: ReviewDayCount (verdict buckets by run day, for the review health
endpoint), ReviewTally (rated, passed, resolved and corrected reviews per day, for the backlog
and sampling pages) and ReviewerDayCount (runs judged per reviewer and day). Upkeep inside the
review services' transactions, moves for re-recorded and pruned runs, and rebuilds for repairs
(`manage.py recount`, `manage.py recount_reviews`)."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.db import transaction
from django.db.models import Case, CharField, Count, Q, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from review.calibration import calibration_marks, changed_fields
from review.models import AuditEvent, Review, ReviewDayCount, ReviewerDayCount, ReviewTally
from runs.chips import VERDICT_OUT, Rating, estimate_verdict
from runs.counters import counts_upsert, run_hour, run_rollup_register, version_counts_add, version_counts_rebuild
from runs.models import Automation, Run, VersionHourCount
from runs.sql import created_within, in_values

CORRECT, INCORRECT, NIT = "correct", "incorrect", "nit"


def verdict_bucket(rating: str | None) -> str:
    """The health endpoint's word for a review with this rating (docs/api-reviews.md mapping)."""
    return VERDICT_OUT.get(rating, NIT)


def review_day_count_move(*, run: Run, old: str | None, new: str | None) -> None:
    """Move one review of `run` from verdict bucket `old` to `new` (None: no review), in one
    statement. Called inside the writing transaction, with the run row locked."""
    if old == new:
        return
    day = timezone.localdate(run.created_at)
    moves: Counter = Counter()
    if old is not None:
        moves[(run.automation_id, day, run.sampled, old)] -= 1
    if new is not None:
        moves[(run.automation_id, day, run.sampled, new)] += 1
    counts_upsert(ReviewDayCount, ("automation", "day", "sampled", "verdict"), moves)


BUCKET_EXPRESSION = Case(
    When(rating=Rating.PASS, then=Value(CORRECT)),
    When(rating__in=(Rating.FAIL, Rating.PARTIAL), then=Value(INCORRECT)),
    default=Value(NIT), output_field=CharField(),
)


def review_day_counts_recount(*, automation: Automation) -> None:
    """Rebuild one automation's review rollup from its reviews (repairs, the migration)."""
    rows = (Review.objects.filter(run__automation=automation)
            .annotate(day=TruncDate("run__created_at"), verdict=BUCKET_EXPRESSION)
            .order_by().values("day", "run__sampled", "verdict").annotate(n=Count("pk")))
    with transaction.atomic():
        ReviewDayCount.objects.filter(automation=automation).delete()
        ReviewDayCount.objects.bulk_create([
            ReviewDayCount(automation=automation, day=r["day"], sampled=r["run__sampled"], verdict=r["verdict"],
                           count=r["n"]) for r in rows])


def verdict_counts_states(run_ids, created: tuple | None = None) -> Counter:
    """{(automation_id, run day, sampled, verdict bucket): reviews} of these runs' reviews, by
    their runs' current automation, day and sampling (one query): what ReviewDayCount holds
    for them, so recording or pruning runs can move it. `created`: the runs' creation span
    when known (runs.sql.created_within)."""
    rows = Review.objects.filter(in_values("run_id", run_ids), created_within(created)).values_list(
        "run__automation_id", "run__created_at", "run__sampled", "rating")
    return Counter((a, timezone.localdate(c), s, verdict_bucket(r)) for a, c, s, r in rows)


def verdict_counts_move(before: Counter, after: Counter) -> None:
    moves = Counter(after)
    moves.subtract(before)
    counts_upsert(ReviewDayCount, ("automation", "day", "sampled", "verdict"), moves)


def _tally_states(run_ids) -> Counter:
    return marks_total(review_counts_states(run_ids).values())


def run_rollups_register() -> None:
    """Hand the rollups keyed by a run's sampled flag to runs.counters, which moves them when a
    runs service re-samples runs (review.apps registers this at start-up)."""
    run_rollup_register(verdict_counts_states, verdict_counts_move)
    run_rollup_register(_tally_states, review_counts_move)


Kind = ReviewTally.Kind
TASK_KINDS = (Kind.TASK_REVIEWED, Kind.TASK_CHANGED)
PATH_LENGTH = ReviewTally._meta.get_field("path").max_length
_STATE = ("run_id", "run__automation_id", "run__created_at", "run__sampled", "rating", "status", "resolved_at",
          "updated_at", "has_expected", "corrected_paths", "run__stratum", "run__inclusion_bp", "run__field_confidence",
          "run__version")
# Marks of the per-version rollup (runs.models.VersionHourCount) start with this tag; the rest
# are ReviewTally keys. review_counts_move sends each to its table.
VERSION_MARK = "version"


def review_marks(*, automation_id: int, created_at, sampled: bool, rating: str | None, status: str | None,
                 resolved_at, updated_at, has_expected: bool, corrected_paths, stratum: str = "",
                 inclusion_bp: int = 0, confidence: dict | None = None, changed=frozenset(),
                 version: str | None = None) -> Counter:
    """The rollup keys one review counts under, each +1. RATED and PASSED are what the estimate
    counts as reviewed and passed (runs.chips.estimate_verdict: a review closed without a rating
    is a reviewed miss, as its chip says); CELL_RATED and CELL_PASSED the same for a sampled run a
    stratum took, keyed `<inclusion_bp>|<stratum>` (the estimate's cells, insights.stats);
    CAL_REVIEWED and CAL_CHANGED the fields it carries a confidence for (review.calibration); a
    sampled run's verdict also counts in the per-version rollup (VERSION_MARK)."""
    marks: Counter = Counter()
    day = timezone.localdate(created_at)
    verdict = estimate_verdict(rating, status)
    if verdict is not None:
        marks[(automation_id, day, sampled, Kind.RATED, "")] += 1
        if verdict:
            marks[(automation_id, day, sampled, Kind.PASSED, "")] += 1
        if stratum and sampled:
            cell = f"{inclusion_bp}|{stratum}"
            marks[(automation_id, day, sampled, Kind.CELL_RATED, cell)] += 1
            if verdict:
                marks[(automation_id, day, sampled, Kind.CELL_PASSED, cell)] += 1
        if sampled:
            version_cell = (VERSION_MARK, automation_id, run_hour(created_at), version or "", stratum, inclusion_bp)
            marks[(*version_cell, VersionHourCount.Kind.RATED)] += 1
            if verdict:
                marks[(*version_cell, VersionHourCount.Kind.PASSED)] += 1
    if confidence and (verdict is not None or has_expected):
        calibration_marks(marks, (automation_id, day, sampled), confidence, changed,
                          reviewed=Kind.CAL_REVIEWED, corrected=Kind.CAL_CHANGED, limit=PATH_LENGTH)
    if resolved_at is not None:
        marks[(automation_id, timezone.localdate(resolved_at), sampled, Kind.RESOLVED, "")] += 1
    paths = {p[:PATH_LENGTH] for p in corrected_paths or [] if isinstance(p, str)} if has_expected else set()
    if paths:
        changed = timezone.localdate(updated_at)
        marks[(automation_id, changed, sampled, Kind.CORRECTED, "")] += 1
        for path in paths:
            marks[(automation_id, changed, sampled, Kind.PATH, path)] += 1
    return marks


def marks_of(run, review) -> Counter:
    """The marks of a review of `run` (a whole Run row: its output is read for the calibration)."""
    if review is None:
        return Counter()
    confidence = run.field_confidence
    changed = changed_fields(confidence, run.output, review.expected) if confidence and review.has_expected else ()
    return review_marks(automation_id=run.automation_id, created_at=run.created_at, sampled=run.sampled,
                        rating=review.rating, status=review.status, resolved_at=review.resolved_at, updated_at=review.updated_at,
                        has_expected=review.has_expected, corrected_paths=review.corrected_paths, stratum=run.stratum,
                        inclusion_bp=run.inclusion_bp, confidence=confidence, changed=changed, version=run.version)


def _marks_of_row(row, changed=frozenset()) -> Counter:
    (_, automation_id, created_at, sampled, rating, status, resolved_at, updated_at, has_expected, paths, stratum,
     rate, confidence, version) = row
    return review_marks(automation_id=automation_id, created_at=created_at, sampled=sampled, rating=rating, status=status,
                        resolved_at=resolved_at, updated_at=updated_at, has_expected=has_expected,
                        corrected_paths=paths, stratum=stratum, inclusion_bp=rate, confidence=confidence,
                        changed=changed, version=version)


def _rows_marks(rows: list) -> dict[str, Counter]:
    """{run_id: marks} of review state rows (_STATE); the fields changed by the corrected outputs
    of the runs that carry a confidence read in one more query, only when there are such runs."""
    wanted = [row[0] for row in rows if row[12] and row[8]]
    changed = {}
    if wanted:
        for run_id, confidence, output, expected in (Review.objects.filter(in_values("run_id", wanted)).values_list(
                "run_id", "run__field_confidence", "run__output", "expected")):
            changed[run_id] = changed_fields(confidence, output, expected)
    return {row[0]: _marks_of_row(row, changed.get(row[0], frozenset())) for row in rows}


def _split_marks(marks: Counter) -> tuple[Counter, Counter]:
    """(ReviewTally moves, per-version rollup moves) of a Counter of marks."""
    tally, versions = Counter(), Counter()
    for key, n in marks.items():
        if key[0] == VERSION_MARK:
            versions[key[1:]] += n
        else:
            tally[key] += n
    return tally, versions


def review_counts_move(before: Counter, after: Counter) -> None:
    """Apply after - before (negative counts kept): one statement per rollup that changes."""
    moves = Counter(after)
    moves.subtract(before)
    tally, versions = _split_marks(moves)
    counts_upsert(ReviewTally, ("automation", "day", "sampled", "kind", "path"), tally)
    version_counts_add(versions)


def marks_total(counters) -> Counter:
    """The sum of many runs' marks, added in place: `sum(counters, Counter())` builds a new
    Counter at every step, which made `recount` of a million reviews take minutes."""
    total: Counter = Counter()
    for marks in counters:
        total.update(marks)
    return total


def review_counts_states(run_ids, created: tuple | None = None) -> dict[str, Counter]:
    """The marks of the reviews of these runs, from the database (one query)."""
    return _rows_marks(list(Review.objects.filter(in_values("run_id", run_ids), created_within(created))
                            .values_list(*_STATE)))


def review_counts_recount(*, automation) -> None:
    """Rebuild the review rollup of one automation from its reviews (commands, repairs), by the
    same rule the services apply as deltas."""
    total: Counter = Counter()
    chunk: list = []
    for row in Review.objects.filter(run__automation=automation).order_by().values_list(*_STATE).iterator(2000):
        chunk.append(row)
        if len(chunk) == 2000:
            total.update(marks_total(_rows_marks(chunk).values()))
            chunk = []
    total.update(marks_total(_rows_marks(chunk).values()))
    tally, versions = _split_marks(total)
    with transaction.atomic():
        # The marks of human review tasks are rebuilt by humanreview.calibration (`recount`).
        ReviewTally.objects.filter(automation=automation).exclude(kind__in=TASK_KINDS).delete()
        ReviewTally.objects.bulk_create(
            [ReviewTally(automation_id=a, day=day, sampled=sampled, kind=kind, path=path, count=n)
             for (a, day, sampled, kind, path), n in tally.items() if n], batch_size=2000)
        version_counts_rebuild(automation=automation, kinds=(VersionHourCount.Kind.RATED, VersionHourCount.Kind.PASSED),
                               rows=[{"hour": hour, "version": version, "stratum": stratum, "inclusion_bp": rate,
                                      "kind": kind, "n": n}
                                     for (_, hour, version, stratum, rate, kind), n in versions.items()])


# --- reviewer throughput (ReviewerDayCount) -------------------------------------------------

VERDICT_PREFIX = "verdict:"
# The review pane's one-form save records `save:<verdict>` when it carries a verdict
# (web/run_pane.py, review.services.review_save): a verdict too, for the throughput rollup.
SAVE_VERDICT_ACTIONS = ("save:pass", "save:fail", "save:partial")


def is_verdict_action(action: str) -> bool:
    return action.startswith(VERDICT_PREFIX) or action in SAVE_VERDICT_ACTIONS


def _verdict_events() -> Q:
    return Q(action__startswith=VERDICT_PREFIX) | Q(action__in=SAVE_VERDICT_ACTIONS)


def _day_bounds(day):
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def reviewer_count_verdict(*, run, user, now=None) -> None:
    """Call before recording a verdict event: counts the run for the reviewer today unless they
    already gave it a verdict today. One statement: an upsert of +1 whose SELECT yields no row
    when an earlier verdict event of theirs on this run today exists (an indexed lookup)."""
    if not getattr(user, "pk", None):
        return
    day = timezone.localdate(now or timezone.now())
    start, end = _day_bounds(day)
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    table, events = quote(ReviewerDayCount._meta.db_table), quote(AuditEvent._meta.db_table)
    keys = [quote(ReviewerDayCount._meta.get_field(name).column) for name in ("automation", "user", "day")]
    count = quote("count")
    # SQLite reads `INSERT ... SELECT ... ON CONFLICT` only when the SELECT has a WHERE clause.
    sql = (f"INSERT INTO {table} ({', '.join(keys)}, {count}) SELECT %s, %s, %s, 1 WHERE NOT EXISTS ("
           f"SELECT 1 FROM {events} WHERE {quote('run_id')} = %s AND {quote('user_id')} = %s "
           f"AND {quote('created_at')} >= %s AND {quote('created_at')} < %s "
           f"AND ({quote('action')} LIKE %s OR {quote('action')} IN ({', '.join(['%s'] * len(SAVE_VERDICT_ACTIONS))}))) "
           f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {count} = {table}.{count} + EXCLUDED.{count}")
    ops = connection.ops
    params = [run.automation_id, user.pk, ops.adapt_datefield_value(day), run.pk, user.pk,
              ops.adapt_datetimefield_value(start), ops.adapt_datetimefield_value(end), VERDICT_PREFIX + "%",
              *SAVE_VERDICT_ACTIONS]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def reviewer_counts_states(run_ids, created: tuple | None = None) -> Counter:
    """{(automation_id, user_id, day): runs} for these runs' verdict events, by their runs'
    current automation (one query)."""
    rows = (AuditEvent.objects.filter(in_values("run_id", run_ids), _verdict_events(), created_within(created),
                                      user__isnull=False)
            .annotate(day=TruncDate("created_at")).order_by()
            .values_list("run_id", "run__automation_id", "user_id", "day").distinct())
    return Counter((automation_id, user_id, day) for _, automation_id, user_id, day in rows)


def reviewer_counts_move(before: Counter, after: Counter) -> None:
    moves = Counter(after)
    moves.subtract(before)
    counts_upsert(ReviewerDayCount, ("automation", "user", "day"), moves)


def reviewer_counts_recount(*, automation) -> None:
    rows = (AuditEvent.objects.filter(_verdict_events(), run__automation=automation, user__isnull=False)
            .annotate(day=TruncDate("created_at")).order_by().values("user_id", "day")
            .annotate(n=Count("run_id", distinct=True)))
    with transaction.atomic():
        ReviewerDayCount.objects.filter(automation=automation).delete()
        ReviewerDayCount.objects.bulk_create(
            [ReviewerDayCount(automation=automation, user_id=r["user_id"], day=r["day"], count=r["n"]) for r in rows],
            batch_size=2000)


@dataclass
class RunReviewStates:
    """What the reviews and verdict events of some runs hold in the review rollups, read before
    the runs are re-recorded (datasets.loop) or deleted (datasets.retention): the marks by run
    (review_counts_states), their ReviewDayCount keys and their ReviewerDayCount keys."""

    reviews: dict = field(default_factory=dict)
    verdicts: Counter = field(default_factory=Counter)
    judged: Counter = field(default_factory=Counter)


def run_review_states(run_ids, created: tuple | None = None) -> RunReviewStates:
    """One query each for the reviews and the verdict events of these runs, a third for the
    verdict buckets only when some have reviews; none for no runs. `created`: the runs'
    creation span when known (retention's month: runs.sql.created_within)."""
    if not run_ids:
        return RunReviewStates()
    reviews = review_counts_states(run_ids, created)
    # The runs with reviews, or the subquery itself (a month: its 240,000 ids would go as one array).
    reviewed = reviews if isinstance(run_ids, (list, tuple, set, dict)) else run_ids
    return RunReviewStates(reviews=reviews, verdicts=verdict_counts_states(reviewed, created) if reviews else Counter(),
                           judged=reviewer_counts_states(run_ids, created))


def run_review_states_move(before: RunReviewStates, run_ids=None) -> None:
    """Move the review rollups from `before` to what the reviews and verdict events of `run_ids`
    hold now (read again here, only for the rollups `before` counts in); None: the runs are
    gone and every count of `before` is taken off."""
    gone = run_ids is None
    if before.reviews:
        now = {} if gone else review_counts_states(before.reviews)
        review_counts_move(marks_total(before.reviews.values()), marks_total(now.values()))
        verdict_counts_move(before.verdicts, Counter() if gone else verdict_counts_states(before.reviews))
    if before.judged:
        reviewer_counts_move(before.judged, Counter() if gone else reviewer_counts_states(run_ids))
