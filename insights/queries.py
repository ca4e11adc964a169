"""Reads behind the backlog page. Each function is one SQL statement, whatever the number
of automations, runs or days: grouped aggregates and correlated subqueries that the run
and review indexes answer."""

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Case, DateTimeField, IntegerField, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from review.models import Correction, Review, ReviewerDayCount, ReviewTally
from runs.chips import Chip, ReviewStatus
from runs.models import Automation, ChipCount, Run, RunDayCount
from runs.sql import raw_once, values_over

WINDOW_DAYS = 30
THROUGHPUT_DAYS = 10
TOP_FIELDS = 10


@dataclass
class AutomationBacklog:
    automation: Automation
    counts: dict[str, int]  # chip -> runs; unreviewed counts sampled runs only
    open_sampled: int
    oldest_open_at: datetime | None
    oldest_unreviewed_at: datetime | None

    @property
    def backlog(self) -> int:
        """Sampled runs waiting for a reviewer, plus misses waiting for a fix."""
        return self.counts[Chip.UNREVIEWED] + self.counts[Chip.OPEN]

    @property
    def backlog_sampled(self) -> int:
        return self.counts[Chip.UNREVIEWED] + self.open_sampled


def _chip_sum(chip: str, *, sampled_only: bool = False):
    rows = ChipCount.objects.filter(automation=OuterRef("pk"), chip=chip)
    if sampled_only:
        rows = rows.filter(sampled=True)
    total = rows.order_by().values("automation").annotate(total=Sum("count")).values("total")[:1]
    return Coalesce(Subquery(total, output_field=IntegerField()), Value(0))


def _backlog_summary_queryset():
    oldest_open = (Review.objects.filter(run__automation=OuterRef("pk"), status=ReviewStatus.OPEN)
                   .order_by("created_at").values("created_at")[:1])
    # Answered by the run_queue_chip index (automation, sampled, chip, -created_at).
    oldest_unreviewed = (Run.objects.filter(automation=OuterRef("pk"), sampled=True, chip=Chip.UNREVIEWED)
                         .order_by("created_at").values("created_at")[:1])
    annotations = {f"n_{chip}": _chip_sum(chip, sampled_only=chip == Chip.UNREVIEWED) for chip in Chip.values}
    # The oldest open review walks the open reviews of every automation by age (review_open_created)
    # until it meets one of this automation's: asked only of an automation whose chip counts say
    # it has one, as for one without (a new automation) the walk read every open review: 47 ms
    # an automation at 6,000 open reviews, and the backlog page 14x the bare page.
    has_open = Q(**{f"n_{Chip.OPEN}__gt": 0})
    return Automation.objects.annotate(**annotations, open_sampled=_chip_sum(Chip.OPEN, sampled_only=True)).annotate(
        oldest_open_at=Case(When(has_open, then=Subquery(oldest_open)), default=None, output_field=DateTimeField()),
        oldest_unreviewed_at=Subquery(oldest_unreviewed),
    )


def backlog_summary() -> list[AutomationBacklog]:
    """Every automation with its chip counts and oldest waiting items (one query, its SQL
    compiled once: runs.sql.raw_once)."""
    automations = raw_once("backlog summary", _backlog_summary_queryset,
                           datetimes=("oldest_open_at", "oldest_unreviewed_at"))
    return [
        AutomationBacklog(
            automation=a, counts={chip: getattr(a, f"n_{chip}") for chip in Chip.values},
            open_sampled=a.open_sampled, oldest_open_at=a.oldest_open_at, oldest_unreviewed_at=a.oldest_unreviewed_at,
        )
        for a in automations
    ]



