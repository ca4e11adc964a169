"""runs/sizes.py: table sizes count a partitioned table's partitions (runs_run on PostgreSQL) as
well as a plain table; elsewhere sizes are not known."""

import pytest
from django.db import connection

from review.services import review_update
from runs.sizes import sizes_lines, table_sizes
from tests.factories import make_runs

pytestmark = pytest.mark.django_db


def test_sizes_of_the_partitioned_run_table_and_of_a_plain_one(reviewer):
    runs = make_runs(3)
    review_update(run=runs[0], changes={"rating": "fail"}, user=reviewer)
    sizes = table_sizes(["runs_run", "review_review"])
    if connection.vendor != "postgresql":
        assert sizes == {}
        return
    assert list(sizes) == ["runs_run", "review_review"]
    for table, (heap, indexes) in sizes.items():
        assert heap > 0 and indexes > 0, table  # the partitions' pages, not the empty parent's
    assert sizes_lines(sizes)[0].startswith("  runs_run ")
