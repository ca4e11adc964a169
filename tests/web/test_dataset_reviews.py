"""The dataset review pages: sending examples from a dataset, the inbox, the item page (decisions,
edits, a stale write shown with what changed and nothing typed lost), applying the outcome, and
the example page's link back. Pinned query budgets, as for the run pages."""

import re

import pytest

from datasets.models import Example, ExampleCheck
from dsreview.models import DatasetReview, DatasetReviewApplication
from dsreview.services import item_update, review_create
from tests.dsreview.helpers import make_examples

pytestmark = pytest.mark.django_db

# session, the user with their roles, one page of requests with their automations, their
# progress (one grouped count), the total for the pager.
INBOX_QUERIES = 5
# session, the user with their roles, the item with its request, automation, example and
# updated_by (one join), the example's input files (the drift check and the previews, one
# query), the item's timeline with its actors.
ITEM_QUERIES = 5


@pytest.fixture
def examples(automation):
    return make_examples(automation, 3)


@pytest.fixture
def lead_client(client, lead):
    client.force_login(lead)
    return client


@pytest.fixture
def review(automation, examples, lead):
    return review_create(automation=automation, user=lead, title="Recheck IBANs", status="open",
                         example_names=["ex-0", "ex-1", "ex-2"],
                         focus_fields=[{"path": "vendor.iban", "reason": "new format"}], ignored_fields=["lines"],
                         item_notes=[{"exampleName": "ex-0", "comment": "customer moved"}])


def _stamp(html: str) -> str:
    return re.search(r'name="expected_updated_at" value="([^"]+)"', html).group(1)


def test_a_lead_sends_ticked_and_failed_examples_from_the_dataset(lead_client, automation, examples):
    ExampleCheck.objects.create(example=examples[2], run_id="r1", verdict="failed")
    page = lead_client.get(f"/datasets/{automation.ref}/").content.decode()
    assert f'href="/datasets/{automation.ref}/reviews/new/"' in page
    response = lead_client.post(f"/datasets/{automation.ref}/reviews/new/", {
        "title": "Check totals", "examples": ["ex-0"], "failed": "on", "instructions": "Look at totals",
        "focus": "total: rounding\nvendor.iban", "ignored": "lines", "notes": "ex-2: failed last night",
        "status": "open"})
    review = DatasetReview.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/dataset-reviews/{review.pk}/"
    assert review.example_names == ["ex-0", "ex-2"]
    assert review.focus_fields == [{"path": "total", "reason": "rounding"}, {"path": "vendor.iban", "reason": None}]
    assert review.items.get(example_name="ex-2").note == "failed last night"


def test_a_bad_path_keeps_what_was_typed_and_creates_nothing(lead_client, automation, examples):
    response = lead_client.post(f"/datasets/{automation.ref}/reviews/new/", {
        "title": "Check", "examples": ["ex-0"], "focus": "vendor.bic: typo", "status": "open"})
    html = response.content.decode()
    assert response.status_code == 200 and "vendor.bic" in html and "No field" in html
    assert 'value="Check"' in html and not DatasetReview.objects.exists()


def test_a_reviewer_cannot_send_examples(client, reviewer, automation, examples):
    client.force_login(reviewer)
    assert client.get(f"/datasets/{automation.ref}/reviews/new/").status_code == 403


def test_the_inbox_lists_open_requests_with_exact_progress(client, reviewer, review, lead, django_assert_num_queries):
    item = review.items.get(example_name="ex-1")
    item_update(review=review, item_id=item.pk, user=lead, action="approve",
                expected_updated_at=item.updated_at.isoformat())
    client.force_login(reviewer)
    client.get("/dataset-reviews/")  # warm the session
    with django_assert_num_queries(INBOX_QUERIES):
        html = client.get("/dataset-reviews/").content.decode()
    assert "Recheck IBANs" in html and "2 of 3" in html and "1 approved" in html
    assert 'href="/dataset-reviews/" aria-current="page"' in html


def test_the_item_page_shows_snapshot_focus_ignored_and_note(client, reviewer, review, django_assert_num_queries):
    item = review.items.get(example_name="ex-0")
    client.force_login(reviewer)
    url = f"/dataset-reviews/{review.pk}/items/{item.pk}/"
    client.get(url)
    with django_assert_num_queries(ITEM_QUERIES):
        html = client.get(url).content.decode()
    assert 'data-focus="/vendor/iban"' in html and "dsr-is-focus" in html and "new format" in html
    ignored = re.search(r'data-ignored="([^"]*)"', html).group(1).split()
    assert sorted(ignored) == ["/lines/0/amount", "/lines/0/description"] and "dsr-is-ignored" in html
    assert "customer moved" in html and "invoice.pdf" in html and 'name="v:/vendor/iban"' in html
    assert "dsr-drift" not in html


