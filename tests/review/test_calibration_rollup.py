"""The calibration and stratum rollups (review.calibration, humanreview.calibration,
runs.models.StratumDayCount) kept by deltas equal what `recount` rebuilds, after a sequence of
recordings, saves, changed and cleared corrections, a re-recorded run, an approved human review
task, a re-sampling and a prune; and the calibration read counts what people changed."""

import copy
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from datasets.loop import runs_record_and_check
from datasets.retention import runs_prune
from humanreview.models import Task
from humanreview.services import task_approve, task_confirm_field
from insights.calibration import calibration
from review.models import ReviewTally
from review.services import review_clear, review_save, review_verdict
from runs.models import Run, StratumDayCount
from runs.policy import sampling_policy_set
from runs.records import parse_run_record
from tests.factories import INVOICE_OUTPUT, make_automation, paused_record, run_record

pytestmark = pytest.mark.django_db

UNSURE = [{"name": "unsure", "when": {"kind": "low_confidence", "level": "low"}, "rate": 100}]


def _state(automation) -> tuple:
    tallies = sorted(ReviewTally.objects.filter(automation=automation, count__gt=0)
                     .values_list("day", "sampled", "kind", "path", "count"))
    strata = sorted(StratumDayCount.objects.filter(automation=automation, count__gt=0)
                    .values_list("day", "sampled", "stratum", "inclusion_bp", "count"))
    return tallies, strata


def _record(automation, confidence, **fields):
    record = parse_run_record(run_record(automation, fieldMetadata=confidence, **fields))
    runs_record_and_check([record])
    return Run.objects.get(pk=record.id)


def _corrected(**changes):
    expected = copy.deepcopy(INVOICE_OUTPUT)
    expected.update(changes)
    return expected


def test_deltas_equal_recount_after_saves_changes_and_clears(reviewer, ops):
    automation = make_automation("workflows.calib", rate_bp=5000)
    sampling_policy_set(automation=automation, user=ops, reason="risk", strata=UNSURE)
    low = {"/total": "low", "/currency": "high", "/line_items/0/amount": 0.93, "/line_items/1/amount": 0.35}
    high = {"/total": "high", "/currency": "high"}
    now = timezone.now()
    runs = [_record(automation, low if i % 3 == 0 else high, createdAt=(now + timedelta(minutes=i)).isoformat())
            for i in range(12)]
    assert any(r.stratum == "unsure" for r in runs) and StratumDayCount.objects.filter(automation=automation).exists()
    # Saves: verdicts, corrections that change /total, a change of the correction, a cleared one.
    for run in runs[:8]:
        review_verdict(run=run, verdict="pass", user=reviewer)
    review_save(run=runs[0], user=reviewer, verdict="fail", expected=_corrected(total=999.0))
    review_save(run=runs[1], user=reviewer, verdict="fail", expected=_corrected(total=1.0, currency="USD"))
    review_save(run=runs[1], user=reviewer, expected=_corrected(currency="USD"))  # /total restored
    review_save(run=runs[2], user=reviewer, verdict="partial", expected=_corrected(total=7.0))
    review_clear(run=runs[2], user=reviewer)
    review_save(run=runs[3], user=reviewer, expected=_corrected(total=2.0))  # corrected while passed
    review_save(run=runs[9], user=reviewer, note="a nit, not reviewed")  # counts nowhere
    # A run recorded again with other confidences moves its marks; a repeat keeps its review.
    again = parse_run_record(run_record(automation, id=runs[0].pk, createdAt=runs[0].created_at.isoformat(),
                                        fieldMetadata={"/total": "medium"}))
    runs_record_and_check([again])
    # A human review task decided with one field edited.
    paused = parse_run_record(paused_record(automation))
    runs_record_and_check([paused])
    task = Task.objects.get(run_id=paused.id)
    task_confirm_field(task_id=task.pk, user=reviewer, path="/total", value=1, expected_version=1)
    task_confirm_field(task_id=task.pk, user=reviewer, path="/vendor/iban", value="DE89370400440532013000",
                       expected_version=2)
    task_approve(task_id=task.pk, user=reviewer, expected_version=3)
    kept = _state(automation)
    kinds = {row[2] for row in kept[0]}
    assert {"calrev", "calchg", "taskrev", "taskchg", "srated", "spassed"} <= kinds
    call_command("recount", automation.ref)
    assert _state(automation) == kept
    # Re-sampling (a stratum change) and a prune keep them exact too.
    sampling_policy_set(automation=automation, user=ops, reason="all", strata=[])
    sampling_policy_set(automation=automation, user=ops, reason="back", strata=UNSURE)
    kept = _state(automation)
    call_command("recount", automation.ref)
    assert _state(automation) == kept
    runs_prune(automation=automation, before=now + timedelta(minutes=5))
    kept = _state(automation)
    call_command("recount", automation.ref)
    assert _state(automation) == kept


def test_calibration_counts_what_reviewers_and_tasks_changed(reviewer):
    automation = make_automation("workflows.calib2")
    runs = [_record(automation, {"/total": "high", "/currency": "low"}) for _ in range(4)]
    runs += [_record(automation, {"/total": "low", "/currency": 0.95}) for _ in range(4)]
    for run in runs:
        review_verdict(run=run, verdict="pass", user=reviewer)
    for run in runs[:3]:  # three of the four "high" totals were wrong
        review_save(run=run, user=reviewer, verdict="fail", expected=_corrected(total=1.0))
    review_save(run=runs[4], user=reviewer, verdict="fail", expected=_corrected(currency="USD"))
    fields = {f.path: f for f in calibration(automation.pk)}
    total = {row.level: (row.reviewed, row.changed) for row in fields["/total"].levels}
    assert total == {"low": (4, 0), "high": (4, 3)}
    currency = {row.level: (row.reviewed, row.changed) for row in fields["/currency"].levels}
    assert currency == {"low": (4, 0), "0.9": (4, 1)}
    assert [row.level for row in fields["/total"].levels] == ["low", "high"]
    flag = fields["/total"].flag
    assert flag is not None and flag.high.level == "high" and 0.01 < flag.p_value < 0.2  # 3/4 vs 0/4
    assert fields["/total"].suggestion["review"] is None  # fewer than 30 checks at "high"
    # Unsampled runs' reviews do not count (the sample stands for the traffic).
    Run.objects.filter(automation=automation).update(sampled=False)
    call_command("recount", automation.ref)
    assert calibration(automation.pk) == []
