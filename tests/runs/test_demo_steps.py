"""The demo's runs carry steps: a failed run fails in a middle step and skips the rest."""

import pytest

from demo.load import load_demo
from runs.models import Run, RunStep

pytestmark = pytest.mark.django_db


def statuses(run) -> list[str]:
    return list(RunStep.objects.filter(run=run).values_list("status", flat=True))


def test_demo_runs_carry_steps_and_failed_ones_fail_in_the_middle():
    load_demo(runs=150, seed=7)
    failed = statuses(Run.objects.filter(status="failed", steps__isnull=False).distinct().first())
    completed = statuses(Run.objects.filter(status="completed", steps__isnull=False).distinct().first())
    failing = failed.index("failed")
    assert 0 < failing < len(failed) - 1 and set(failed[failing + 1:]) == {"skipped"}
    assert set(completed) == {"completed"}
