"""On PostgreSQL, the run table partitioned by month (runs/partitions.py); elsewhere nothing.

It rebuilds the table with the application stopped: on this project's machine 1 M runs took
about a minute and 10 M about six (docs/scale.md#monthly-partitions). The steps are printed
with their times. Reversible: the way back rebuilds one plain table keyed by the run id."""

import sys

from django.db import migrations

from runs.partitions import convert


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _convert(schema_editor, *, to_partitioned: bool) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        # The steps and their times, for a table with runs in it (an upgrade, not a new database).
        cursor.execute("SELECT EXISTS (SELECT 1 FROM runs_run)")
        say = _say if cursor.fetchone()[0] else None
        if say:
            say("")
        convert(cursor, to_partitioned=to_partitioned, say=say)


def partition(apps, schema_editor):
    _convert(schema_editor, to_partitioned=True)


def unpartition(apps, schema_editor):
    _convert(schema_editor, to_partitioned=False)


class Migration(migrations.Migration):

    dependencies = [
        ("runs", "0012_run_references_without_constraint"),
        ("review", "0014_run_references_without_constraint"),
        ("humanreview", "0002_run_references_without_constraint"),
        ("datasets", "0003_run_references_without_constraint"),
    ]

    operations = [migrations.RunPython(partition, unpartition)]
