"""Bulk seeding done by PostgreSQL itself, for volume tests at ten million runs: the generated
payloads (a small pool per automation and day) are copied once into a temporary table, and each
chunk of runs is one INSERT ... SELECT over generate_series that picks a payload, a creation time,
the sample bucket (SHA-256 of the id, as runs.sampling.sample_bucket) and the rate in effect; the
run table's secondary indexes are dropped for the load and built afterwards (one sort each instead
of ten million index insertions), then VACUUM ANALYZE. Reviews likewise: one INSERT ... SELECT
of the newest sampled runs without a review, their audit events, their chips.
Python-side generation (seed_runs --no-sql) made about 3,000 runs/s here; this makes several
times that (docs/scale.md)."""

import time
from contextlib import contextmanager
from datetime import datetime

from django.db import connection, transaction

from review.models import ReviewDayCount, ReviewerDayCount, ReviewTally
from runs.models import ChipCount, Run, RunDayCount, StratumDayCount, VersionHourCount
from runs.records import json_dumps
from runs.sizes import secondary_indexes, vacuum

# 2^64 mod 10000: a negative bigint h read from 8 bytes is the unsigned value h + 2^64.
_WRAP = 2 ** 64 % 10_000
BUCKET_SQL = f"mod(mod(mod(h, 10000) + 10000, 10000) + CASE WHEN h < 0 THEN {_WRAP} ELSE 0 END, 10000)"
HASH_SQL = "('x' || left(encode(sha256(convert_to({id}, 'UTF8')), 'hex'), 16))::bit(64)::bigint"
POOL_COLUMNS = ("status", "trigger", "triggered_by", "version", "input", "output", "error", "usage", "metadata",
                "duration_ms", "output_preview")
JSON_COLUMNS = {"input", "output", "usage", "metadata"}


