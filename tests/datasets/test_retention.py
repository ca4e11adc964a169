"""prune_runs: old runs of one automation go with their files; counts stay equal to a recount."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from datasets.loop import runs_record_and_check
from review.models import AuditEvent, ExpectedFile, Review
from review.services import expected_file_upload, review_update
from runs.models import Run, RunFile
from runs.records import parse_run_record
from tests.factories import make_automation, run_record
from tests.runs.test_counters import recounted, snapshot

pytestmark = pytest.mark.django_db


def _record(automation, days: int, **fields):
    created = (timezone.now() - timedelta(days=days, hours=1)).isoformat()
    return run_record(automation, createdAt=created,
                      files=[{"name": "out/report.csv", "role": "output", "text": f"a,b\n{days},1\n"}], **fields)


def test_prune_deletes_old_runs_with_their_files_and_keeps_counts_exact(reviewer, django_capture_on_commit_callbacks):
    target = make_automation("workflows.target", rate_bp=5000)
    other = make_automation("agents.other")
    old = [_record(target, 40 + i) for i in range(6)]
    recent = [_record(target, i) for i in range(4)]
    elsewhere = [_record(other, 50)]
    runs_record_and_check([parse_run_record(r) for r in old + recent + elsewhere])
    old_run = Run.objects.get(pk=old[0]["id"])
    review_update(run=old_run, changes={"rating": "fail", "status": "open"}, user=reviewer)
    expected_file_upload(run=old_run, upload=SimpleUploadedFile("fixed.csv", b"a,b\n"), name=None, user=reviewer)
    review_update(run=Run.objects.get(pk=recent[0]["id"]), changes={"rating": "pass"}, user=reviewer)
    old_files = [f.file.name for f in RunFile.objects.filter(run_id__in=[r["id"] for r in old])]
    old_files += [f.file.name for f in ExpectedFile.objects.all()]
    assert len(old_files) == 7 and all(default_storage.exists(n) for n in old_files)

    with django_capture_on_commit_callbacks(execute=True):
        call_command("prune_runs", target.ref, "--older-than", "30", "--batch", "4", verbosity=0)

    assert set(Run.objects.values_list("pk", flat=True)) == {r["id"] for r in recent + elsewhere}
    assert not any(default_storage.exists(n) for n in old_files)
    assert RunFile.objects.count() == 5 and Review.objects.count() == 1
    assert not AuditEvent.objects.filter(run_id=old_run.pk).exists()
    assert all(default_storage.exists(f.file.name) for f in RunFile.objects.all())
    assert snapshot() == recounted()


def test_files_stay_when_the_transaction_does_not_commit(django_capture_on_commit_callbacks):
    automation = make_automation()
    record = _record(automation, 90)
    runs_record_and_check([parse_run_record(record)])
    name = RunFile.objects.get().file.name
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        call_command("prune_runs", automation.ref, "--older-than", "30", verbosity=0)
    assert len(callbacks) == 1 and default_storage.exists(name)  # deleted only by the commit callback


def test_an_unknown_automation_or_a_bad_age_is_refused():
    with pytest.raises(CommandError, match="No automation"):
        call_command("prune_runs", "workflows.nope", "--older-than", "3")
    make_automation()
    with pytest.raises(CommandError, match="at least 1"):
        call_command("prune_runs", "workflows.extract-invoice", "--older-than", "0")


def test_a_month_goes_with_every_row_that_hangs_off_its_runs_and_every_rollup_stays_exact(reviewer, lead):
    """Set-based retention (datasets/retention.py): steps, scores, reviews with corrections and
    expected files, audit events, human review tasks and claims go with their runs; a promoted
    example stays, unlinked; chip and day counts, the review rollups and the per-version rollup
    equal a recount afterwards. Runs on PostgreSQL in the suite's second pass."""
    from datasets.models import Example
    from datasets.services import example_promote
    from humanreview.models import Task as HumanReviewTask
    from review.claims import claim_take
    from review.models import Claim, Correction
    from runs.models import EvaluatorScore, RunStep
    from tests.factories import paused_record
    from tests.insights.test_version_rollup import recounted as versions_recounted
    from tests.insights.test_version_rollup import rollup as versions
    from tests.review.test_counters import recounted as tally_recounted
    from tests.review.test_counters import tally

    target = make_automation("workflows.target", rate_bp=5000)
    steps = [{"name": "extract", "type": "llm", "status": "completed"}]
    records = [_record(target, 35 + i % 20, version=f"v{i % 3}", steps=steps,
                       scores=[{"name": "judge", "passed": i % 2 == 0}]) for i in range(40)]
    recent = [_record(target, i % 20, steps=steps) for i in range(20)]
    paused = [{**paused_record(target), "createdAt": (timezone.now() - timedelta(days=40)).isoformat()}]
    runs_record_and_check([parse_run_record(r) for r in records + recent + paused])
    runs = list(Run.objects.filter(automation=target).order_by("pk"))
    for i, run in enumerate(runs[:30]):
        review_update(run=run, changes={"rating": ("pass", "fail")[i % 2], "status": "open"}, user=reviewer)
    corrected = Run.objects.get(pk=records[1]["id"])
    review_update(run=corrected, changes={"expected": {**corrected.output, "total": 1.0}}, user=reviewer)
    expected_file_upload(run=corrected, upload=SimpleUploadedFile("fixed.csv", b"a\n"), name=None, user=reviewer)
    example = example_promote(run=corrected, name="kept-example", user=lead)
    claim_take(run_id=records[2]["id"], user=reviewer)
    old_ids = [r["id"] for r in records + paused]
    assert Correction.objects.filter(review__run_id__in=old_ids).exists()
    assert HumanReviewTask.objects.filter(run_id__in=old_ids).exists()

    call_command("prune_runs", target.ref, "--older-than", "30", "--batch", "7", verbosity=0)

    assert set(Run.objects.values_list("pk", flat=True)) == {r["id"] for r in recent}
    for model, column in ((RunStep, "run_id"), (EvaluatorScore, "run_id"), (Review, "run_id"),
                          (AuditEvent, "run_id"), (HumanReviewTask, "run_id"), (Claim, "run_id"),
                          (RunFile, "run_id"), (Correction, "review__run_id"), (ExpectedFile, "review__run_id")):
        assert not model.objects.filter(**{f"{column}__in": old_ids}).exists(), model.__name__
    assert RunStep.objects.count() == 20
    example.refresh_from_db()
    assert example.source_run_id is None and Example.objects.filter(name="kept-example").exists()
    kept = (snapshot(), tally(), versions())
    assert kept == (recounted(), tally_recounted(), versions_recounted())
