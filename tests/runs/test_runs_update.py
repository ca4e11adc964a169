"""Repeated runs (runs.services.runs_update: COPY into a temporary table and one UPDATE on
PostgreSQL, an upsert elsewhere): every recorded column is rewritten, the chip and review stay,
an unchanged repeat writes nothing, and the counters and rollups stay equal to a recount through
batches that mix new, repeated, changed, unchanged and rejected runs."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.models import ApiKey
from datasets.loop import runs_record_and_check
from review.counters import review_counts_recount, review_day_counts_recount, reviewer_counts_recount
from review.models import ReviewDayCount, ReviewerDayCount, ReviewTally
from review.services import review_update, review_verdict
from runs.counters import chip_counts_recount
from runs.models import Automation, ChipCount, Run, RunDayCount
from runs.records import parse_run_record
from runs.services import _RECORDED_FIELDS as RECORDED_FIELDS
from runs.services import output_preview
from tests.factories import make_automation, run_record

pytestmark = pytest.mark.django_db


def days_ago(n: int, hours: int = 0) -> str:
    return (timezone.now() - timedelta(days=n, hours=hours)).isoformat()


def recorded(run_id: str) -> dict:
    run = Run.objects.get(pk=run_id)
    return {name: getattr(run, Run._meta.get_field(name).attname) for name in RECORDED_FIELDS} | {"chip": run.chip}


def counters() -> dict:
    return ({("chip", c.automation_id, c.sampled, c.chip): c.count for c in ChipCount.objects.all() if c.count}
            | {("day", d.automation_id, d.day, d.sampled): d.count for d in RunDayCount.objects.all() if d.count}
            | {("tally", t.automation_id, t.day, t.sampled, t.kind, t.path): t.count
               for t in ReviewTally.objects.all() if t.count}
            | {("verdict", v.automation_id, v.day, v.sampled, v.verdict): v.count
               for v in ReviewDayCount.objects.all() if v.count}
            | {("reviewer", r.automation_id, r.user_id, r.day): r.count for r in ReviewerDayCount.objects.all() if r.count})


def row_versions() -> dict:
    if connection.vendor != "postgresql":
        return {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, xmin::text, ctid::text FROM runs_run")
        return {run_id: (xmin, ctid) for run_id, xmin, ctid in cursor.fetchall()}


def recounted() -> dict:
    for automation in Automation.objects.all():
        chip_counts_recount(automation=automation)
        review_counts_recount(automation=automation)
        review_day_counts_recount(automation=automation)
        reviewer_counts_recount(automation=automation)
    return counters()


def test_a_repeat_rewrites_every_recorded_column_and_keeps_the_chip(reviewer):
    first, second = make_automation("workflows.first"), make_automation("agents.second", rate_bp=0)
    record = run_record(first, metadata={"a": 1}, usage={"tokens": 5}, batchId="b1", exampleId="ex-1",
                        triggeredBy="ci", startedAt=days_ago(2, 1), completedAt=days_ago(2))
    runs_record_and_check([parse_run_record(record)])
    review_update(run=Run.objects.get(pk=record["id"]), changes={"rating": "fail", "status": "open"}, user=reviewer)
    again = {"id": record["id"], "automation": second.ref, "status": "failed", "trigger": "cron", "version": "v9",
             "input": {"x": [1, 2]}, "output": {"total": 1.0, "text": "é\n\"q\""}, "error": "boom",
             "usage": {"tokens": 7}, "metadata": {"b": None}, "batchId": "b2", "exampleId": "ex-2",
             "triggeredBy": "me", "createdAt": days_ago(5), "startedAt": days_ago(5, 1), "completedAt": days_ago(5),
             "durationMs": 42}
    result = runs_record_and_check([parse_run_record(again)])
    assert (result.created, result.updated) == ([], [record["id"]])
    parsed = parse_run_record(again)
    stored = recorded(record["id"])
    assert stored["chip"] == "open"
    assert stored | {"chip": None} == {
        "automation": second.pk, "status": "failed", "trigger": "cron", "triggered_by": "me", "version": "v9",
        "input": {"x": [1, 2]}, "output": {"total": 1.0, "text": "é\n\"q\""}, "error": "boom",
        "usage": {"tokens": 7}, "metadata": {"b": None}, "batch_id": "b2", "example_id": "ex-2",
        "created_at": parsed.created_at, "started_at": parsed.started_at, "completed_at": parsed.completed_at,
        "duration_ms": 42, "sample_bucket": stored["sample_bucket"], "sampled": False, "stratum": "", "inclusion_bp": 0,
            "field_confidence": None,
        "output_preview": output_preview(again["output"], "boom"), "chip": None}
    assert counters() == recounted()


def test_an_unchanged_repeat_counts_as_an_update_and_changes_nothing():
    automation = make_automation()
    records = [run_record(automation, createdAt=days_ago(i % 3)) for i in range(5)]
    runs_record_and_check([parse_run_record(r) for r in records])
    before = {r["id"]: recorded(r["id"]) for r in records}
    kept, versions = counters(), row_versions()
    result = runs_record_and_check([parse_run_record(r) for r in records])
    assert (result.created, result.updated) == ([], [r["id"] for r in records])
    assert {r["id"]: recorded(r["id"]) for r in records} == before
    assert row_versions() == versions  # PostgreSQL: no new row version was written
    assert counters() == kept == recounted()


def test_json_written_differently_is_rewritten():
    """jsonb holds 1.0 and 1 as equal, but shows them as written: a repeat stores what it says."""
    record = run_record(make_automation(), output={"n": 1.0, "m": [1.50]})
    runs_record_and_check([parse_run_record(record)])
    runs_record_and_check([parse_run_record(json.loads(json.dumps({**record, "output": {"n": 1, "m": [1.5]}})))])
    with connection.cursor() as cursor:
        cursor.execute("SELECT output FROM runs_run WHERE id = %s", [record["id"]])
        text = cursor.fetchone()[0]
    stored = json.loads(text) if isinstance(text, str) else text
    assert stored == {"n": 1, "m": [1.5]} and isinstance(stored["n"], int)


def test_mixed_batches_of_new_repeated_changed_and_rejected_runs_keep_every_counter_exact(reviewer, ops, tmp_path):
    half, other = make_automation("workflows.half", rate_bp=5000), make_automation("agents.other", rate_bp=2000)
    first = [run_record(half if i % 2 else other, createdAt=days_ago(i % 4, i)) for i in range(30)]
    runs_record_and_check([parse_run_record(r) for r in first])
    for record in first[:8]:
        review_verdict(run=Run.objects.get(pk=record["id"]), verdict="fail", user=reviewer)
    for record in first[8:12]:
        review_update(run=Run.objects.get(pk=record["id"]), changes={"rating": "pass"}, user=reviewer)
    assert counters() == recounted()

    # Through the API, in one body: new runs, unchanged repeats, repeats moved to the other
    # automation and another day, an id twice, and bad runs (reported by index, the rest stored).
    moved = [{**r, "automation": other.ref if r["automation"] == half.ref else half.ref, "createdAt": days_ago(6),
              "status": "failed", "error": "late"} for r in first[:6] + first[10:14]]
    twice = run_record(half, createdAt=days_ago(1))
    body = [*moved, *first[20:25], run_record(half), run_record(other), twice, {**twice, "createdAt": days_ago(3)},
            run_record(half, id=""), {**run_record(half), "automation": "workflows.nope"}, {**first[26], "status": "done"}]
    api = Client(headers={"Authorization": f"Bearer {ApiKey.issue(user=ops, name='t')[1]}"})
    answer = api.post("/api/v1/ingest/runs", body, content_type="application/json").json()
    assert (len(answer["created"]), len(answer["updated"])) == (3, 16)
    assert [(r["index"], r["field"]) for r in answer["rejected"]] == [(19, "id"), (20, "automation"), (21, "status")]
    moved_run = Run.objects.get(pk=first[0]["id"])  # recorded for `other`, moved to `half`, reviewed
    assert (moved_run.automation_id, moved_run.chip, moved_run.error) == (half.pk, "open", "late")
    assert counters() == recounted()

    # Through import_runs: two batches of two lines (--batch 2), one repeat changed, a bad line.
    from django.core.management import call_command
    from django.core.management.base import CommandError

    lines = [json.dumps({**first[2], "createdAt": days_ago(8)}), "{broken", json.dumps(first[29]),
             json.dumps(run_record(other)), json.dumps({**first[9], "automation": other.ref})]
    (tmp_path / "runs.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(CommandError):
        call_command("import_runs", str(tmp_path / "runs.jsonl"), "--batch", "2", verbosity=0)
    assert Run.objects.count() == 34
    assert counters() == recounted()
