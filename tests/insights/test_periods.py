"""Partial days by the hour (insights.periods.edge_counts): the whole UTC hours of a partial day
come from the hourly rollup (runs.VersionHourCount), only the parts of an hour from the runs, and
the estimates built on them equal counting every sampled run."""

from datetime import timedelta

import pytest
from django.utils import timezone

from datasets.loop import runs_record_and_check
from insights.periods import edge_counts, whole_hours
from insights.stats import _estimate, _stratum_counts, pass_rate_estimates, rate_periods
from insights.strata_counts import cell_counts
from review.services import review_update
from runs.counters import run_hour
from runs.models import Run, rate_schedules
from runs.policy import sampling_policy_set, sampling_rate_set
from runs.records import parse_run_record
from tests.factories import make_automation, make_run, run_record

pytestmark = pytest.mark.django_db

# What each sampled run's review becomes, in turn: passed, failed, partial (a miss), closed
# without a verdict (a miss), a note alone (a "nit": not reviewed yet), no review.
REVIEWS = [{"rating": "pass"}, {"rating": "fail"}, {"rating": "partial"}, {"status": "resolved"},
           {"note": "nit"}, None]


def _times(start, now):
    """Creation times on both sides of every edge: the window's first part-hour and its first
    whole hours, the day a rate change splits (inside and around the split hour), whole days,
    today's whole hours and the current hour."""
    change = start + timedelta(days=1, hours=5, minutes=17)
    offsets = [timedelta(minutes=m) for m in (3, 20, 75, 130, 300)]
    times = [start + o for o in offsets]
    times += [change + timedelta(minutes=m) for m in (-50, -10, -2, 1, 9, 44, 70, 200)]
    times += [start + timedelta(days=2, hours=h) for h in (1, 7, 13)]
    times += [now - timedelta(minutes=m) for m in (1, 2, 65, 130)]
    return change, [t for t in times if start <= t < now]


def _review(runs, reviewer):
    for index, run in enumerate(runs):
        changes = REVIEWS[index % len(REVIEWS)]
        if changes:
            review_update(run=run, changes=changes, user=reviewer)


def test_estimates_by_the_hour_equal_counting_the_runs(reviewer):
    automation = make_automation("workflows.hours", rate_bp=10_000)
    now = timezone.now()
    start = now - timedelta(days=3, minutes=37)  # a window that starts inside an hour
    change, times = _times(start, now)
    sampling_rate_set(automation=automation, rate_bp=5000, user=reviewer, reason="down", now=change)
    _review([make_run(automation, createdAt=t.isoformat()) for t in times], reviewer)
    fast = pass_rate_estimates([automation], start=start, end=now)[automation.pk]
    _, counts = _stratum_counts([automation], start=start, end=now, version=None, by_version=False)
    scanned = _estimate(counts[(automation.pk,)])
    assert fast.sampled > 10 and fast.reviewed > 5
    assert (fast.sampled, fast.reviewed, fast.estimate) == (scanned.sampled, scanned.reviewed, scanned.estimate)


def test_strata_cells_by_the_hour_equal_counting_the_runs(ops, reviewer):
    automation = make_automation("workflows.hour-cells", rate_bp=4000)
    now = timezone.now()
    start = now - timedelta(days=3, minutes=37)
    # Strata from before the window on (runs take the policy in effect when they were created).
    sampling_policy_set(automation=automation, user=ops, reason="risk", default_bp=4000, now=start - timedelta(hours=1),
                        strata=[{"name": "vip", "when": {"kind": "tag", "tag": "vip"}, "rate": 100}])
    _, times = _times(start, now)
    records = [parse_run_record(run_record(automation, createdAt=t.isoformat(),
                                           metadata={"tags": ["vip"] if i % 2 else []}))
               for i, t in enumerate(times * 3)]
    runs_record_and_check(records)
    _review(Run.objects.filter(automation=automation, sampled=True).order_by("pk"), reviewer)
    periods = rate_periods(rate_schedules([automation])[automation.pk], start, now)
    from_rollups = {cell: n for cell, n in cell_counts({automation.pk: periods})[automation.pk].items() if any(n)}
    _, scanned = _stratum_counts([automation], start=start, end=now, version=None, by_version=False)
    assert len(from_rollups) == 2 and from_rollups == scanned[(automation.pk,)]


def test_whole_hours_come_from_the_rollup_and_only_the_rest_from_the_runs(reviewer):
    """Runs deleted behind the counters' back still count in the whole hours (the rollup answers
    them) and no longer count in the part of an hour (the runs answer it)."""
    automation = make_automation("workflows.hour-edges", rate_bp=10_000)
    hour = run_hour(timezone.now()) - timedelta(hours=5)
    low, high = hour - timedelta(minutes=10), hour + timedelta(hours=2)
    assert whole_hours(low, high) == ((hour, high), [(low, hour)])
    in_part = [make_run(automation, createdAt=(low + timedelta(minutes=m)).isoformat()) for m in (1, 4)]
    in_hours = [make_run(automation, createdAt=(hour + timedelta(minutes=m)).isoformat()) for m in (5, 61, 119)]
    review_update(run=in_part[0], changes={"rating": "pass"}, user=reviewer)
    review_update(run=in_hours[0], changes={"rating": "fail"}, user=reviewer)
    partial = [(automation.pk, 0, low, high)]

    def totals():
        sums = [0, 0, 0]
        for _, *values in edge_counts(partial):
            sums = [a + b for a, b in zip(sums, values, strict=True)]
        return tuple(sums)

    assert totals() == (5, 2, 1)
    Run.objects.filter(pk__in=[in_hours[1].pk, in_part[1].pk]).delete()
    assert totals() == (4, 2, 1)  # the run of the whole hours still counts; the other is gone
