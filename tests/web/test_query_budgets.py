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

# session, user, the run with its automation, review, updated_by and promoted example (one
# join), its files, its expected files, the user's roles, the previous and the next run of the
# queue (one statement, two subqueries), the audit trail; and for a promoted run, the latest
# check of its example.
PANE_QUERIES = 8
PANE_QUERIES_PROMOTED = 9
# session, user, the automation, the example, its files, its checks, the user's roles.
EXAMPLE_QUERIES = 7


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
