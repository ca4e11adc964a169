"""Table and index sizes on PostgreSQL (pg_total_relation_size and friends), and VACUUM of the
tables a bulk change touched: what retention and the benchmark print. Elsewhere sizes are not
known ({}) and vacuuming is left to the database."""

from django.apps import apps
from django.db import connection

RUN_TABLES = ("runs_run", "runs_runstep", "runs_runfile", "runs_evaluatorscore", "review_review",
              "review_correction", "review_expectedfile", "review_auditevent")


def run_tables() -> list[str]:
    """The run table and every table whose rows hang off runs (deepest included), existing ones."""
    known = {model._meta.db_table for model in apps.get_models()}
    return [table for table in RUN_TABLES if table in known]


def table_sizes(tables) -> dict[str, tuple[int, int]]:
    """{table: (heap bytes incl. TOAST, index bytes)} on PostgreSQL, partitions included; {} elsewhere."""
    if connection.vendor != "postgresql":
        return {}
    with connection.cursor() as cursor:
        # A partitioned table (runs.partitions) holds nothing itself: its partitions are summed.
        # (pg_partition_tree answers nothing for a table that is not partitioned.)
        cursor.execute("SELECT t, coalesce(sum(pg_table_size(p.relid)), pg_table_size(t::regclass))::bigint, "
                       "coalesce(sum(pg_indexes_size(p.relid)), pg_indexes_size(t::regclass))::bigint "
                       "FROM unnest(%s::text[]) WITH ORDINALITY AS u(t, n) "
                       "LEFT JOIN LATERAL pg_partition_tree(t::regclass) AS p ON true GROUP BY t, n ORDER BY n",
                       [list(tables)])
        return {table: (heap, index) for table, heap, index in cursor.fetchall()}


def secondary_indexes(table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the table's indexes that back no constraint of it
    (PostgreSQL): what the bulk loads drop and build again, and what rebuilding the run table
    (runs.partitions.convert) declares again."""
    with connection.cursor() as cursor:
        cursor.execute("""SELECT i.indexname, i.indexdef FROM pg_indexes AS i
                          WHERE i.schemaname = current_schema() AND i.tablename = %s
                            AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conname = i.indexname
                                            AND c.conrelid = %s::regclass)""", [table, table])
        return cursor.fetchall()


def vacuum(tables) -> bool:
    """VACUUM (ANALYZE) these tables on PostgreSQL, outside any transaction: the space of the
    rows a bulk delete removed is reused by the next inserts instead of growing the files.
    False when it cannot run here (another database, or inside a transaction: autovacuum's)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return False
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(table)}")
    return True


def megabytes(size: int) -> str:
    return f"{size / 1_048_576:,.0f} MB"


def sizes_lines(before: dict, after: dict | None = None) -> list[str]:
    """One line per table: heap + indexes (before -> after when given)."""
    lines = []
    for table, (heap, index) in before.items():
        line = f"  {table:<22} table {megabytes(heap):>9} + indexes {megabytes(index):>9}"
        if after is not None and table in after:
            line += f"  ->  table {megabytes(after[table][0]):>9} + indexes {megabytes(after[table][1]):>9}"
        lines.append(line)
    return lines
