"""`manage.py seed_runs`: bulk-inserted runs with the same derived columns as recorded ones."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count
from django.utils import timezone

from runs.models import Automation, ChipCount, Run


def seed(*args) -> str:
    out = io.StringIO()
    call_command("seed_runs", *args, stdout=out, verbosity=0)
    return out.getvalue()


@pytest.fixture
def seeded(db) -> str:
    return seed("--runs", "500", "--automations", "4", "--days", "10", "--batch", "120", "--seed", "5")


def test_seed_runs_inserts_the_requested_number_of_runs(seeded):
    assert Run.objects.count() == 500
    assert "Inserted 500 runs" in seeded


def test_seed_runs_spreads_runs_over_the_demo_automations_then_generated_ones(seeded):
    counts = dict(Run.objects.values_list("automation__slug").annotate(n=Count("pk")))
    assert set(counts) == {"extract-invoice", "extract-statement", "triage-email", "extract-receipt-3"}
    assert min(counts.values()) == 125


def test_seeded_runs_are_sampled_by_the_rate_in_effect_when_created(seeded):
    for automation in Automation.objects.all():
        schedule = automation.rate_schedule()
        runs = automation.runs.values_list("id", "created_at", "sampled")
        assert all(schedule.is_sampled(run_id, created) == sampled for run_id, created, sampled in runs)


def test_seeded_runs_are_partly_sampled(seeded):
    assert 0 < Run.objects.filter(sampled=True).count() < 200


def test_seed_runs_recounts_chip_counters_to_the_real_counts(seeded):
    real = {(r["automation"], r["sampled"], r["chip"]): r["n"]
            for r in Run.objects.values("automation", "sampled", "chip").annotate(n=Count("pk"))}
    counted = {(c.automation_id, c.sampled, c.chip): c.count for c in ChipCount.objects.all()}
    assert counted == real


def test_seeded_runs_fall_within_the_requested_days(seeded):
    assert Run.objects.filter(created_at__lt=timezone.now() - timedelta(days=10)).count() == 0


def test_seeded_runs_have_an_output_preview(seeded):
    assert not Run.objects.filter(status="completed", output_preview="").exists()


def test_seeding_again_adds_runs_without_id_collisions(seeded):
    seed("--runs", "300", "--automations", "4", "--days", "10")
    assert Run.objects.count() == 800


def test_seed_runs_refuses_a_zero_count(db):
    with pytest.raises(CommandError, match="at least 1"):
        seed("--runs", "0")


def test_seed_runs_with_bulk_create_inserts_the_same_way(db):
    out = seed("--runs", "50", "--no-copy", "--batch", "20")
    assert Run.objects.count() == 50 and "bulk_create" in out


def test_seed_runs_keeps_the_demo_rate_history_of_a_new_database(db):
    seed("--runs", "10")
    changes = Automation.objects.by_ref("workflows.extract-invoice").rate_changes.values_list("new_bp", flat=True)
    assert sorted(changes) == [1000, 1500]
