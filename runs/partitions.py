"""The run table in monthly partitions, on PostgreSQL (docs/scale.md#monthly-partitions).

`runs_run` is partitioned by range of `created_at`, one partition per UTC month named
`runs_run_YYYY_MM`, and a default partition (`runs_run_default`) for runs of a month that has
none yet. Its primary key is `(id, created_at)`, the partition key being part of every unique
key; the ORM still addresses a run by its id alone, and run ids stay unique because every
writer of new runs goes through `run_ids_lock` before it looks for them (runs.services.runs_stored).
No foreign key points at the table (a partitioned table's key is the pair): the models that
reference runs say `db_constraint=False`, and deleting runs deletes what hangs off them
(datasets.retention).

Retention drops a whole month at once (datasets.retention.runs_prune_months); `partitions_ensure`
creates the months ahead, and the months of whatever landed in the default partition, moving
those rows in. Elsewhere (SQLite) the table is one plain table and everything here is a no-op.
"""

import re
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction
from django.utils import timezone

from runs.sizes import secondary_indexes

PARENT = "runs_run"
DEFAULT = f"{PARENT}_default"
AHEAD = 1  # months created ahead of the current one (each partition costs every unpruned query planning time)
_MONTH = re.compile(rf"^{PARENT}_(\d{{4}})_(\d{{2}})$")
# Run-id locks: transaction-scoped advisory locks (LOCK_SPACE, bucket); a batch takes at most
# ID_BUCKETS of them, in order, so two writers never wait for each other in a circle.
LOCK_SPACE = 0x4C6F7570  # "Loup"
ID_BUCKETS = 256


@dataclass(frozen=True)
class Month:
    table: str
    start: datetime  # the first instant of the month, UTC
    end: datetime  # the first instant of the next month


def month_start(when: datetime) -> datetime:
    when = when.astimezone(UTC)
    return datetime(when.year, when.month, 1, tzinfo=UTC)


def next_month(start: datetime) -> datetime:
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)


def month_of(start: datetime) -> Month:
    return Month(f"{PARENT}_{start:%Y_%m}", start, next_month(start))


def partitioned() -> bool:
    """Whether the run table is partitioned (PostgreSQL after runs migration 0013)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [PARENT])
        row = cursor.fetchone()
    return bool(row) and row[0] == "p"


def months() -> list[Month]:
    """The monthly partitions, oldest first (the default partition is not among them)."""
    if not partitioned():
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid "
                       "WHERE i.inhparent = %s::regclass", [PARENT])
        names = [name for (name,) in cursor.fetchall()]
    found = []
    for name in names:
        match = _MONTH.match(name)
        if match:
            found.append(month_of(datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC)))
    return sorted(found, key=lambda m: m.start)


def run_ids_lock(ids) -> None:
    """Serialise the writers of these run ids until the caller's transaction ends (PostgreSQL;
    call inside transaction.atomic()). With the run table partitioned, its key is (id,
    created_at), so nothing in the database stops two requests from storing one id twice with
    two creation times: the writers of runs take the locks of their ids' buckets before they
    look for them, so the second one finds the first one's run and updates it."""
    if connection.vendor != "postgresql":
        return
    buckets = sorted({zlib.crc32(str(run_id).encode()) % ID_BUCKETS for run_id in ids})
    if buckets:
        with connection.cursor() as cursor:
            # unnest keeps the array's order: the locks are taken in ascending bucket order.
            cursor.execute("SELECT count(pg_advisory_xact_lock(%s, b)) FROM unnest(%s::int[]) AS b",
                           [LOCK_SPACE, buckets])


def _months_wanted(cursor, since: datetime | None, ahead: int, holding: str = DEFAULT) -> list[datetime]:
    """The current month and `ahead` after it, every month from `since` on, and the months of
    the runs in the table `holding` (the default partition)."""
    now = month_start(timezone.now())
    wanted = [now]
    for _ in range(ahead):
        wanted.append(next_month(wanted[-1]))
    if since is not None:
        start = month_start(since)
        while start < now:
            wanted.append(start)
            start = next_month(start)
    cursor.execute(f"SELECT DISTINCT date_trunc('month', created_at AT TIME ZONE 'UTC') FROM {holding}")
    wanted += [start.replace(tzinfo=UTC) for (start,) in cursor.fetchall()]
    return sorted(set(wanted))


def partitions_ensure(*, since: datetime | None = None, ahead: int = AHEAD, say=None) -> list[Month]:
    """Create the missing monthly partitions (see _months_wanted), each in its own transaction:
    runs of that month waiting in the default partition move into it first. The new months,
    oldest first; [] where the table is not partitioned. Run nightly (`manage.py partitions`,
    and `prune_runs` does it first)."""
    if not partitioned():
        return []
    existing = {m.table for m in months()}
    with connection.cursor() as cursor:
        wanted = [month_of(start) for start in _months_wanted(cursor, since, ahead)]
    created = []
    for month in wanted:
        if month.table in existing:
            continue
        started = time.monotonic()
        moved = _month_create(month)
        created.append(month)
        if say:
            say(f"Created {month.table}" + (f", {moved:,} runs moved in from {DEFAULT}" if moved else "")
                + f" ({time.monotonic() - started:.1f} s).")
    return created


