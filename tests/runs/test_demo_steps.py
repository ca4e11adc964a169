"""The demo's runs carry steps: a failed run fails in a middle step and skips the rest."""

import pytest

from demo.load import load_demo
from runs.models import Run, RunStep

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        load_demo(runs=150, seed=7)
        yield
        Run.objects.all().delete()


def test_failed_demo_runs_fail_in_a_middle_step(demo):
    run = Run.objects.filter(status="failed", steps__isnull=False).distinct().first()
    statuses = list(RunStep.objects.filter(run=run).values_list("status", flat=True))
    failing = statuses.index("failed")
    assert 0 < failing < len(statuses) - 1 and set(statuses[failing + 1:]) == {"skipped"}


def test_completed_demo_runs_with_files_show_every_step_completed(demo):
    run = Run.objects.filter(status="completed", steps__isnull=False).distinct().first()
    assert set(RunStep.objects.filter(run=run).values_list("status", flat=True)) == {"completed"}