def pool_copy(pools: list[list[list[tuple[dict, str]]]]) -> None:
    """Into TEMP table seed_pool: one row per (automation index, day ago, slot) of the payloads."""
    columns = ", ".join(f"{c} jsonb" if c in JSON_COLUMNS else f"{c} text" for c in POOL_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS seed_pool")
        cursor.execute(f"CREATE TEMP TABLE seed_pool (a int, day int, slot int, {columns})")
        with cursor.cursor.copy(f"COPY seed_pool (a, day, slot, {', '.join(POOL_COLUMNS)}) FROM STDIN") as copy:
            for a, days in enumerate(pools):
                for day, records in enumerate(days):
                    for slot, (record, preview) in enumerate(records):
                        values = {column: record.get(_camel(column)) for column in POOL_COLUMNS}
                        values["output_preview"] = preview
                        copy.write_row([a, day, slot] + [
                            json_dumps(values[c]) if c in JSON_COLUMNS and values[c] is not None else values[c]
                            for c in POOL_COLUMNS])
        cursor.execute("CREATE INDEX ON seed_pool (a, day, slot)")
        cursor.execute("ANALYZE seed_pool")


def _camel(column: str) -> str:
    head, *rest = column.split("_")
    return head + "".join(part.title() for part in rest)


def periods_copy(automation_ids: list[int], schedules: dict) -> None:
    """Into TEMP table seed_rates: each automation's rate periods [since, until) (index, rate)."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS seed_rates")
        cursor.execute("CREATE TEMP TABLE seed_rates (a int, since timestamptz, until timestamptz, rate int)")
        rows = []
        for a, pk in enumerate(automation_ids):
            schedule = schedules[pk]
            bounds = [(datetime.min.replace(year=1900), schedule.initial_bp), *schedule.changes]
            for index, (since, rate) in enumerate(bounds):
                until = bounds[index + 1][0] if index + 1 < len(bounds) else datetime.max.replace(year=9000)
                rows.append((a, since, until, rate))
        with cursor.cursor.copy("COPY seed_rates FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[0], row[1].isoformat(), row[2].isoformat(), row[3]])


def runs_chunk(*, prefix: str, first: int, last: int, automation_ids: list[int], days: int, pool_size: int,
               now: datetime) -> int:
    """INSERT runs number first..last (inclusive); returns how many of them are sampled."""
    cases = " ".join(f"WHEN {a} THEN {pk}" for a, pk in enumerate(automation_ids))
    sql = f"""
        WITH g AS (
            SELECT n, %(prefix)s || lpad(n::text, 9, '0') AS id, n %% %(k)s AS a,
                   %(now)s::timestamptz - random() * %(days)s * interval '1 day' AS created_at,
                   floor(random() * %(pool)s)::int AS slot, 40 + floor(random() * 860)::int AS start_ms
            FROM generate_series(%(first)s, %(last)s) AS n
        ), b AS (
            SELECT g.*, LEAST(floor(extract(epoch FROM %(now)s::timestamptz - created_at) / 86400)::int,
                              %(days)s - 1) AS day,
                   {BUCKET_SQL} AS bucket
            FROM (SELECT g.*, {HASH_SQL.format(id='g.id')} AS h FROM g) AS g
        ), ins AS (
            INSERT INTO runs_run (id, automation_id, status, trigger, triggered_by, version, input, output, error,
                                  usage, metadata, created_at, started_at, completed_at, duration_ms,
                                  sample_bucket, sampled, chip, output_preview, stratum, inclusion_bp, double_review)
            SELECT b.id, CASE b.a {cases} END, p.status, p.trigger, p.triggered_by, p.version, p.input, p.output,
                   p.error, p.usage, p.metadata, b.created_at, b.created_at + b.start_ms * interval '1 ms',
                   b.created_at + (b.start_ms + p.duration_ms::bigint) * interval '1 ms', p.duration_ms::bigint,
                   b.bucket, b.bucket < r.rate, 'unreviewed', p.output_preview, '', r.rate, ''
            FROM b JOIN seed_pool AS p ON p.a = b.a AND p.day = b.day AND p.slot = b.slot
                   JOIN seed_rates AS r ON r.a = b.a AND b.created_at >= r.since AND b.created_at < r.until
            RETURNING sampled
        )
        SELECT count(*) FILTER (WHERE sampled), count(*) FROM ins"""
    params = {"prefix": prefix, "k": len(automation_ids), "now": now, "days": days, "pool": pool_size,
              "first": first, "last": last}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        sampled, inserted = cursor.fetchone()
    if inserted != last - first + 1:
        raise RuntimeError(f"Chunk {first}-{last}: {inserted} runs inserted, expected {last - first + 1}.")
    return sampled


# A load of this many rows or more drops the run table's indexes and builds them afterwards
# (indexes_after), unless the command is told --keep-indexes.
DROP_INDEXES_FROM = 100_000


def add_load_arguments(parser, *, rows: str, batch: int, python: str, keeping: str) -> None:
    """The options of the bulk seeders (seed_runs, seed_reviews) for how they load `rows`: rows
    per batch, the random seed, --python (`python` instead of the in-database load here) and
    --keep-indexes (the run table's indexes kept `keeping`)."""
    parser.add_argument("--batch", type=int, default=batch, help=f"Rows per INSERT (default {batch}).")
    parser.add_argument("--seed", type=int, default=None, help=f"Random seed for the {rows}.")
    parser.add_argument("--python", action="store_true",
                        help=f"On PostgreSQL, {python} instead of INSERT ... SELECT in the database (demo/seed_sql.py).")
    parser.add_argument("--keep-indexes", action="store_true",
                        help=f"With the in-database load, keep the run table's indexes {keeping} (default: dropped "
                             f"and built afterwards for {DROP_INDEXES_FROM:,} {rows} or more).")


def drops_indexes(count: int, keep_indexes: bool) -> bool:
    """Whether an in-database load of `count` rows builds the run table's indexes afterwards."""
    return count >= DROP_INDEXES_FROM and not keep_indexes


@contextmanager
def indexes_after(table: str = Run._meta.db_table, *, say=print):
    """Drop the table's secondary indexes for the block, then build them again (always, also
    when the block fails) with a generous maintenance_work_mem, and VACUUM ANALYZE the table."""
    indexes = secondary_indexes(table)
    with connection.cursor() as cursor:
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX IF EXISTS {connection.ops.quote_name(name)}")
    try:
        yield
    finally:
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '512MB'")
            for _, statement in indexes:
                cursor.execute(statement)
            cursor.execute("RESET maintenance_work_mem")
        say(f"Built {len(indexes)} indexes of {table} in {time.monotonic() - started:.0f} s.")
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(table)}")
    say(f"VACUUM ANALYZE {table} in {time.monotonic() - started:.0f} s.")


ROLLUPS = (ChipCount, RunDayCount, StratumDayCount, VersionHourCount, ReviewTally, ReviewDayCount, ReviewerDayCount)


def rollups_vacuumed(*, say=print) -> None:
    """VACUUM ANALYZE the rollups a load has just rebuilt (deleted and inserted again), as a
    production database's autovacuum would: unvacuumed, their planner statistics are missing and
    half their rows dead, and the pages that read them measured up to twice as slow."""
    started = time.monotonic()
    if vacuum([model._meta.db_table for model in ROLLUPS]):
        say(f"VACUUM ANALYZE of the rollups in {time.monotonic() - started:.1f} s.")


CHIP_SQL = ("CASE WHEN s.rating IS NULL AND s.status IS NULL THEN 'unreviewed' WHEN s.status = 'open' THEN 'open' "
            "WHEN s.status = 'ignored' THEN 'ignored' WHEN s.rating = 'pass' THEN 'passed' ELSE 'failed' END")


def reviews_insert(*, count: int, mix, user_ids: list[int], now: datetime) -> int:
    """Reviews on the newest `count` sampled runs without one, in the (rating, status) mix
    [((rating, status), weight)], spread over `user_ids`, with their audit events (a verdict,
    and a status change for closed ones) and chips: four statements over a temporary table of
    the picked runs (runs.chips.derive_chip's rule, written in SQL as CHIP_SQL). Returns how
    many were inserted. Counters are the caller's to recount."""
    total = sum(weight for _, weight in mix)
    bounds, low = [], 0.0
    for (rating, status), weight in mix:
        bounds.append((rating, status, low, low + weight / total))
        low += weight / total
    cases = lambda index: " ".join(  # noqa: E731
        f"WHEN r < {high!r} THEN {'NULL' if pair[index] is None else repr(pair[index])}"
        for *pair, _, high in bounds)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS seed_reviews")
        cursor.execute(f"""
            CREATE TEMP TABLE seed_reviews AS
            WITH picked AS (
                SELECT r.id, r.created_at, r.output, random() AS r, random() AS r2, random() AS r3, random() AS r4,
                       (%(users)s::int[])[1 + floor(random() * %(n_users)s)::int] AS user_id
                FROM runs_run AS r
                WHERE r.sampled AND r.chip = 'unreviewed'
                  AND NOT EXISTS (SELECT 1 FROM review_review AS v WHERE v.run_id = r.id)
                ORDER BY r.created_at DESC LIMIT %(count)s
            ), mixed AS (
                SELECT picked.*, CASE {cases(0)} END AS rating, CASE {cases(1)} END AS status,
                       LEAST(%(now)s::timestamptz, created_at + (0.5 + r2 * 71.5) * interval '1 hour') AS at
                FROM picked
            )
            SELECT mixed.*,
                   CASE WHEN status IN ('resolved', 'ignored')
                        THEN LEAST(%(now)s::timestamptz, at + (1 + r3 * 95) * interval '1 hour') END AS resolved_at,
                   CASE WHEN rating IN ('fail', 'partial') AND jsonb_typeof(output) = 'object' AND r4 < 0.6
                        THEN (SELECT min(k) FROM jsonb_object_keys(output) AS k) END AS fixed
            FROM mixed""", {"users": user_ids, "n_users": len(user_ids), "count": count, "now": now})
        cursor.execute("""
            INSERT INTO review_review (run_id, rating, status, body, expected, has_expected, corrected_paths,
                                       created_at, created_by_id, updated_at, updated_by_id, resolved_at,
                                       resolved_by_id, version, correction_count)
            SELECT id, rating, status, CASE WHEN r3 < 0.3 THEN 'seeded note' ELSE '' END,
                   CASE WHEN fixed IS NOT NULL THEN output || jsonb_build_object(fixed, 'corrected') END,
                   fixed IS NOT NULL,
                   CASE WHEN fixed IS NOT NULL THEN jsonb_build_array('/' || fixed) ELSE '[]'::jsonb END,
                   at, user_id, COALESCE(resolved_at, at), user_id, resolved_at,
                   CASE WHEN resolved_at IS NOT NULL THEN user_id END, 1, 0
            FROM seed_reviews""")
        inserted = cursor.rowcount
        cursor.execute("""
            INSERT INTO review_auditevent (run_id, user_id, via, action, changes, created_at)
            SELECT id, user_id, 'web', CASE WHEN rating IS NOT NULL THEN 'verdict:' || rating ELSE 'update' END,
                   jsonb_build_object('rating', jsonb_build_array(NULL, rating), 'status', jsonb_build_array(NULL, status)),
                   at
            FROM seed_reviews
            UNION ALL
            SELECT id, user_id, 'web', 'update', jsonb_build_object('status', jsonb_build_array('open', status)),
                   resolved_at
            FROM seed_reviews WHERE resolved_at IS NOT NULL""")
        cursor.execute(f"UPDATE runs_run AS r SET chip = {CHIP_SQL} FROM seed_reviews AS s "
                       f"WHERE r.id = s.id AND {CHIP_SQL} <> 'unreviewed'")
        cursor.execute("DROP TABLE seed_reviews")
    return inserted
