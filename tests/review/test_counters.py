"""The review rollups stay equal to a recount from the reviews (and the audit trail) through
every kind of review write, re-recorded runs that move, and retention: ReviewDayCount (the health
endpoint), ReviewTally (backlog and sampling pages) and ReviewerDayCount (throughput)."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from datasets.loop import runs_record_and_check
from datasets.retention import runs_prune
from datasets.services import example_promote
from review.counters import review_counts_recount, review_day_counts_recount, reviewer_counts_recount
from review.models import ReviewDayCount, ReviewerDayCount, ReviewTally
from review.services import expected_file_upload, review_clear, review_set_status, review_update, review_verdict
from runs.models import Automation, Run
from runs.records import parse_run_record
from tests.factories import make_automation, make_runs, run_record

pytestmark = pytest.mark.django_db



def rollup(automation) -> dict:
    return {(r.day, r.sampled, r.verdict): r.count
            for r in ReviewDayCount.objects.filter(automation=automation) if r.count}


def test_the_rollup_follows_every_write_and_equals_a_recount(automation, reviewer):
    a, b, c, d = make_runs(4, automation)
    review_update(run=a, changes={"rating": "pass", "status": "resolved"}, user=reviewer)
    review_update(run=b, changes={"rating": "partial", "status": "open"}, user=reviewer)
    review_update(run=b, changes={"rating": "fail"}, user=reviewer)
    review_update(run=c, changes={"body": "just a note"}, user=reviewer)
    expected_file_upload(run=d, upload=SimpleUploadedFile("x.csv", b"x"), name=None, user=reviewer)
    review_update(run=d, changes={"rating": "pass"}, user=reviewer)
    review_clear(run=a, user=reviewer)
    kept = rollup(automation)
    assert sorted(kept.values()) == [1, 1, 1]  # b incorrect, c nit, d correct
    review_day_counts_recount(automation=automation)
    assert rollup(automation) == kept


def test_promoting_an_unreviewed_run_counts_its_new_review(automation, reviewer):
    (run,) = make_runs(1, automation)
    example_promote(run=run, name="ex-1", user=reviewer)
    assert list(ReviewDayCount.objects.values_list("verdict", "count")) == [("nit", 1)]


def tally() -> dict:
    return {(r.automation_id, r.day, r.sampled, r.kind, r.path): r.count for r in ReviewTally.objects.all() if r.count}


def throughput() -> dict:
    return {(r.automation_id, r.user_id, r.day): r.count for r in ReviewerDayCount.objects.all() if r.count}


def verdicts() -> dict:
    return {(r.automation_id, r.day, r.sampled, r.verdict): r.count for r in ReviewDayCount.objects.all() if r.count}


def recounted() -> dict:
    """Rebuild every review rollup; the throughput and verdict rollups must come back unchanged,
    the tally is returned for the caller to compare."""
    kept_throughput, kept_verdicts = throughput(), verdicts()
    for automation in Automation.objects.all():
        review_counts_recount(automation=automation)
        reviewer_counts_recount(automation=automation)
        review_day_counts_recount(automation=automation)
    assert (throughput(), verdicts()) == (kept_throughput, kept_verdicts)
    return tally()


def ago(days: int) -> str:
    return (timezone.now() - timedelta(days=days, hours=2)).isoformat()


def test_verdicts_status_changes_clears_moves_and_pruning_keep_the_rollup_equal_to_a_recount(reviewer, lead):
    half = make_automation("workflows.half", rate_bp=5000)
    other = make_automation("agents.other")
    records = [run_record(half if i % 2 else other, createdAt=ago(i % 5)) for i in range(24)]
    runs_record_and_check([parse_run_record(r) for r in records])
    runs = {r["id"]: Run.objects.get(pk=r["id"]) for r in records}
    ids = list(runs)
    for i, run_id in enumerate(ids[:18]):
        review_verdict(run=runs[run_id], verdict=("pass", "fail", "partial")[i % 3], user=reviewer)
    review_verdict(run=runs[ids[0]], verdict="fail", user=reviewer)  # judged twice today: counts once
    review_verdict(run=runs[ids[0]], verdict="pass", user=lead)
    assert sum(throughput().values()) == 19
    for run_id in ids[:6]:
        review_set_status(run=runs[run_id], action="resolve", user=reviewer)
    review_set_status(run=runs[ids[1]], action="reopen", user=reviewer)
    review_update(run=runs[ids[2]], changes={"rating": None}, user=reviewer)
    for run_id in ids[4:9]:  # corrections, one corrected twice
        output = runs[run_id].output
        review_update(run=runs[run_id], changes={"expected": {**output, "total": 1.0}}, user=reviewer)
    review_update(run=runs[ids[4]], changes={"expected": {**runs[ids[4]].output, "currency": "USD"}}, user=reviewer)
    review_update(run=runs[ids[5]], changes={"expected": None}, user=reviewer)
    expected_file_upload(run=runs[ids[6]], upload=SimpleUploadedFile("fixed.csv", b"a\n"), name=None, user=reviewer)
    review_clear(run=runs[ids[3]], user=reviewer)
    review_clear(run=runs[ids[7]], user=reviewer)
    kinds = {k[3] for k in tally()}
    assert {"rated", "passed", "resolved", "corrected", "path"} <= kinds
    assert tally() == recounted()

    # Re-recorded reviewed runs move to another automation and day (and so maybe sampling).
    moved = [{**r, "automation": half.ref if r["automation"] == other.ref else other.ref, "createdAt": ago(12)}
             for r in records[:10]]
    runs_record_and_check([parse_run_record(r) for r in moved])
    assert tally() == recounted()

    runs_prune(automation=other, before=timezone.now() - timedelta(days=10))
    runs_prune(automation=half, before=timezone.now() - timedelta(days=3))
    assert Run.objects.count() < 24 and tally() == recounted()


def test_verdicts_count_as_rated_passed_and_resolved_and_recount_rebuilds_them(reviewer):
    automation = make_automation(rate_bp=10_000)
    records = [run_record(automation) for _ in range(4)]
    runs_record_and_check([parse_run_record(r) for r in records])
    for record, verdict in zip(records, ("pass", "pass", "fail", "partial"), strict=True):
        review_verdict(run=Run.objects.get(pk=record["id"]), verdict=verdict, user=reviewer)
    kinds = {k[3]: v for k, v in tally().items()}
    assert kinds == {"rated": 4, "passed": 2, "resolved": 2}
    ReviewTally.objects.all().delete()  # a repair rebuilds it
    call_command("recount", verbosity=0, stdout=open("/dev/null", "w"))
    assert {k[3]: v for k, v in tally().items()} == kinds


def test_a_rate_change_moves_the_review_rollups_of_the_runs_it_resamples(reviewer, ops):
    """Issue 21 (a): runs stamped in the future are re-sampled by a rate change (docs/rules.md);
    their reviews' rollups (ReviewTally, ReviewDayCount) move with them in the same transaction,
    so the estimate no longer counts reviews of runs that are not sampled any more."""
    from runs.policy import sampling_rate_set

    automation = make_automation("workflows.skewed", rate_bp=1500)
    future = (timezone.now() + timedelta(hours=3)).isoformat()
    runs_record_and_check([parse_run_record(run_record(automation, createdAt=future)) for _ in range(400)])
    sampled = list(Run.objects.filter(automation=automation, sampled=True))
    assert 30 < len(sampled) < 90
    for run in sampled:
        review_verdict(run=run, verdict="pass", user=reviewer)
    sampling_rate_set(automation=automation, rate_bp=500, user=ops, reason="step down")
    still = Run.objects.filter(automation=automation, sampled=True).count()
    assert still < len(sampled)
    rated = {sampled: n for (_, _, sampled, kind, _), n in tally().items() if kind == "rated"}
    assert rated == {True: still, False: len(sampled) - still}
    assert tally() == recounted()
