"""The derived counters and rollups of runs: chip counts per (automation, sampled, chip) and
daily run counts per (automation, day, sampled). Kept in step by the services that write runs
and reviews (same transaction); rebuilt from the runs by `recount`. Imports only models."""

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import Count
from django.db.models.functions import TruncDate, TruncHour
from django.utils import timezone

from runs.models import Automation, ChipCount, Run, RunDayCount, StratumDayCount, VersionHourCount


def counts_upsert(model, key_fields: tuple[str, ...], moves: Counter) -> None:
    """Add {key tuple: delta} to `model.count` in one INSERT ... ON CONFLICT DO UPDATE statement
    (PostgreSQL and SQLite alike): rows that exist get count + delta, missing ones start at delta."""
    rows = [(*key, delta) for key, delta in moves.items() if delta]
    if not rows:
        return
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    fields = [model._meta.get_field(name) for name in key_fields]
    columns = [field.column for field in fields] + ["count"]
    rows = _db_rows(fields, rows, connection)
    sql = _upsert_sql(table, [quote(c) for c in columns], len(rows), quote("count"))
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in sorted(rows, key=repr) for value in row])


def _db_rows(fields: list, rows: list[tuple], connection) -> list[tuple]:
    """Each row's key as its field stores it (an aware datetime is written as UTC text on
    SQLite), then its delta."""
    return [(*(f.get_db_prep_value(v, connection) for f, v in zip(fields, row, strict=False)), row[-1])
            for row in rows]


def _upsert_sql(table: str, columns: list[str], n_rows: int, count: str) -> str:
    """INSERT of `n_rows` rows of quoted `columns` (the key, then `count`) that adds to `count`
    on a conflict over the key."""
    placeholders = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * n_rows)
    return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES {placeholders} "
            f"ON CONFLICT ({', '.join(columns[:-1])}) "
            f"DO UPDATE SET {count} = {table}.{count} + EXCLUDED.{count}")


def day_counts_add(moves: Counter) -> None:
    """Apply {(automation_id, day, sampled): delta} to the daily run counts, in one statement."""
    counts_upsert(RunDayCount, ("automation", "day", "sampled"), moves)


def chip_counts_add(moves: Counter) -> None:
    """Apply {(automation_id, sampled, chip): delta} to the chip counts, in one statement."""
    counts_upsert(ChipCount, ("automation", "sampled", "chip"), moves)


def stratum_counts_add(moves: Counter) -> None:
    """Apply {(automation_id, day, sampled, stratum, inclusion_bp): delta} to the per-stratum daily
    run counts, in one statement (none when the batch has no run a stratum took)."""
    counts_upsert(StratumDayCount, ("automation", "day", "sampled", "stratum", "inclusion_bp"), moves)


def stratum_counts_recount(*, automation: Automation) -> None:
    """Rebuild the per-stratum daily run counts of one automation from its runs."""
    rows = (Run.objects.filter(automation=automation).exclude(stratum="").annotate(day=TruncDate("created_at"))
            .order_by().values("day", "sampled", "stratum", "inclusion_bp").annotate(n=Count("pk")))
    with transaction.atomic():
        StratumDayCount.objects.filter(automation=automation).delete()
        StratumDayCount.objects.bulk_create([
            StratumDayCount(automation=automation, day=r["day"], sampled=r["sampled"], stratum=r["stratum"],
                            inclusion_bp=r["inclusion_bp"], count=r["n"]) for r in rows], batch_size=2000)


def day_counts_recount(*, automation: Automation) -> None:
    """Rebuild the daily run counts of one automation from its runs (commands, repairs), with the
    per-stratum ones."""
    stratum_counts_recount(automation=automation)
    rows = (Run.objects.filter(automation=automation).annotate(day=TruncDate("created_at")).order_by()
            .values("day", "sampled").annotate(n=Count("pk")))
    with transaction.atomic():
        RunDayCount.objects.filter(automation=automation).delete()
        RunDayCount.objects.bulk_create([RunDayCount(automation=automation, day=r["day"], sampled=r["sampled"],
                                                     count=r["n"]) for r in rows])


VERSION_KEY = ("automation", "hour", "version", "stratum", "inclusion_bp", "kind")


def run_hour(created_at) -> datetime:
    """The per-version rollup's time key of a run: the UTC hour it was created in."""
    return created_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def version_counts_add(moves: Counter) -> None:
    """Apply {(automation_id, hour, version, stratum, inclusion_bp, kind): delta} to the
    per-version rollup (VersionHourCount), in one statement."""
    counts_upsert(VersionHourCount, VERSION_KEY, moves)


def sampled_version_key(automation_id: int, created_at, version: str | None, stratum: str, inclusion_bp: int) -> tuple:
    """The per-version rollup's key of one sampled run."""
    return (automation_id, run_hour(created_at), version or "", stratum, inclusion_bp, VersionHourCount.Kind.SAMPLED)


def version_counts_rebuild(*, automation: Automation, kinds: tuple[str, ...], rows) -> None:
    """Replace the automation's per-version rollup rows of these kinds by `rows`, dicts with
    hour, version, stratum, inclusion_bp, kind and n (the recounts of runs and review.counters)."""
    with transaction.atomic():
        VersionHourCount.objects.filter(automation=automation, kind__in=kinds).delete()
        VersionHourCount.objects.bulk_create([
            VersionHourCount(automation=automation, hour=r["hour"], version=r["version"] or "", stratum=r["stratum"],
                            inclusion_bp=r["inclusion_bp"], kind=r["kind"], count=r["n"])
            for r in rows if r["n"]], batch_size=2000)


