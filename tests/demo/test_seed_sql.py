"""The in-database seeding on PostgreSQL (demo/seed_sql.py): the run table's indexes come back
as they were, seeded runs carry the bucket runs.sampling computes, and seeded reviews leave
every counter and rollup equal to a recount."""

import io

import pytest
from django.core.management import call_command
from django.db import connection

from demo import seed_sql
from runs.models import Run
from runs.sampling import sample_bucket
from tests.insights.test_version_rollup import recounted as versions_recounted
from tests.insights.test_version_rollup import rollup as versions
from tests.review.test_counters import recounted as tally_recounted
from tests.review.test_counters import tally
from tests.runs.test_counters import recounted, snapshot

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("the in-database load is PostgreSQL's (SQLite seeds through bulk_create)")


def indexes() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'runs_run'")
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.django_db(transaction=True)  # VACUUM runs outside a transaction
def test_indexes_dropped_for_a_load_come_back_the_same():
    before = indexes()
    with seed_sql.indexes_after(say=lambda line: None):
        left = indexes()
    assert len(left) == 1 and len(before) > 5  # only the primary key during the load
    assert indexes() == before


def test_seeded_runs_and_reviews_keep_every_counter_equal_to_a_recount():
    call_command("seed_runs", "--runs", "3000", "--days", "12", "--seed", "3", stdout=io.StringIO())
    runs = list(Run.objects.values_list("pk", "sample_bucket", "sampled", "inclusion_bp"))
    assert all(sample_bucket(pk) == bucket for pk, bucket, _, _ in runs)
    assert all(sampled == (bucket < rate) for _, bucket, sampled, rate in runs)
    # The run ids have a random prefix, so how many runs are sampled varies: 288-302 in four runs
    # here, 249 once in CI.
    open_runs = Run.objects.filter(sampled=True, chip="unreviewed").count()
    out = io.StringIO()
    call_command("seed_reviews", "--reviews", "250", "--seed", "3", stdout=out)
    assert f"Inserted {min(250, open_runs)} reviews" in out.getvalue()
    kept = (snapshot(), tally(), versions())
    assert {k[5] for k in kept[2]} == {"sampled", "rated", "passed"}
    assert kept == (recounted(), tally_recounted(), versions_recounted())
