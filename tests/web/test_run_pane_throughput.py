"""The workbench's one-form save counts in the reviewers' throughput rollup (review.counters):
a save carrying a verdict is recorded as `save:<verdict>` and counts like a `verdict:` event."""

import pytest
from django.utils import timezone

from review.counters import reviewer_counts_recount
from review.models import AuditEvent, ReviewerDayCount
from runs.models import Automation

pytestmark = pytest.mark.django_db


def throughput() -> dict:
    return {(r.automation_id, r.user_id, r.day): r.count for r in ReviewerDayCount.objects.all() if r.count}


def save(client, run, **fields):
    return client.post(f"/runs/{run.pk}/save/", {"version": 0, **fields})


def test_a_verdict_saved_through_the_pane_counts_once_per_run_and_day(reviewer_client, reviewer, run):
    save(reviewer_client, run, verdict="fail", body="wrong total")
    save(reviewer_client, run, verdict="partial", body="mostly right", version=1)
    assert list(AuditEvent.objects.filter(run=run).values_list("action", flat=True).order_by("pk")) == [
        "save:fail", "save:partial"]
    today = timezone.localdate()
    assert throughput() == {(run.automation_id, reviewer.pk, today): 1}
    for automation in Automation.objects.all():
        reviewer_counts_recount(automation=automation)
    assert throughput() == {(run.automation_id, reviewer.pk, today): 1}


def test_a_save_without_a_verdict_is_not_throughput(reviewer_client, run):
    save(reviewer_client, run, body="just a note")
    assert AuditEvent.objects.filter(run=run).exists() and throughput() == {}
