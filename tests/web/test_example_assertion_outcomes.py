"""The example page shows each assertion's outcome of each checked run: actual, expected and why."""

import pytest

from datasets.services import example_promote, example_update
from review.services import review_update
from tests.factories import INVOICE_OUTPUT, make_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def checked(automation, reviewer):
    run = make_run(automation)
    review_update(run=run, changes={"rating": "fail", "status": "open"}, user=reviewer)
    example = example_promote(run=run, name="asserted", user=reviewer)
    example_update(example=example, assertions=[
        {"path": "total", "condition": {"kind": "number_compare", "op": "gt", "expected": 5000}, "label": "big total"},
        {"path": "currency", "condition": {"kind": "equals", "expected": "EUR"}},
        {"path": "summary", "condition": {"kind": "llm_judged_as", "expected": "polite"}},
    ])
    make_run(automation, exampleId=str(example.pk), output=INVOICE_OUTPUT)
    return example


def test_failed_assertion_shows_actual_expected_and_message(reviewer_client, checked, automation):
    body = reviewer_client.get(f"/datasets/{automation.ref}/examples/{checked.pk}/").content.decode()
    row = body.split('class="assertion-failed"')[1].split("</tr>")[0]
    assert "big total" in row and "1234.5" in row and "5000" in row and "is not gt 5000" in row


def test_unevaluable_assertion_is_blocked_with_its_reason(reviewer_client, checked, automation):
    body = reviewer_client.get(f"/datasets/{automation.ref}/examples/{checked.pk}/").content.decode()
    row = body.split('class="assertion-blocked"')[1].split("</tr>")[0]
    assert "needs an LLM judge" in row


def test_passed_assertion_is_listed_as_passed(reviewer_client, checked, automation):
    body = reviewer_client.get(f"/datasets/{automation.ref}/examples/{checked.pk}/").content.decode()
    assert 'class="assertion-passed"' in body


def test_review_pane_lists_each_assertion_outcome(reviewer_client, checked):
    body = reviewer_client.get(f"/runs/{checked.source_run_id}/").content.decode()
    outcomes = body.split('id="pane-assertion-outcomes"')[1].split("</ul>")[0]
    assert "is not gt 5000" in outcomes and "needs an LLM judge" in outcomes and "assertion-passed" in outcomes
