"""runs.sql.compiled_once / raw_once: a query compiled once per key answers for every value."""

import pytest
from django.db.models import Max

from runs.models import Run
from runs.sql import compiled_once, raw_once
from tests.factories import make_automation, make_run

pytestmark = pytest.mark.django_db


def test_one_compiled_query_answers_for_each_value():
    automation = make_automation()
    first, second = make_run(automation), make_run(automation)

    def build(marker):
        return Run.objects.filter(pk=marker).only("id")

    assert [r.pk for r in raw_once("test one run", build, first.pk)] == [first.pk]
    assert [r.pk for r in raw_once("test one run", build, second.pk)] == [second.pk]
    assert list(raw_once("test one run", build, "no-such-run")) == []


def test_a_value_may_appear_more_than_once():
    automation = make_automation()
    run = make_run(automation)

    def build(marker):
        runs = Run.objects.order_by().values_list("id")
        return runs.filter(pk=marker).union(runs.filter(example_id=marker), all=True)

    sql, params = compiled_once("test twice", build, run.pk)
    assert params.count(run.pk) == 2 and "compiled_once" not in " ".join(map(str, params))


def test_a_value_the_query_does_not_take_is_refused():
    with pytest.raises(ValueError, match="every value"):
        compiled_once("test unused", lambda marker: Run.objects.all(), "x")


def test_raw_once_converts_the_date_times_it_is_told_of(automation):
    from datetime import datetime

    from django.db.models import Max

    from runs.models import Automation

    run = make_run(automation)
    rows = raw_once("test latest run", lambda: Automation.objects.annotate(latest=Max("runs__created_at")),
                    datetimes=("latest",))
    latest = next(r.latest for r in rows if r.pk == automation.pk)
    assert isinstance(latest, datetime) and latest == run.created_at


def test_db_row_reads_a_json_object_row_with_its_date_times_and_json_members():
    from datetime import UTC, datetime

    from runs.sql import db_row

    text = '{"id": 1, "created_at": "2026-01-02 03:04:05.000006", "details": "{\\"a\\": [1]}"}'
    row = db_row(text, datetimes=("created_at",), json_columns=("details",))
    assert row == {"id": 1, "created_at": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "details": {"a": [1]}}
    assert db_row(None) is None
    assert db_row({"details": {"a": 1}}, json_columns=("details",)) == {"details": {"a": 1}}


def test_values_once_takes_integers_dates_and_date_times_and_converts_its_rows_like_values_list():
    from datetime import timedelta

    from django.db.models import Count
    from django.utils import timezone

    from runs.counters import day_counts_recount
    from runs.models import RunDayCount
    from runs.sql import values_once

    automation, other = make_automation(), make_automation()
    for target in (automation, automation, other):
        make_run(target)
    for target in (automation, other):
        day_counts_recount(automation=target)
    now = timezone.now()

    def runs(pk, since):
        return (Run.objects.filter(automation_id=pk, created_at__gte=since).order_by()
                .values_list("automation_id", "sampled").annotate(n=Count("pk"), latest=Max("created_at")))

    def days(pk, first_day):
        return (RunDayCount.objects.filter(automation_id=pk, day__gte=first_day).order_by()
                .values_list("automation_id", "day", "sampled", "count"))

    for pk, since in ((automation.pk, now - timedelta(hours=1)), (other.pk, now - timedelta(days=1)),
                      (automation.pk, now + timedelta(hours=1))):
        assert sorted(values_once("test runs", runs, pk, since), key=repr) == sorted(runs(pk, since), key=repr)
        first_day = timezone.localdate(since)
        assert sorted(values_once("test days", days, pk, first_day), key=repr) == sorted(days(pk, first_day), key=repr)
    (pk, sampled, n, latest), *_ = values_once("test runs", runs, automation.pk, now - timedelta(hours=1))
    assert n == Run.objects.filter(automation=automation, sampled=sampled).count()
    assert isinstance(sampled, bool) and latest.tzinfo is not None
    rows = values_once("test days", days, automation.pk, timezone.localdate(now))
    assert {day for _, day, _, _ in rows} == {timezone.localdate(now)}
    assert sum(count for *_, count in rows) == Run.objects.filter(automation=automation).count()


def test_a_boolean_value_is_refused_it_changes_the_query_text():
    with pytest.raises(ValueError, match="boolean"):
        compiled_once("test boolean", lambda marker: Run.objects.filter(sampled=marker), True)


def test_values_once_reads_where_the_router_sends_reads_of_its_model(settings):
    """A replica router (config/replicas.py) sends dashboard reads to the replica: a query compiled
    once must ask the router like the ORM does, not use the primary's connection directly."""
    from runs.models import RunDayCount
    from runs.sql import values_once

    asked = []

    class Recording:
        def db_for_read(self, model, **hints):
            asked.append(model)
            return "default"

    automation = make_automation()
    settings.DATABASE_ROUTERS = [Recording()]  # Django resets its router on this setting's change
    assert values_once("test routed read", lambda pk: RunDayCount.objects.filter(automation_id=pk)
                       .values_list("day"), automation.pk) == []
    assert asked == [RunDayCount]
