"""Proxy mode costs a bounded number of upstream calls per page, whatever the number of rows,
and stores no runs, reviews or examples locally."""

import threading

import pytest
from django.db import connection

from backends.eigenpal.client import metered
from review.models import AuditEvent
from review.services import review_verdict
from tests.factories import make_automation, make_runs


def _calls(client, url: str) -> int:
    client.get(url)  # warm: the automation list is cached per process
    with metered() as meter:
        response = client.get(url)
    assert response.status_code == 200
    return meter.calls


@pytest.mark.parametrize("rows", [10, 60])
def test_queue_page_calls_do_not_grow_with_rows(proxy, reviewer_client, reviewer, settings, rows):
    settings.LOUPE_QUEUE_PAGE_SIZE = 50
    runs = make_runs(rows, make_automation())
    review_verdict(run=runs[0], verdict="pass", user=reviewer)
    # One page of runs, then the chips of the shown rows: hasFeedback, pass, open, ignored
    # (the "rating none" and "resolved" lookups are skipped when nothing is left to tell apart).
    assert _calls(reviewer_client, "/queue/?chip=all") == 5


def test_an_exact_chip_filter_needs_one_call(proxy, reviewer_client):
    make_runs(30, make_automation())
    assert _calls(reviewer_client, "/queue/?chip=open") == 1


def test_unreviewed_merges_runs_without_feedback_and_runs_with_only_a_note(proxy, reviewer_client, reviewer):
    from review.services import review_update

    runs = make_runs(30, make_automation())
    assert _calls(reviewer_client, "/queue/?chip=unreviewed") == 2  # noFeedback, feedbackRating=none
    review_update(run=runs[3], changes={"body": "looked at it, no verdict yet"}, user=reviewer)
    review_update(run=runs[5], changes={"status": "open"}, user=reviewer)
    # ... plus, for the page with feedback: is any of it open, ignored or resolved?
    assert _calls(reviewer_client, "/queue/?chip=unreviewed") == 5
    shown = {row.id for row in reviewer_client.get("/queue/?chip=unreviewed").context["page"].rows}
    assert runs[3].pk in shown and runs[5].pk not in shown and len(shown) == 29


def test_review_pane_is_one_call_plus_bounded_previews(proxy, reviewer_client):
    run = make_runs(1, make_automation())[0]
    assert _calls(reviewer_client, f"/runs/{run.pk}/") == 1


def test_sampled_scan_stops_at_the_page_bound(proxy, reviewer_client, settings):
    settings.LOUPE_PROXY_SCAN_PAGES = 2
    settings.LOUPE_QUEUE_PAGE_SIZE = 5
    make_runs(250, make_automation("workflows.rare", rate_bp=1))  # almost nothing sampled
    response = reviewer_client.get("/queue/?automation=workflows.rare&chip=unreviewed")
    with metered() as meter:
        response = reviewer_client.get("/queue/?automation=workflows.rare&chip=unreviewed")
    # Two pages of runs without feedback, and the (empty, so last) page of runs with only a note.
    assert meter.calls == 3 and "Looked at 200 runs upstream" in response.content.decode()
    assert response.context["page"].older_qs  # the next screen scans on


def test_proxy_mode_reads_and_writes_no_run_review_or_example_rows(proxy, reviewer_client):
    """Every SQL statement of the proxy's own requests (this thread; the upstream serves from
    another) stays off the tables of runs, reviews, files and examples."""
    run = make_runs(1, make_automation())[0]
    statements, me = [], threading.get_ident()

    def spy(execute, sql, params, many, context):
        if threading.get_ident() == me:
            statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        reviewer_client.get("/queue/")
        reviewer_client.post(f"/runs/{run.pk}/save/", {"verdict": "fail", "body": "wrong total", "version": 0})
        reviewer_client.post(f"/runs/{run.pk}/save/", {"verdict": "fail", "body": "wrong total", "v:/total": "1",
                                                       "version": _version(reviewer_client, run.pk)})
        reviewer_client.post(f"/runs/{run.pk}/save/", {"op": "promote", "example_name": "proxy-miss",
                                                       "verdict": "fail", "body": "wrong total",
                                                       "version": _version(reviewer_client, run.pk)})
    touched = [sql for sql in statements if any(table in sql for table in (
        '"runs_run"', '"runs_runfile"', '"review_review"', '"review_expectedfile"', '"datasets_example"',
        '"runs_chipcount"'))]
    assert statements and touched == []


def _version(client, run_id: str) -> int:
    from tests.web.conftest import pane_version

    return pane_version(client, run_id)


@pytest.mark.django_db
def test_the_audit_trail_keeps_events_of_runs_that_live_upstream(reviewer):
    AuditEvent.objects.create(run_id="only-upstream-1", user=reviewer, action="verdict:fail", changes={})
    assert AuditEvent.objects.filter(run_id="only-upstream-1").count() == 1
