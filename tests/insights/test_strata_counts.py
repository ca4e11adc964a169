"""The strata's cells read from the rollups (insights.strata_counts) equal counting the sampled
runs themselves (insights.stats._stratum_counts), across rate changes inside a day, and the
strata's traffic equals grouping the runs."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from datasets.loop import runs_record_and_check
from insights.queries import window_bounds
from insights.stats import _stratum_counts, rate_periods, sampling_stats
from insights.strata_counts import cell_counts
from review.services import review_update
from runs.models import Run, rate_schedules
from runs.policy import sampling_policy_set
from runs.records import parse_run_record
from tests.factories import make_automation, run_record

pytestmark = pytest.mark.django_db


def _record(automation, when, i):
    confidence = {"/total": "low" if i % 3 == 0 else "high"}
    tags = ["vip"] if i % 7 == 0 else []
    return parse_run_record(run_record(automation, createdAt=when.isoformat(), fieldMetadata=confidence,
                                       metadata={"tags": tags}))


def test_cells_from_the_rollups_equal_counting_the_runs(ops, reviewer):
    automation = make_automation("workflows.cells", rate_bp=3000)
    now = timezone.now()
    first = now.replace(hour=0, minute=30) if now.hour >= 1 else now - timedelta(minutes=30)
    before = [_record(automation, first + timedelta(seconds=i), i) for i in range(30)]
    runs_record_and_check(before)  # before any stratum: the default rate
    sampling_policy_set(automation=automation, user=ops, reason="risk", default_bp=2000, strata=[
        {"name": "vip", "when": {"kind": "tag", "tag": "vip"}, "rate": 100},
        {"name": "unsure", "when": {"kind": "low_confidence", "level": "low"}, "rate": 60}])
    change = timezone.now() + timedelta(minutes=30)
    sampling_policy_set(automation=automation, user=ops, reason="more", default_bp=5000, effective_at=change,
                        strata=[{"name": "unsure", "when": {"kind": "low_confidence", "level": "low"}, "rate": 80}])
    later = [_record(automation, timezone.now() + timedelta(minutes=1 + i), i) for i in range(90)]
    runs_record_and_check(later)
    for i, run in enumerate(Run.objects.filter(automation=automation, sampled=True).order_by("pk")):
        if i % 4:
            review_update(run=run, changes={"rating": "pass" if i % 3 else "fail"}, user=reviewer)
    assert len(set(Run.objects.filter(automation=automation).values_list("stratum", "inclusion_bp"))) >= 4
    start, end = window_bounds(timezone.localdate(), 30)
    periods = rate_periods(rate_schedules([automation])[automation.pk], start, end)
    assert len(periods) >= 3
    from_rollups = {cell: counts for cell, counts in cell_counts({automation.pk: periods})[automation.pk].items()
                    if any(counts)}
    _, scanned = _stratum_counts([automation], start=start, end=end, version=None, by_version=False)
    assert from_rollups == scanned[(automation.pk,)]
    automation.refresh_from_db()
    stats = sampling_stats([automation])[automation.pk]
    # The page's traffic is by whole days up to today; late in the day the later runs (up to 90
    # minutes ahead) fall on tomorrow and are not in it.
    traffic = Counter(Run.objects.filter(automation=automation, created_at__date__lte=timezone.localdate())
                      .values_list("stratum", flat=True))
    # A stratum no longer in the list ("vip") is not a row; the default row is the runs no stratum took.
    assert {row.name: row.runs_recent for row in stats.strata} == {"unsure": traffic["unsure"], "": traffic[""]}
