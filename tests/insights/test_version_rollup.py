"""The per-version rollup (runs.models.VersionHourCount) behind the backlog page's per-version
estimates: kept by deltas through recording, every review write, re-recorded runs that change
version or day, a rate change that re-samples runs and retention, and equal to `recount`
afterwards; the estimates read from it equal the ones counted from the runs."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from datasets.loop import runs_record_and_check
from datasets.retention import runs_prune
from insights.queries import window_bounds
from insights.stats import _estimate, _stratum_counts
from insights.versions import version_estimates
from review.services import expected_file_upload, review_clear, review_set_status, review_update, review_verdict
from runs.models import Run, VersionHourCount
from runs.policy import sampling_rate_set
from runs.records import parse_run_record
from tests.factories import make_automation, run_record

pytestmark = pytest.mark.django_db


def rollup() -> dict:
    return {(r.automation_id, r.hour, r.version, r.stratum, r.inclusion_bp, r.kind): r.count
            for r in VersionHourCount.objects.all() if r.count}


def recounted() -> dict:
    call_command("recount", verbosity=0, stdout=open("/dev/null", "w"))
    return rollup()


def ago(days: int, hours: int = 2) -> str:
    return (timezone.now() - timedelta(days=days, hours=hours)).isoformat()


def record(records: list[dict]) -> dict[str, Run]:
    runs_record_and_check([parse_run_record(r) for r in records])
    return {r.pk: r for r in Run.objects.filter(pk__in=[r["id"] for r in records])}


def scanned(automation) -> list:
    """The estimates per version counted from the sampled runs (the page's former query)."""
    start, end = window_bounds(timezone.localdate())
    _, counts = _stratum_counts([automation], start=start, end=end, version=None, by_version=True)
    versions = sorted((key[1] for key in counts), key=lambda v: (v is None, v or ""))
    return [(v, _estimate(counts[(automation.pk, v)])) for v in versions]


def from_rollup(automation) -> list:
    start, end = window_bounds(timezone.localdate())
    return version_estimates(automation, start=start, end=end)


def test_deltas_equal_a_recount_after_a_mixed_sequence(reviewer, ops):
    half = make_automation("workflows.half", rate_bp=5000)
    other = make_automation("agents.other", rate_bp=10_000)
    records = [run_record(half if i % 2 else other, createdAt=ago(i % 6), version=f"v{i % 3}" if i % 4 else None)
               for i in range(60)]
    runs = record(records)
    sampled = [r for r in runs.values() if r.sampled]
    assert {k[5] for k in rollup()} == {"sampled"} and sum(rollup().values()) == len(sampled)
    for i, run in enumerate(sampled[:24]):
        review_verdict(run=run, verdict=("pass", "fail", "partial")[i % 3], user=reviewer)
    for run in sampled[:6]:
        review_set_status(run=run, action="resolve", user=reviewer)
    review_update(run=sampled[1], changes={"rating": None}, user=reviewer)  # closed without a rating: rated
    review_update(run=sampled[2], changes={"rating": None, "status": None}, user=reviewer)  # not reviewed
    review_update(run=sampled[24], changes={"body": "a nit"}, user=reviewer)
    expected_file_upload(run=sampled[7], upload=SimpleUploadedFile("fixed.csv", b"a\n"), name=None, user=reviewer)
    review_clear(run=sampled[3], user=reviewer)
    kinds = {k[5] for k in rollup()}
    assert kinds == {"sampled", "rated", "passed"}
    assert rollup() == recounted()

    # Re-recorded reviewed runs change version, day and automation (so maybe sampling).
    moved = [{**r, "version": "v9", "createdAt": ago(8),
              "automation": half.ref if r["automation"] == other.ref else other.ref} for r in records[:20]]
    record(moved)
    assert rollup() == recounted()

    # A rate change re-samples runs stamped in the future, reviewed ones among them.
    future = record([run_record(half, createdAt=(timezone.now() + timedelta(hours=3)).isoformat(), version="v2")
                     for _ in range(40)])
    for run in [r for r in future.values() if r.sampled][:10]:
        review_verdict(run=run, verdict="pass", user=reviewer)
    before = rollup()
    sampling_rate_set(automation=half, rate_bp=1000, user=ops, reason="step down")
    assert rollup() != before and rollup() == recounted()

    runs_prune(automation=other, before=timezone.now() - timedelta(days=7))
    runs_prune(automation=half, before=timezone.now() - timedelta(days=3))
    assert Run.objects.count() < 100 and rollup() == recounted()


def test_estimates_from_the_rollup_equal_the_ones_counted_from_the_runs(reviewer, ops):
    automation = make_automation("workflows.versions", rate_bp=5000)
    runs = record([run_record(automation, createdAt=ago(i % 9, hours=i % 20), version=("v1", "v2", None)[i % 3])
                   for i in range(150)])
    for i, run in enumerate(r for r in runs.values() if r.sampled):
        if i % 4:
            review_verdict(run=run, verdict=("pass", "pass", "fail")[i % 3], user=reviewer)
    result = from_rollup(automation)
    assert [v for v, _ in result] == ["v1", "v2", None]
    assert result == scanned(automation)
    # A rate change splits an hour: its runs before and after are read from the runs, the rest
    # of the window from the rollup.
    sampling_rate_set(automation=automation, rate_bp=2500, user=ops, reason="step down")
    record([run_record(automation, createdAt=timezone.now().isoformat(), version="v2") for _ in range(30)])
    assert from_rollup(automation) == scanned(automation)


def test_a_month_of_history_costs_two_queries(reviewer, django_assert_num_queries):
    automation = make_automation("workflows.steady", rate_bp=5000)
    # The automation's rate was set at creation, today: move its one change out of the window,
    # so no hour is split and only the rollup is read.
    automation.rate_changes.update(effective_at=timezone.now() - timedelta(days=90))
    record([run_record(automation, createdAt=ago(i % 28), version=f"v{i % 5}") for i in range(200)])
    with django_assert_num_queries(2):
        result = from_rollup(automation)
    assert len(result) == 5 and result == scanned(automation)
