"""Pinned SQL budgets of the review pane and the example page (local backend): a fixed number of
queries however much the run, its review or the example holds. A new query on these pages must
be a decision, made here."""

import pytest
from django.core.files.base import ContentFile

from datasets.loop import runs_record_and_check
from datasets.services import example_file_store, example_promote
from review.services import expected_file_upload, review_update, review_verdict
from runs.records import parse_run_record
from runs.services import run_file_store
from tests.factories import make_run, run_record

pytestmark = pytest.mark.django_db

# session, the user with their roles (accounts/backends.py), the run with its automation, review,
# updated_by, promoted example and that example's latest check (one join, one subquery), its
# files and expected files (one UNION), the claim a reviewer takes on opening (one statement,
# review.claims), the latest changes (the steps, scores, whole history and the previous / next
# runs load on demand).
PANE_QUERIES = 6
PANE_QUERIES_PROMOTED = 6
# The pane's one-form save of a verdict, a note and a corrected field (web/run_pane.py run_save):
# session, user; the run for the form (2, as the pane); in one transaction the run locked, then
# its review read after the lock (review.services.review_locked: two statements, so the version
# check sees what a writer committed while this one waited; docs/rules.md#concurrent-writes), its corrections, the changed correction, the
# review, the reviewer's daily count (one upsert), the audit event, whether any webhook
# subscription wants review events (review/notify.py; none here, so nothing more); the claim
# renewed; then the pane from what was saved: its latest changes. Transaction control (BEGIN,
# SAVEPOINT) is not counted: PostgreSQL's outermost transaction sends none through the cursor.
COMBINED_SAVE_QUERIES = 14
# Promote (first time or again): session, user, the run for the form (2); in one transaction
# the run locked, its review (two statements, as for a save), the example locked, its INSERT or UPDATE, the files to mirror
# (one UNION), the example's files (again only), their copies (one INSERT, first time only), the
# review, the audit event, whether any webhook subscription wants example.promoted (none here);
# then the pane from what was promoted: its latest changes.
PROMOTE_QUERIES = 14
# session, the user with their roles, the automation, the example, its files, its checks.
EXAMPLE_QUERIES = 6


def _reviewed_run(automation, reviewer, *, size: int, promoted: bool = True):
    run = make_run(automation)
    make_run(automation)  # neighbours on both sides
    for n in range(size):
        run_file_store(run_id=run.pk, name=f"in/page-{n}.json", role="input", content=b"{}",
                       content_type="application/json")
        expected_file_upload(run=run, upload=ContentFile(b"a,b\n", name=f"fixed-{n}.csv"), name=f"fixed-{n}.csv",
                             user=reviewer)
    review_verdict(run=run, verdict="fail", user=reviewer)
    review_update(run=run, changes={"body": "wrong total", "expected": {"total": 12}}, user=reviewer)
    if promoted:
        example_promote(run=run, name=f"example-{size}", user=reviewer)
    return run


@pytest.mark.parametrize("promoted", [False, True])
@pytest.mark.parametrize("size", [1, 6])
def test_the_review_pane_has_a_fixed_query_budget(client, reviewer, automation, django_assert_num_queries, size,
                                                  promoted):
    run = _reviewed_run(automation, reviewer, size=size, promoted=promoted)
    client.force_login(reviewer)
    with django_assert_num_queries(PANE_QUERIES_PROMOTED if promoted else PANE_QUERIES):
        response = client.get(f"/runs/{run.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count("fixed-") >= size and "wrong total" in body


@pytest.mark.parametrize("size", [1, 6])
def test_the_example_page_has_a_fixed_query_budget(client, reviewer, automation, django_assert_num_queries, size):
    run = _reviewed_run(automation, reviewer, size=1)
    example = example_promote(run=run, name="budget", user=reviewer)
    for n in range(size):
        example_file_store(example=example, folder="input", path=f"doc-{n}.pdf", content=b"%PDF", content_type="")
    runs_record_and_check([parse_run_record(run_record(automation, exampleId=example.name)) for _ in range(size)])
    assert example.checks.count() == size
    client.force_login(reviewer)
    with django_assert_num_queries(EXAMPLE_QUERIES):
        response = client.get(f"/datasets/{automation.ref}/examples/{example.pk}/")
    assert response.status_code == 200
    assert response.content.decode().count("doc-") >= size


def _statements(captured) -> list[str]:
    """The SQL statements a request sent, transaction control left out (see COMBINED_SAVE_QUERIES)."""
    return [q["sql"] for q in captured if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "BEGIN"))]


def test_the_one_form_save_has_a_fixed_query_budget(client, reviewer, automation):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from review.models import Review

    run = _reviewed_run(automation, reviewer, size=3, promoted=False)
    client.force_login(reviewer)
    for n, verdict in enumerate(("partial", "fail", "partial")):
        version = Review.objects.get(run_id=run.pk).version
        with CaptureQueriesContext(connection) as captured:
            response = client.post(f"/runs/{run.pk}/save/", {
                "verdict": verdict, "body": f"note {n}", "op": "save", "v:/total": str(20 + n), "version": version,
            }, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        statements = _statements(captured)
        assert len(statements) == COMBINED_SAVE_QUERIES, "\n".join(statements)
        review = Review.objects.get(run_id=run.pk)
        assert (review.rating, review.body, review.expected["total"]) == (verdict, f"note {n}", 20 + n)
        assert f"note {n}" in response.content.decode()


@pytest.mark.parametrize("size", [1, 4])
def test_promote_has_a_fixed_query_budget(client, reviewer, automation, size):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from datasets.models import Example

    run = _reviewed_run(automation, reviewer, size=size, promoted=False)
    client.force_login(reviewer)
    for attempt in range(2):  # the first promotion creates the example, the second refreshes it
        with CaptureQueriesContext(connection) as captured:
            response = client.post(f"/runs/{run.pk}/promote/", {"name": "budget", "confirm_no_expected": "on"},
                                   HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        statements = _statements(captured)
        assert len(statements) == PROMOTE_QUERIES, f"attempt {attempt}:\n" + "\n".join(statements)
        example = Example.objects.get(automation=automation, name="budget")
        assert example.files.count() == 2 * size  # the run's input files and the expected files
        assert "budget" in response.content.decode()
