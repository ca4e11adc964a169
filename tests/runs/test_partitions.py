"""The run table in monthly partitions (runs/partitions.py, PostgreSQL): the migration's
conversion, the months created ahead and out of the default partition, run ids unique under
competing writers, and retention dropping whole months with every counter exact."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from datasets.loop import runs_record_and_check
from review.models import AuditEvent, Review
from review.services import review_update
from runs import partitions
from runs.models import Run, RunFile, RunStep
from runs.records import parse_run_record
from tests.concurrency import PARALLEL_WRITERS, race
from tests.factories import make_automation, run_record

ON_POSTGRES = pytest.mark.skipif(connection.vendor != "postgresql",
                                 reason="declarative partitioning is PostgreSQL's; SQLite keeps one plain table")


def _months_back(n: int):
    """The 10th of the month n months before this one, noon UTC."""
    start = partitions.month_start(timezone.now())
    for _ in range(n):
        start = partitions.month_start(start - timedelta(days=1))
    return start.replace(day=10, hour=12)


def _partition_of(run_id: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM runs_run WHERE id = %s", [run_id])
        return cursor.fetchone()[0]


def _record(automation, when, **fields) -> dict:
    return run_record(automation, createdAt=when.isoformat(), **fields)


@pytest.mark.django_db
def test_without_partitions_everything_is_a_no_op_and_the_command_says_so():
    if connection.vendor == "postgresql":
        assert partitions.partitioned() and partitions.months()
        out = StringIO()
        call_command("partitions", stdout=out)
        assert f"{partitions.month_of(partitions.month_start(timezone.now())).table}" in out.getvalue()
        assert "runs_run_default" in out.getvalue()
    else:
        assert not partitions.partitioned() and partitions.months() == []
        assert partitions.partitions_ensure() == []
        out = StringIO()
        call_command("partitions", stdout=out)
        assert "not partitioned" in out.getvalue()


@ON_POSTGRES
@pytest.mark.django_db
def test_the_months_ahead_exist_and_runs_of_a_month_without_partition_move_into_a_new_one():
    this = partitions.month_start(timezone.now())
    ahead = [partitions.month_of(this)]
    for _ in range(partitions.AHEAD):
        ahead.append(partitions.month_of(ahead[-1].end))
    assert {m.table for m in ahead} <= {m.table for m in partitions.months()}
    automation = make_automation()
    old = _record(automation, _months_back(7))
    runs_record_and_check([parse_run_record(old)])
    assert _partition_of(old["id"]) == partitions.DEFAULT

    created = partitions.partitions_ensure()

    month = partitions.month_of(partitions.month_start(_months_back(7)))
    assert [m.table for m in created] == [month.table]
    assert _partition_of(old["id"]) == month.table
    assert Run.objects.get(pk=old["id"]).created_at == _months_back(7)
    assert partitions.partitions_ensure() == []  # nothing left to do


@ON_POSTGRES
@pytest.mark.django_db
def test_the_conversion_keeps_every_run_and_what_points_at_it_both_ways(reviewer):
    automation = make_automation()
    records = [_record(automation, _months_back(n)) for n in (0, 1, 2, 2)]
    runs_record_and_check([parse_run_record(r) for r in records])
    review_update(run=Run.objects.get(pk=records[2]["id"]), changes={"rating": "fail"}, user=reviewer)
    with connection.cursor() as cursor:
        partitions.convert(cursor, to_partitioned=False)
        assert not partitions.partitioned()
        cursor.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'runs_run_pkey'")
        assert cursor.fetchone()[0] == "PRIMARY KEY (id)"
        partitions.convert(cursor, to_partitioned=True)
        cursor.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'runs_run_pkey'")
        assert cursor.fetchone()[0] == "PRIMARY KEY (id, created_at)"
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE tablename = 'runs_run'")
        assert cursor.fetchone()[0] == 10  # the key and the nine indexes of the model
    assert partitions.partitioned()
    assert _partition_of(records[3]["id"]) == partitions.month_of(partitions.month_start(_months_back(2))).table
    assert set(Run.objects.values_list("pk", flat=True)) == {r["id"] for r in records}
    assert Review.objects.get().run_id == records[2]["id"]
    assert Run.objects.filter(review__rating="fail").get().pk == records[2]["id"]


@PARALLEL_WRITERS[0]
@PARALLEL_WRITERS[1]
def test_competing_first_records_of_one_id_at_different_times_store_one_run():
    """Nothing in the partitioned table's key (id, created_at) stops a second row of one id with
    another creation time: run_ids_lock does. Without it this stores up to n runs of one id."""
    from tests.runs.test_counters import recounted, snapshot

    n = 6
    automation = make_automation()
    first = run_record(automation)
    records = [{**first, "createdAt": _months_back(i % 3).replace(hour=i).isoformat()} for i in range(n)]

    outcomes = race(n, lambda i: runs_record_and_check([parse_run_record(records[i])]))

    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    assert Run.objects.filter(pk=first["id"]).count() == 1
    assert sorted(len(o.value.created) for o in outcomes) == [0] * (n - 1) + [1]
    assert snapshot() == recounted()


@ON_POSTGRES
@pytest.mark.django_db
def test_retention_drops_the_whole_months_of_the_automation_and_deletes_the_rest_row_by_row(
        reviewer, django_capture_on_commit_callbacks):
    from tests.insights.test_version_rollup import recounted as versions_recounted
    from tests.insights.test_version_rollup import rollup as versions
    from tests.review.test_counters import recounted as tally_recounted
    from tests.review.test_counters import tally
    from tests.runs.test_counters import recounted, snapshot

    target = make_automation("workflows.target", rate_bp=5000)
    other = make_automation("agents.other")
    steps = [{"name": "extract", "type": "llm", "status": "completed"}]
    files = [{"name": "out/report.csv", "role": "output", "text": "a,b\n1,2\n"}]
    whole = [_record(target, _months_back(3) + timedelta(hours=i * 7), version=f"v{i % 2}", steps=steps, files=files)
             for i in range(6)]
    shared = [_record(target, _months_back(2) + timedelta(hours=i)) for i in range(3)]
    shared_other = [_record(other, _months_back(2))]
    kept = [_record(target, _months_back(n)) for n in (1, 0)]
    runs_record_and_check([parse_run_record(r) for r in whole + shared + shared_other + kept])
    partitions.partitions_ensure()  # the months of the runs recorded in the past (a nightly job)
    for record in whole[:4] + shared[:1] + kept[:1]:
        review_update(run=Run.objects.get(pk=record["id"]), changes={"rating": "fail", "status": "open"},
                      user=reviewer)
    stored = [f.file.name for f in RunFile.objects.filter(run_id__in=[r["id"] for r in whole])]
    assert len(stored) == 6 and all(default_storage.exists(name) for name in stored)
    month = partitions.month_of(partitions.month_start(_months_back(3)))
    older_than = (timezone.now() - partitions.month_start(_months_back(1))).days

    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("prune_runs", target.ref, "--older-than", str(older_than), stdout=out)

    assert "Whole months: deleted 6 runs and 6 stored files" in out.getvalue(), out.getvalue()
    assert month.table not in {m.table for m in partitions.months()}
    assert partitions.month_of(partitions.month_start(_months_back(2))).table in {m.table for m in partitions.months()}
    assert set(Run.objects.values_list("pk", flat=True)) == {r["id"] for r in shared_other + kept}
    gone = [r["id"] for r in whole + shared]
    for model in (RunStep, Review, AuditEvent, RunFile):
        assert not model.objects.filter(run_id__in=gone).exists(), model.__name__
    assert not any(default_storage.exists(name) for name in stored)
    assert Review.objects.filter(run_id=kept[0]["id"]).exists()
    assert (snapshot(), tally(), versions()) == (recounted(), tally_recounted(), versions_recounted())


@ON_POSTGRES
@pytest.mark.django_db
def test_the_seeders_give_the_months_of_their_history_partitions_first():
    from demo.load import load_demo

    load_demo(runs=60)
    call_command("seed_runs", "--runs", "200", "--days", "100", verbosity=0)
    assert Run.objects.count() >= 260
    assert Run.objects.order_by("created_at").first().created_at < partitions.month_start(_months_back(2))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {partitions.DEFAULT}")
        assert cursor.fetchone()[0] == 0  # every run is in its month's partition


@ON_POSTGRES
@PARALLEL_WRITERS[0]
@PARALLEL_WRITERS[1]
def test_a_review_saved_while_its_month_is_dropped_goes_with_it(reviewer):
    """A review save holds its run's lock while retention drops the run's month: retention waits
    for it, then deletes that review with the rest (it would outlive its run otherwise)."""
    from datasets.retention import runs_prune_months
    from tests.concurrency import in_thread, lock_held
    from tests.review.test_counters import recounted as tally_recounted
    from tests.review.test_counters import tally
    from tests.runs.test_counters import recounted, snapshot

    automation = make_automation("workflows.target")
    old, kept = _record(automation, _months_back(3)), _record(automation, _months_back(0))
    runs_record_and_check([parse_run_record(old), parse_run_record(kept)])
    partitions.partitions_ensure()

    with lock_held(lambda: Run.objects.select_for_update().get(pk=old["id"]),
                   lambda: review_update(run=Run.objects.get(pk=old["id"]), changes={"rating": "fail"},
                                         user=reviewer)) as held:
        thread, outcome = in_thread(lambda: runs_prune_months(
            automations=[automation], before=partitions.month_start(_months_back(1))))
        held.release()
        thread.join(60)

    assert outcome.ok, outcome.error
    assert outcome.value.runs == 1
    assert list(Run.objects.values_list("pk", flat=True)) == [kept["id"]]
    assert not Review.objects.filter(run_id=old["id"]).exists()
    assert (snapshot(), tally()) == (recounted(), tally_recounted())
