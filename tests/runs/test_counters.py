"""Chip counts and daily run counts are kept by deltas as runs are recorded, repeated, moved,
reviewed and rejected; after any mix they equal a full recount from the runs."""

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from accounts.models import ApiKey
from datasets.loop import runs_record_and_check
from review.services import review_update
from runs.counters import chip_counts_recount, day_counts_recount
from runs.models import Automation, ChipCount, Run, RunDayCount
from runs.records import parse_run_record
from runs.services import runs_record
from tests.factories import make_automation, run_record

pytestmark = pytest.mark.django_db



def counts(automation) -> dict:
    return {(c.day, c.sampled): c.count for c in RunDayCount.objects.filter(automation=automation) if c.count}


def test_recording_runs_counts_them_per_day_and_sampling():
    automation = make_automation(rate_bp=10_000)
    yesterday = timezone.now() - timedelta(days=1)
    runs_record([parse_run_record(run_record(automation)) for _ in range(3)]
                + [parse_run_record(run_record(automation, createdAt=yesterday.isoformat()))])
    assert counts(automation) == {(timezone.localdate(), True): 3, (timezone.localdate(yesterday), True): 1}


def test_re_recording_a_run_on_another_day_moves_its_count():
    automation = make_automation()
    record = run_record(automation)
    runs_record([parse_run_record(record)])
    earlier = timezone.now() - timedelta(days=3)
    runs_record([parse_run_record({**record, "createdAt": earlier.isoformat()})])
    assert counts(automation) == {(timezone.localdate(earlier), True): 1}


def test_incremental_counts_equal_a_recount():
    automation = make_automation(rate_bp=5000)
    for offset in range(6):
        when = timezone.now() - timedelta(days=offset % 3, hours=offset)
        runs_record([parse_run_record(run_record(automation, createdAt=when.isoformat())) for _ in range(4)])
    incremental = counts(automation)
    day_counts_recount(automation=automation)
    assert counts(automation) == incremental and sum(incremental.values()) == 24


def test_deleting_runs_in_the_admin_keeps_the_counters_right(admin_client):
    from runs.models import ChipCount, Run
    from tests.factories import make_runs

    automation = make_automation()
    runs = make_runs(3, automation)
    admin_client.post("/admin/runs/run/", {"action": "delete_selected", "_selected_action": [runs[0].pk], "post": "yes"})
    assert not Run.objects.filter(pk=runs[0].pk).exists()
    assert sum(ChipCount.objects.filter(automation=automation).values_list("count", flat=True)) == 2
    assert sum(counts(automation).values()) == 2


def test_recount_command_rebuilds_counters():
    from django.core.management import call_command

    from runs.models import ChipCount
    from tests.factories import make_runs

    automation = make_automation()
    make_runs(2, automation)
    ChipCount.objects.all().delete()
    RunDayCount.objects.all().delete()
    call_command("recount")
    assert sum(ChipCount.objects.values_list("count", flat=True)) == 2 and sum(counts(automation).values()) == 2



def snapshot() -> dict:
    chips = {("chip", c.automation_id, c.sampled, c.chip): c.count for c in ChipCount.objects.all() if c.count}
    days = {("day", d.automation_id, d.day, d.sampled): d.count for d in RunDayCount.objects.all() if d.count}
    return chips | days


def recounted() -> dict:
    for automation in Automation.objects.all():
        chip_counts_recount(automation=automation)
    return snapshot()


def days_ago(n: int, hours: int = 0) -> str:
    return (timezone.now() - timedelta(days=n, hours=hours)).isoformat()


def test_mixed_batches_updates_reviews_and_rejects_keep_counts_equal_to_a_recount(reviewer, ops, tmp_path):
    half = make_automation("workflows.half", rate_bp=5000)
    other = make_automation("agents.other", rate_bp=2000)
    first = [run_record(half if i % 2 else other, createdAt=days_ago(i % 4, i)) for i in range(40)]
    runs_record_and_check([parse_run_record(r) for r in first])
    assert snapshot() and sum(v for k, v in snapshot().items() if k[0] == "chip") == 40

    for record in first[:12]:  # reviews move runs between chips
        review_update(run=Run.objects.get(pk=record["id"]), changes={"rating": "fail", "status": "open"}, user=reviewer)
    for record in first[12:16]:
        review_update(run=Run.objects.get(pk=record["id"]), changes={"rating": "pass"}, user=reviewer)

    # Repeats that move runs to another automation and another day (their sampling changes), new
    # runs, and one id twice in the same batch.
    moved = [{**r, "automation": other.ref if r["automation"] == half.ref else half.ref, "createdAt": days_ago(6)}
             for r in first[:20]]
    fresh = [run_record(half, createdAt=days_ago(1)) for _ in range(10)]
    twice = run_record(other, createdAt=days_ago(2))
    result = runs_record_and_check([parse_run_record(r) for r in
                                    [*moved, *fresh, twice, {**twice, "createdAt": days_ago(5)}]])
    assert (len(result.created), len(result.updated)) == (11, 21)

    # The command: good lines, a bad line and a repeat; the API: a list with a reject.
    lines = [json.dumps(run_record(other, createdAt=days_ago(3))), "{broken", json.dumps(first[30]),
             json.dumps(run_record(half, status="done"))]
    (tmp_path / "runs.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(CommandError):
        call_command("import_runs", str(tmp_path / "runs.jsonl"), verbosity=0)
    api = Client(headers={"Authorization": f"Bearer {ApiKey.issue(user=ops, name='t')[1]}"})
    answer = api.post("/api/v1/ingest/runs", [run_record(half), {**first[35], "createdAt": days_ago(9)},
                                              run_record(half, id="")], content_type="application/json").json()
    assert (len(answer["created"]), len(answer["updated"]), len(answer["rejected"])) == (1, 1, 1)

    kept = snapshot()
    assert sum(v for k, v in kept.items() if k[0] == "chip") == Run.objects.count() == 53
    assert kept == recounted()


def test_a_repeated_run_keeps_its_chip_in_the_counts(reviewer):
    automation = make_automation(rate_bp=10_000)
    record = run_record(automation)
    runs_record_and_check([parse_run_record(record)])
    review_update(run=Run.objects.get(pk=record["id"]), changes={"rating": "fail", "status": "open"}, user=reviewer)
    runs_record_and_check([parse_run_record({**record, "version": "v9"})])
    assert Run.objects.get(pk=record["id"]).chip == "open"
    assert {k[3]: v for k, v in snapshot().items() if k[0] == "chip"} == {"open": 1}
    assert snapshot() == recounted()
