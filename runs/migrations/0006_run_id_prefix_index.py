"""Run-id search is by prefix in any case (`id ILIKE 'x%'` as Django writes istartswith:
UPPER(id) LIKE UPPER('x%')). On PostgreSQL an expression index with pattern ops serves it
without scanning a million runs; SQLite has no such index and needs none at its sizes."""

from django.db import migrations

CREATE = 'CREATE INDEX IF NOT EXISTS run_id_upper_prefix ON runs_run (UPPER(id::text) text_pattern_ops)'
DROP = "DROP INDEX IF EXISTS run_id_upper_prefix"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("runs", "0005_run_steps")]
    operations = [migrations.RunPython(create, drop)]