def _month_create(month: Month) -> int:
    """One month's partition: created beside the table, filled with that month's runs from the
    default partition, then attached (which builds its indexes). The runs moved."""
    with transaction.atomic(), connection.cursor() as cursor, _checks_first(cursor):
        cursor.execute(f"CREATE TABLE {month.table} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        cursor.execute(f"WITH moved AS (DELETE FROM {DEFAULT} WHERE created_at >= %s AND created_at < %s "
                       f"RETURNING *) INSERT INTO {month.table} SELECT * FROM moved", [month.start, month.end])
        moved = cursor.rowcount
        cursor.execute(f"ALTER TABLE {PARENT} ATTACH PARTITION {month.table} FOR VALUES FROM (%s) TO (%s)",
                       [month.start, month.end])
    return moved


@contextmanager
def _checks_first(cursor):
    """Run the deferred constraint checks of the transaction so far, for DDL on tables they
    concern (PostgreSQL refuses to alter a table with pending trigger events), then defer again
    (Django's foreign keys are INITIALLY DEFERRED)."""
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    yield
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def month_drop(month: Month) -> None:
    """Detach and drop one month's partition (inside the caller's transaction, after the rows
    hanging off its runs are gone)."""
    with connection.cursor() as cursor, _checks_first(cursor):
        cursor.execute(f"ALTER TABLE {PARENT} DETACH PARTITION {month.table}")
        cursor.execute(f"DROP TABLE {month.table}")


def month_has_others(month: Month, automation_ids: list[int]) -> bool:
    """Whether the month holds runs of automations other than these (then it is not dropped whole)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {month.table} WHERE automation_id <> ALL(%s))",
                       [list(automation_ids)])
        return cursor.fetchone()[0]


# The conversion of an existing table (runs migration 0013) and back.

def _foreign_keys(cursor, table: str) -> list[str]:
    """The ADD CONSTRAINT clauses of `table`'s foreign keys."""
    cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                   "WHERE conrelid = %s::regclass AND contype = 'f'", [table])
    return [f"ADD CONSTRAINT {name} {definition}" for name, definition in cursor.fetchall()]


def _referencing(cursor) -> list[str]:
    cursor.execute("SELECT conrelid::regclass::text || '.' || conname FROM pg_constraint "
                   "WHERE confrelid = %s::regclass", [PARENT])
    return [name for (name,) in cursor.fetchall()]


def convert(cursor, *, to_partitioned: bool, say=None) -> None:
    """Rebuild the run table partitioned by month (or back to one plain table): the new table
    beside the old one, the runs copied, the old one dropped, then the key, the same indexes and
    the foreign keys; for a migration (the application stopped: a 10 M-run table takes minutes,
    docs/scale.md)."""
    referencing = _referencing(cursor)
    if referencing:
        raise RuntimeError(f"Foreign keys still point at {PARENT}: {', '.join(referencing)}.")
    with _checks_first(cursor):
        _rebuild(cursor, to_partitioned, _Steps(cursor, say))


def _rebuild(cursor, to_partitioned: bool, step: "_Steps") -> None:
    indexes = [definition for _, definition in secondary_indexes(PARENT)]
    keys = _foreign_keys(cursor, PARENT)
    cursor.execute(f"ALTER TABLE {PARENT} RENAME TO {PARENT}_old")
    if to_partitioned:
        cursor.execute(f"CREATE TABLE {PARENT} (LIKE {PARENT}_old INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
                       "PARTITION BY RANGE (created_at)")
        cursor.execute(f"CREATE TABLE {DEFAULT} PARTITION OF {PARENT} DEFAULT")
        # The months that hold runs (gaps stay without a partition until runs arrive for them).
        for start in _months_wanted(cursor, None, AHEAD, holding=f"{PARENT}_old"):
            month = month_of(start)
            cursor.execute(f"CREATE TABLE {month.table} PARTITION OF {PARENT} FOR VALUES FROM (%s) TO (%s)",
                           [month.start, month.end])
    else:
        cursor.execute(f"CREATE TABLE {PARENT} (LIKE {PARENT}_old INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    step("copy the runs", f"INSERT INTO {PARENT} SELECT * FROM {PARENT}_old")
    step("drop the old table", f"DROP TABLE {PARENT}_old")
    step("primary key", f"ALTER TABLE {PARENT} ADD PRIMARY KEY " + ("(id, created_at)" if to_partitioned else "(id)"))
    for definition in indexes:
        step(definition.split(" ON ")[0].replace("CREATE ", "").lower(), definition)
    for key in keys:
        step("foreign key", f"ALTER TABLE {PARENT} {key}")
    step("ANALYZE", f"ANALYZE {PARENT}")
    if step.say:
        step.say(f"  {time.monotonic() - step.started:7.1f} s  in all: {PARENT} rebuilt "
                 + ("in monthly partitions" if to_partitioned else "as one table"))


class _Steps:
    def __init__(self, cursor, say):
        self.cursor, self.say, self.started = cursor, say, time.monotonic()

    def __call__(self, label: str, sql: str) -> None:
        started = time.monotonic()
        self.cursor.execute(sql)
        if self.say:
            rows = f" ({self.cursor.rowcount:,} rows)" if self.cursor.rowcount and self.cursor.rowcount > 0 else ""
            self.say(f"  {time.monotonic() - started:7.1f} s  {label}{rows}")
