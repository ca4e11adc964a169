"""`manage.py partition_probe` (bench): the monthly-partition design measured on a copy of a
loaded database (docs/scale.md). Here at small volume: it drops exactly the oldest whole month,
with the reviews of its runs, and leaves the application's tables and the other months alone."""

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from review.models import Review
from review.services import review_update
from runs.models import Run
from tests.factories import make_automation, make_runs


def test_it_refuses_without_postgresql_or_without_yes(db):
    expected = "run it on a copy" if connection.vendor == "postgresql" else "not PostgreSQL"
    with pytest.raises(CommandError, match=expected):
        call_command("partition_probe", stdout=StringIO())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="declarative partitioning is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_it_drops_the_oldest_whole_month_with_its_reviews_and_nothing_else():
    runs = make_runs(6, make_automation())
    first = timezone.now() - timedelta(days=100)
    oldest_whole = (first.replace(day=1) + timedelta(days=32)).replace(day=1, hour=12)
    when = [first, oldest_whole, oldest_whole + timedelta(days=3), oldest_whole + timedelta(days=40),
            timezone.now(), timezone.now()]
    for run, created in zip(runs, when, strict=True):
        Run.objects.filter(pk=run.pk).update(created_at=created)
    reviewer = User.objects.create_user("probe")
    for run in runs[1:5]:
        review_update(run=run, changes={"rating": "fail", "body": run.pk}, user=reviewer)

    out = StringIO()
    call_command("partition_probe", yes=True, stdout=out)
    text = out.getvalue()
    assert re.search(rf"oldest month \(runs_run_probe_{oldest_whole:%Y%m}\): 2 runs in", text), text
    assert "migration of 6 runs" in text
    assert set(Review.objects.values_list("run_id", flat=True)) == {runs[3].pk, runs[4].pk}
    assert Run.objects.count() == 6  # the application's table is not touched
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('runs_run_probe')")
        assert cursor.fetchone()[0] is None