def version_sampled_recount(*, automation: Automation) -> None:
    """Rebuild the `sampled` kind of the automation's per-version rollup from its runs (one
    grouped query over its sampled runs)."""
    rows = (Run.objects.filter(automation=automation, sampled=True).annotate(hour=TruncHour("created_at", tzinfo=UTC))
            .order_by().values("hour", "version", "stratum", "inclusion_bp").annotate(n=Count("pk")))
    version_counts_rebuild(automation=automation, kinds=(VersionHourCount.Kind.SAMPLED,),
                           rows=({**r, "kind": VersionHourCount.Kind.SAMPLED} for r in rows))


def record_moves(rows: dict[str, dict], before: dict[str, tuple]) -> tuple[list, list, tuple[Counter, ...]]:
    """(new runs, repeated runs, (day, chip, per-stratum, per-version) counter moves) of a batch:
    a repeated run leaves its old cells and keeps its chip; every run enters its new cells. The
    per-stratum daily counts hold the runs a stratum took only; the per-version rollup the
    sampled runs only."""
    days, chips, strata, versions = Counter(), Counter(), Counter(), Counter()
    zone = timezone.get_current_timezone()  # timezone.localdate per run looked it up 2,000 times a batch
    fresh, repeated = [], []
    for run_id, run in rows.items():
        if run_id in before:
            run_leave(before[run_id], zone, days, chips, strata, versions)
            run["chip"] = before[run_id][3]
            repeated.append(run)
        else:
            fresh.append(run)
        day = timezone.localdate(run["created_at"], zone)
        days[(run["automation_id"], day, run["sampled"])] += 1
        chips[(run["automation_id"], run["sampled"], run["chip"])] += 1
        if run["stratum"]:
            strata[(run["automation_id"], day, run["sampled"], run["stratum"], run["inclusion_bp"])] += 1
        if run["sampled"]:
            versions[sampled_version_key(run["automation_id"], run["created_at"], run["version"], run["stratum"],
                                         run["inclusion_bp"])] += 1
    return fresh, repeated, (days, chips, strata, versions)


def run_leave(stored: tuple, zone, days: Counter, chips: Counter, strata: Counter, versions: Counter,
              n: int = 1) -> None:
    """A run leaves the cells it was counted in: a repeated run before its new ones, a pruned run
    for good. `stored` as runs.services.runs_stored reads it: (automation_id, created_at,
    sampled, chip, version, stratum, inclusion_bp); `n` runs of the same cells at once
    (retention's grouped count of a month)."""
    automation_id, created, sampled, chip, version, stratum, inclusion = stored
    day = timezone.localdate(created, zone)
    days[(automation_id, day, sampled)] -= n
    chips[(automation_id, sampled, chip)] -= n
    if stratum:
        strata[(automation_id, day, sampled, stratum, inclusion)] -= n
    if sampled:
        versions[sampled_version_key(automation_id, created, version, stratum, inclusion)] -= n


def chip_counts_recount(*, automation: Automation) -> None:
    """Rebuild the chip counters of one automation from its runs (commands, repairs), and its
    daily run counts."""
    day_counts_recount(automation=automation)
    rows = (
        Run.objects.filter(automation=automation).order_by().values("sampled", "chip").annotate(n=Count("pk"))
    )
    with transaction.atomic():
        ChipCount.objects.filter(automation=automation).delete()
        ChipCount.objects.bulk_create(
            [ChipCount(automation=automation, sampled=r["sampled"], chip=r["chip"], count=r["n"]) for r in rows]
        )


def chip_count_move(*, automation_id: int, sampled: bool, old: str | None, new: str | None) -> None:
    """Move one run between chips in the counters (old=None: a new run; new=None: removed), in
    one statement."""
    if old == new:
        return
    moves: Counter = Counter()
    if old is not None:
        moves[(automation_id, sampled, old)] -= 1
    if new is not None:
        moves[(automation_id, sampled, new)] += 1
    chip_counts_add(moves)


# --- rollups of higher layers that follow a run's sampled flag ---------------------------------
# The review rollups (review.counters: ReviewTally, ReviewDayCount) are keyed by their run's
# automation, day and sampled flag. A service of this package that changes runs' sampled flags
# (runs.policy.sampling_rate_set re-sampling runs stamped in the future) moves them through
# these hooks, which the review app registers when Django starts (review.apps), so no caller can
# forget them and this package still imports nothing above it (docs/architecture.md).
RUN_ROLLUPS: list[tuple[Callable, Callable]] = []


def run_rollup_register(states: Callable, move: Callable) -> None:
    """`states(run_ids)` reads what a rollup holds for these runs; `move(before, after)` applies
    the difference. Registered once per rollup."""
    if (states, move) not in RUN_ROLLUPS:
        RUN_ROLLUPS.append((states, move))


@contextmanager
def run_rollups_follow(run_ids: list) -> Iterator[None]:
    """Inside the caller's transaction: read the registered rollups' states of these runs, let the
    caller change the runs, then move the rollups by the difference."""
    before = [(states, move, states(run_ids)) for states, move in RUN_ROLLUPS]
    yield
    for states, move, old in before:
        move(old, states(run_ids))
