"""The calibration and stratum rollups under parallel writers on PostgreSQL
(docs/rules.md#concurrent-writes): reviewers correcting runs with a confidence while ingest records
runs a stratum takes and another reviewer saves the same run, all at once; every writer succeeds
or is told its version is stale, no database error, and the rollups equal a recount after."""

import copy
from datetime import timedelta

from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone

from datasets.loop import runs_record_and_check
from review.models import ReviewTally
from review.services import StaleReview, review_save
from runs.models import Run, StratumDayCount
from runs.policy import sampling_policy_set
from runs.records import parse_run_record
from tests.concurrency import PARALLEL_WRITERS, race
from tests.factories import INVOICE_OUTPUT, make_automation, run_record

pytestmark = PARALLEL_WRITERS
WRITERS = 6


def _state(automation):
    return (sorted(ReviewTally.objects.filter(automation=automation, count__gt=0)
                   .values_list("day", "sampled", "kind", "path", "count")),
            sorted(StratumDayCount.objects.filter(automation=automation, count__gt=0)
                   .values_list("day", "sampled", "stratum", "inclusion_bp", "count")))


def test_parallel_corrections_and_ingest_keep_the_rollups_exact():
    users = [User.objects.create_user(f"cal{i}") for i in range(WRITERS)]
    automation = make_automation("workflows.calrace", rate_bp=10_000)
    sampling_policy_set(automation=automation, user=users[0], reason="risk",
                        strata=[{"name": "unsure", "when": {"kind": "low_confidence", "level": "low"}, "rate": 100}])
    later = timezone.now() + timedelta(minutes=1)
    records = [parse_run_record(run_record(automation, fieldMetadata={"/total": "low", "/currency": "high"},
                                           createdAt=(later + timedelta(seconds=i)).isoformat())) for i in range(4)]
    runs_record_and_check(records)
    runs = list(Run.objects.filter(automation=automation).order_by("pk"))

    def writer(i: int):
        if i >= 4:  # ingest: new runs a stratum takes
            batch = [parse_run_record(run_record(automation, fieldMetadata={"/total": "low"},
                                                 createdAt=(later + timedelta(seconds=10 + i)).isoformat()))
                     for _ in range(5)]
            return runs_record_and_check(batch)
        expected = copy.deepcopy(INVOICE_OUTPUT)
        expected["total"] = 1000 + i
        # Two reviewers on each of the first two runs, with the version they saw: one wins.
        return review_save(run=runs[i % 2], user=users[i], verdict="fail", expected=expected, base_version=0)

    outcomes = race(WRITERS, writer)
    errors = [o.error for o in outcomes if not o.ok]
    assert all(isinstance(e, StaleReview) for e in errors) and len(errors) == 2
    kept = _state(automation)
    assert any(kind == "calchg" for _, _, kind, _, _ in kept[0])
    call_command("recount", automation.ref)
    assert _state(automation) == kept