def window_days(today: date, days: int = WINDOW_DAYS) -> list[date]:
    return [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def window_bounds(today: date, days: int = WINDOW_DAYS) -> tuple[datetime, datetime]:
    """[start, end) of the last `days` local days, today included: whole days, like every chart
    of these pages, so the estimates read the daily rollups without partial days at the edges."""
    first = today - timedelta(days=days - 1)
    return (timezone.make_aware(datetime.combine(first, datetime.min.time())),
            timezone.make_aware(datetime.combine(today + timedelta(days=1), datetime.min.time())))


def _window_start(days: list[date]) -> datetime:
    return timezone.make_aware(datetime.combine(days[0], datetime.min.time()))


def open_backlog_per_day(*, automation_ids: list[int], current: int, days: list[date]) -> list[int]:
    """The sampled backlog at the end of each day, walked back from today's `current` value:
    yesterday = today - sampled runs created today + reviews resolved (or ignored) today.
    Two grouped queries over the daily rollups (RunDayCount: 30 rows, not a month of runs;
    ReviewTally's resolved reviews), each compiled once (runs.sql.values_over). Reopened
    reviews count as open since their run was created; approximate by design."""
    first = timezone.localdate(_window_start(days))
    arrivals = dict(values_over("backlog arrivals", lambda first, *ids: (
        RunDayCount.objects.filter(automation_id__in=ids, sampled=True, day__gte=first)
        .order_by().values_list("day").annotate(n=Sum("count"))), automation_ids, first))
    departures = dict(values_over("backlog departures", lambda first, *ids: (
        ReviewTally.objects.filter(automation_id__in=ids, sampled=True, kind=ReviewTally.Kind.RESOLVED, day__gte=first)
        .order_by().values_list("day").annotate(n=Sum("count"))), automation_ids, first))
    values, level = [], current
    for day in reversed(days):
        values.append(max(0, level))
        level = level - arrivals.get(day, 0) + departures.get(day, 0)
    return list(reversed(values))


def pass_counts_per_day(*, automation_ids: list[int], days: list[date]) -> dict[date, tuple[int, int]]:
    """(passed, rated) of the sampled runs created each day that have a verdict, from the
    ReviewTally rollup (rated and passed reviews by their run's day)."""
    rows = values_over("pass counts per day", lambda first, *ids: (
        ReviewTally.objects.filter(automation_id__in=ids, sampled=True,
                                   kind__in=[ReviewTally.Kind.RATED, ReviewTally.Kind.PASSED], day__gte=first)
        .order_by().values_list("day")
        .annotate(n=Sum("count", filter=Q(kind=ReviewTally.Kind.RATED)),
                  passed=Sum("count", filter=Q(kind=ReviewTally.Kind.PASSED)))), automation_ids, days[0])
    return {day: (passed or 0, n or 0) for day, n, passed in rows if n}


@dataclass
class ReviewerRow:
    name: str
    per_day: list[int]
    total: int = 0


@dataclass
class Throughput:
    days: list[date]
    rows: list[ReviewerRow] = field(default_factory=list)

    @property
    def day_totals(self) -> list[int]:
        return [sum(row.per_day[i] for row in self.rows) for i in range(len(self.days))]


def reviewer_throughput(*, automation_ids: list[int], days: list[date]) -> Throughput:
    """Runs given a verdict per reviewer per day (a run judged twice the same day counts once),
    from the ReviewerDayCount rollup."""
    rows = values_over("reviewer throughput", lambda first, *ids: (
        ReviewerDayCount.objects.filter(automation_id__in=ids, day__gte=first, count__gt=0)
        .order_by().values_list("user__username", "day").annotate(n=Sum("count"))),
        automation_ids, days[0])
    index = {day: i for i, day in enumerate(days)}
    by_user: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
    for name, day, n in rows:
        if day in index:
            by_user[name][index[day]] += n
    result = Throughput(days=days)
    for name, per_day in by_user.items():
        result.rows.append(ReviewerRow(name=name, per_day=per_day, total=sum(per_day)))
    result.rows.sort(key=lambda row: (-row.total, row.name))
    return result


def most_corrected_fields(path_lists: Iterable[list[str]], limit: int = TOP_FIELDS) -> tuple[list, int]:
    """Count each generalised path once per review; returns the top `limit` paths (most
    first, then alphabetical) and the number of reviews that corrected anything."""
    counter, corrected = Counter(), 0
    for paths in path_lists:
        unique = {p for p in paths or [] if isinstance(p, str)}
        if unique:
            corrected += 1
            counter.update(unique)
    top = sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return top, corrected


def corrected_paths_recent(*, automation_ids: list[int], days: list[date]) -> Iterable[list[str]]:
    """The generalised paths of the field corrections of each review changed in the window
    (review.models.Correction, kept in step whatever wrote the correction: the page editor,
    either API generation). One query; rows are bounded by the corrections made in the window."""
    rows = (Correction.objects.filter(kind=Correction.Kind.FIELD, review__run__automation_id__in=automation_ids,
                                      review__updated_at__gte=_window_start(days))
            .order_by("review_id").values_list("review_id", "pattern"))
    by_review: dict[int, list[str]] = defaultdict(list)
    for review_id, pattern in rows:
        by_review[review_id].append(pattern)
    return list(by_review.values())


def corrected_fields(*, automation_ids: list[int], days: list[date], limit: int = TOP_FIELDS) -> tuple[list, int]:
    """most_corrected_fields over the reviews corrected in the window, from the ReviewTally
    rollup (one grouped query over a few hundred rows): the top `limit` paths and the number of
    reviews that corrected anything."""
    rows = values_over("corrected fields", lambda first, *ids: (
        ReviewTally.objects.filter(automation_id__in=ids, day__gte=first,
                                   kind__in=[ReviewTally.Kind.CORRECTED, ReviewTally.Kind.PATH])
        .order_by().values_list("kind", "path").annotate(n=Sum("count"))), automation_ids, days[0])
    corrected, paths = 0, []
    for kind, path, n in rows:
        if kind == ReviewTally.Kind.CORRECTED:
            corrected += n
        elif n:
            paths.append((path, n))
    return sorted(paths, key=lambda item: (-item[1], item[0]))[:limit], corrected
