import pytest

from datasets.models import ExampleCheck
from datasets.services import example_promote
from review.models import AuditEvent, Review
from review.services import review_update
from runs.models import Run
from tests.factories import INVOICE_OUTPUT, make_run

pytestmark = pytest.mark.django_db

FIXED = {**INVOICE_OUTPUT, "total": 223.0}


@pytest.fixture
def promoted(automation, reviewer):
    """An open miss, corrected and promoted: the board item the loop must close."""
    run = make_run(automation)
    review_update(run=run, changes={"rating": "fail", "status": "open", "expected": FIXED}, user=reviewer)
    example = example_promote(run=run, name="total-miss", user=reviewer)
    return run, example


def test_a_run_of_the_example_is_checked_against_its_expected_output(promoted, automation):
    _, example = promoted
    make_run(automation, exampleId=str(example.pk), output=FIXED)
    check = ExampleCheck.objects.get(example=example)
    assert check.verdict == "passed" and "equals the expected output" in check.summary


def test_the_example_can_be_named_instead_of_its_id(promoted, automation):
    _, example = promoted
    make_run(automation, exampleId="total-miss", output=INVOICE_OUTPUT)
    assert ExampleCheck.objects.get(example=example).verdict == "failed"


def test_latest_run_id_is_recorded_on_the_example(promoted, automation):
    _, example = promoted
    later = make_run(automation, exampleId=str(example.pk), output=FIXED)
    example.refresh_from_db()
    assert example.latest_run_id == later.pk


def test_passing_does_not_resolve_unless_the_automation_says_so(promoted, automation):
    run, example = promoted
    make_run(automation, exampleId=str(example.pk), output=FIXED)
    assert Review.objects.get(run=run).status == "open"


def test_passing_resolves_automatically_when_enabled(promoted, automation):
    run, example = promoted
    automation.auto_resolve = True
    automation.save()
    make_run(automation, exampleId=str(example.pk), output=FIXED)
    assert Review.objects.get(run=run).status == "resolved" and Run.objects.get(pk=run.pk).chip == "failed"
    assert AuditEvent.objects.filter(run=run, via="system", action__startswith="resolve:example").exists()


def test_a_failing_run_leaves_the_review_open_even_when_enabled(promoted, automation):
    run, example = promoted
    automation.auto_resolve = True
    automation.save()
    make_run(automation, exampleId=str(example.pk), output=INVOICE_OUTPUT)
    assert Review.objects.get(run=run).status == "open"


def test_review_pane_offers_one_click_resolve_after_a_pass(reviewer_client, promoted, automation):
    run, example = promoted
    later = make_run(automation, exampleId=str(example.pk), output=FIXED)
    body = reviewer_client.get(f"/runs/{run.pk}/").content.decode()
    assert later.pk in body and 'id="resolve-fixed"' in body


def test_review_pane_says_what_it_waits_for(reviewer_client, promoted):
    run, _ = promoted
    assert "Stays open until the fix is confirmed" in reviewer_client.get(f"/runs/{run.pk}/").content.decode()


def test_example_page_lists_checks(reviewer_client, promoted, automation):
    _, example = promoted
    make_run(automation, exampleId=str(example.pk), output=INVOICE_OUTPUT)
    body = reviewer_client.get(f"/datasets/{automation.ref}/examples/{example.pk}/").content.decode()
    assert "Regression checks" in body and "differs from the expected output at /total" in body


def test_assertions_are_validated_on_the_edit_form_and_kept(reviewer_client, promoted, automation):
    _, example = promoted
    bad = '[{"path": "total", "condition": {"kind": "bigger"}}]'
    response = reviewer_client.post(f"/datasets/{automation.ref}/examples/{example.pk}/edit/",
                                    {"name": "total-miss", "expected": "{}", "metadata": "", "annotation": "",
                                     "assertions": bad})
    body = response.content.decode()
    assert response.status_code == 200 and "unknown kind" in body and "bigger" in body


def test_auto_resolve_toggle_needs_a_role(client, viewer, automation):
    client.force_login(viewer)
    assert client.post(f"/datasets/{automation.ref}/auto-resolve/", {"auto_resolve": "on"}).status_code == 403


def test_auto_resolve_toggle(reviewer_client, automation):
    reviewer_client.post(f"/datasets/{automation.ref}/auto-resolve/", {"auto_resolve": "on"})
    automation.refresh_from_db()
    assert automation.auto_resolve


def test_api_scores_report_the_check(promoted, automation, reviewer):
    from django.test import Client

    from accounts.models import ApiKey

    _, example = promoted
    later = make_run(automation, exampleId=str(example.pk), output=FIXED)
    _, key = ApiKey.issue(user=reviewer)
    scores = Client().get(f"/api/v1/runs/{later.pk}/scores", headers={"Authorization": f"Bearer {key}"}).json()["scores"]
    assert [(s["label"], s["passed"], s["score"]) for s in scores] == [("total-miss", True, 1.0)]