def test_decisions_and_edits_from_the_page(client, reviewer, review):
    item = review.items.get(example_name="ex-0")
    client.force_login(reviewer)
    url = f"/dataset-reviews/{review.pk}/items/{item.pk}/"
    act = url + "act/"
    stamp = _stamp(client.get(url).content.decode())
    client.post(act, {"expected_updated_at": stamp, "action": "field-decision:approved:vendor.iban",
                      "comment": "matches the PDF"})
    item.refresh_from_db()
    assert item.field_decisions["vendor.iban"]["decision"] == "approved"
    stamp = _stamp(client.get(url).content.decode())
    response = client.post(act, {"expected_updated_at": stamp, "action": "edit", "v:/vendor/iban": "DE00 1111"})
    item.refresh_from_db()
    assert item.status == "edited" and item.current_expected["vendor"]["iban"] == "DE00 1111"
    assert response.status_code == 302 and response["Location"].endswith(
        f"/items/{review.items.get(example_name='ex-1').pk}/")  # on to the next pending item
    assert Example.objects.get(name="ex-0").expected["vendor"]["iban"] == "DE89 3704"  # not written back


def test_a_stale_write_shows_what_changed_and_keeps_what_was_typed(client, reviewer, review, lead):
    item = review.items.get(example_name="ex-0")
    client.force_login(reviewer)
    url = f"/dataset-reviews/{review.pk}/items/{item.pk}/"
    stamp = _stamp(client.get(url).content.decode())
    item_update(review=review, item_id=item.pk, user=lead, action="edit", expected_updated_at=stamp,
                expected={**item.current_expected, "total": 1})
    response = client.post(url + "act/", {"expected_updated_at": stamp, "action": "edit",
                                           "v:/vendor/iban": "typed by me", "comment": "my reasoning"})
    html = response.content.decode()
    assert response.status_code == 409 and "dsr-conflict" in html and "<code>total</code>" in html
    assert 'value="typed by me"' in html and "my reasoning</textarea>" in html
    item.refresh_from_db()
    assert item.current_expected["vendor"]["iban"] == "DE89 3704" and item.current_expected["total"] == 1


def test_apply_from_the_request_page_and_the_example_links_back(lead_client, review, lead):
    for name, action in (("ex-0", "edit"), ("ex-1", "remove")):
        item = review.items.get(example_name=name)
        item_update(review=review, item_id=item.pk, user=lead, action=action,
                    expected_updated_at=item.updated_at.isoformat(),
                    **({"expected": {"total": 7}} if action == "edit" else {}))
    url = f"/dataset-reviews/{review.pk}/"
    lead_client.post(url + "status/", {"status": "closed"})
    assert Example.objects.get(name="ex-0").expected["total"] == 100
    html = lead_client.get(url).content.decode()
    assert "Apply approved edits" in html and "Yes, delete 1 example" in html
    lead_client.post(url + "apply/")
    assert Example.objects.get(name="ex-0").expected == {"total": 7} and Example.objects.filter(name="ex-1").exists()
    lead_client.post(url + "apply/", {"delete_removed": "on"})
    assert not Example.objects.filter(name="ex-1").exists()
    assert DatasetReviewApplication.objects.count() == 2
    example = Example.objects.get(name="ex-0")
    page = lead_client.get(f"/datasets/{example.automation.ref}/examples/{example.pk}/").content.decode()
    item = review.items.get(example_name="ex-0")
    assert f'href="/dataset-reviews/{review.pk}/items/{item.pk}/"' in page and "applied" in page


def test_the_item_page_says_when_the_input_drifted(client, reviewer, review, examples):
    from datasets.services import example_update

    example_update(example=examples[0], input={"customer": "moved"})
    client.force_login(reviewer)
    item = review.items.get(example_name="ex-0")
    html = client.get(f"/dataset-reviews/{review.pk}/items/{item.pk}/").content.decode()
    assert 'id="dsr-drift"' in html and "changed after this request was made" in html
