from datetime import timedelta

import pytest
from django.utils import timezone

from runs.counters import day_counts_recount
from runs.models import RunDayCount
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
