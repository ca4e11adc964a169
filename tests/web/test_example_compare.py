"""The comparison page of a promoted example: original, expected and later runs by version with
their verdicts; rerun refused with a clear message where runs are not executed (Loupe itself,
and a live Loupe behind the proxy, which answers 403 not_supported)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from datasets.compare import ExampleRun, example_compare
from datasets.services import example_promote
from review.services import review_update
from tests.factories import INVOICE_OUTPUT, make_run

FIXED = {**INVOICE_OUTPUT, "total": 223.0}


@pytest.fixture
def promoted(automation, reviewer):
    run = make_run(automation)
    review_update(run=run, changes={"rating": "fail", "status": "open", "expected": FIXED}, user=reviewer)
    example = example_promote(run=run, name="total-miss", user=reviewer)
    now = timezone.now()
    make_run(automation, exampleId=str(example.pk), version="v3", output=INVOICE_OUTPUT,
             createdAt=(now - timedelta(hours=2)).isoformat())
    make_run(automation, exampleId="total-miss", version="v4", output=FIXED, createdAt=(now - timedelta(hours=1)).isoformat())
    return example


def _url(name, example):
    return reverse(name, args=[example.automation.ref, example.pk])


def test_groups_runs_by_version_in_the_order_versions_first_ran():
    now = timezone.now()
    runs = [ExampleRun("b", "v4", now, "completed", {"a": 1}), ExampleRun("a", "v3", now - timedelta(hours=1), "completed", {"a": 2}),
            ExampleRun("c", "v4", now + timedelta(minutes=1), "running")]
    comparison = example_compare(original={"a": 2}, expected={"a": 1}, assertions=[], runs=runs)
    assert [(g.version, g.verdict) for g in comparison.groups] == [("v3", "failed"), ("v4", "passed")]


def test_an_unfinished_run_keeps_the_comparison_pending():
    runs = [ExampleRun("c", "v4", timezone.now(), "running")]
    assert example_compare(original=None, expected={"a": 1}, assertions=[], runs=runs).pending


@pytest.mark.django_db
def test_compare_page_shows_each_version_with_its_verdict(reviewer_client, promoted):
    body = reviewer_client.get(_url("example_compare", promoted)).content.decode()
    v3 = body.split('data-version="v3"')[1].split("</th>")[0]
    v4 = body.split('data-version="v4"')[1].split("</th>")[0]
    assert 'data-testid="version-verdict">failed' in v3 and 'data-testid="version-verdict">passed' in v4
    checks = body.split('data-testid="version-checks"')
    assert "differs from the expected output at /total" in checks[1] and "differs" not in checks[2]


@pytest.mark.django_db
def test_compare_page_puts_each_version_in_its_own_column(reviewer_client, promoted):
    """Columns: original, expected, then v3 and v4 (in the order they first ran); each row has a
    cell per column, and v3's output marks its difference from the expected total."""
    html = reviewer_client.get(_url("example_compare", promoted)).content.decode()
    header = html.split("<thead>")[1].split("</thead>")[0]
    assert header.index("Original output") < header.index("Expected output") < header.index('"v3"') < header.index('"v4"')
    outputs = html.split('class="compare-outputs"')[1].split("</tr>")[0]
    assert outputs.count("<td") == 4
    v3_output = outputs.split('data-version="v3"')[1].split("</td>")[0]
    assert "<del" in v3_output and "<ins" in v3_output and "223" in v3_output
    v4_output = outputs.split('data-version="v4"')[1].split("</td>")[0]
    assert "<del" not in v4_output


@pytest.mark.django_db
def test_compare_page_shows_original_and_expected(reviewer_client, promoted):
    body = reviewer_client.get(_url("example_compare", promoted)).content.decode()
    assert "Original output" in body and "Expected output" in body and "223" in body and "1234.5" in body


@pytest.mark.django_db
def test_example_page_and_review_pane_link_to_the_comparison(reviewer_client, promoted):
    url = _url("example_compare", promoted)
    example_page = reviewer_client.get(_url("example_detail", promoted)).content.decode()
    pane = reviewer_client.get(reverse("run_detail", args=[promoted.source_run_id])).content.decode()
    assert url in example_page and url in pane


def test_rerun_is_refused_with_a_clear_message_in_both_modes(backend, reviewer_client, automation, reviewer):
    run = make_run(automation)
    review_update(run=run, changes={"rating": "fail", "status": "open", "expected": FIXED}, user=reviewer)
    example = example_promote(run=run, name="rerun-me", user=reviewer)
    response = reviewer_client.post(_url("example_rerun", example), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    expected = "does not execute runs" if backend != "local" else "does not execute them"
    assert response.status_code == 200 and 'id="rerun-refused"' in body and expected in body


def test_compare_works_in_both_modes(backend, reviewer_client, automation, reviewer):
    run = make_run(automation)
    review_update(run=run, changes={"rating": "fail", "status": "open", "expected": FIXED}, user=reviewer)
    example = example_promote(run=run, name="both-modes", user=reviewer)
    make_run(automation, exampleId=str(example.pk), version="v5", output=FIXED)
    body = reviewer_client.get(_url("example_compare", example)).content.decode()
    assert 'data-version="v5"' in body and 'data-testid="version-verdict">passed' in body


@pytest.mark.django_db
def test_viewer_may_not_rerun(client, viewer, promoted):
    client.force_login(viewer)
    assert client.post(_url("example_rerun", promoted)).status_code == 403
