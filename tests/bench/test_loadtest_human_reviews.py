"""The load command of human review decisions, run briefly against a live server: 8 reviewers
on 6 tasks for a few seconds lose no confirmation, decide no task twice, see no 5xx."""

import io

import pytest
from django.core.management import call_command
from django.db import connection

from humanreview.models import Task

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="decisions under concurrency need PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


def test_reviewers_hammering_the_same_tasks_lose_nothing(live_server):
    out = io.StringIO()
    call_command("loadtest_human_reviews", reviewers=8, tasks=6, seconds=6, base_url=live_server.url, stdout=out)
    report = out.getvalue()
    assert "lost confirmations: 0" in report and "double decisions: 0" in report, report
    assert "server errors (5xx): 0" in report and "reviewer errors" not in report, report
    assert "confirmations acknowledged 0;" not in report, report
    assert Task.objects.exclude(status="pending").exists(), report  # the reviewers got as far as decisions
