"""Proxy mode: the dataset review pages over a live Loupe's dataset-review-request routes (the
reviews generation only, SDK 0.20.93's wire). The upstream runs in this process over the test
database, so what the proxy wrote is read back from the upstream's tables; the proxy's page
never touches them itself (backends/eigenpal/dataset_reviews.py)."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from backends.eigenpal import EigenpalBackend
from backends.eigenpal.client import metered
from dsreview.models import DatasetReview, DatasetReviewEvent
from dsreview.services import item_update, review_create
from tests.dsreview.helpers import make_examples
from tests.factories import make_automation
from tests.proxy import Faults, install_backend

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def automation(transactional_db):
    automation = make_automation()
    make_examples(automation, 3)
    return automation


@pytest.fixture
def review(automation, lead):
    return review_create(automation=automation, user=lead, title="Recheck IBANs", status="open",
                         example_names=["ex-0", "ex-1", "ex-2"], focus_fields=[{"path": "vendor.iban"}])


@pytest.fixture
def lead_client(client, lead):
    client.force_login(lead)
    return client


def _key(review) -> str:
    return f"{review.automation_id}~{review.pk}"


def _stamp(html: str) -> str:
    return re.search(r'name="expected_updated_at" value="([^"]+)"', html).group(1)


def test_the_inbox_and_the_request_come_from_the_upstream(reviews_proxy, reviewer_client, review, lead):
    item = review.items.get(example_name="ex-1")
    item_update(review=review, item_id=item.pk, user=lead, action="approve",
                expected_updated_at=item.updated_at.isoformat())
    with metered() as meter:
        html = reviewer_client.get("/dataset-reviews/").content.decode()
    assert "Recheck IBANs" in html and "2 of 3" in html and f'href="/dataset-reviews/{_key(review)}/"' in html
    assert any("/v1/dataset-review-requests" in r for r in meter.requests)
    page = reviewer_client.get(f"/dataset-reviews/{_key(review)}/").content.decode()
    assert f'href="/dataset-reviews/{_key(review)}/items/{item.pk}/"' in page and "1 approved" in page


def test_a_lead_creates_a_request_from_the_dataset_page(reviews_proxy, lead_client, automation):
    page = lead_client.get(f"/datasets/{automation.ref}/").content.decode()
    assert 'id="send-for-review"' in page
    form = lead_client.get(f"/datasets/{automation.ref}/reviews/new/").content.decode()
    assert 'value="ex-2"' in form and "last check failed" not in form  # the upstream has no check verdicts
    response = lead_client.post(f"/datasets/{automation.ref}/reviews/new/", {
        "title": "From the proxy", "examples": ["ex-0", "ex-2"], "focus": "total: rounding", "status": "open",
        "notes": "ex-2: look twice"})
    created = DatasetReview.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/dataset-reviews/{_key(created)}/"
    assert created.example_names == ["ex-0", "ex-2"] and created.items.get(example_name="ex-2").note == "look twice"


def test_a_bad_path_from_the_upstream_is_shown_on_its_field_with_the_typing_kept(reviews_proxy, lead_client,
                                                                                  automation):
    response = lead_client.post(f"/datasets/{automation.ref}/reviews/new/", {
        "title": "Typed title", "examples": ["ex-0"], "focus": "vendor.bic", "status": "open"})
    html = response.content.decode()
    assert response.status_code == 200 and "No field" in html and 'value="Typed title"' in html
    assert not DatasetReview.objects.exists()


def test_item_approve_edit_and_comment_through_the_upstream(reviews_proxy, reviewer_client, review):
    item = review.items.get(example_name="ex-0")
    url = f"/dataset-reviews/{_key(review)}/items/{item.pk}/"
    html = reviewer_client.get(url).content.decode()
    assert 'data-focus="/vendor/iban"' in html and "invoice.pdf" in html
    reviewer_client.post(url + "act/", {"expected_updated_at": _stamp(html), "action": "comment",
                                        "comment": "checked the PDF"})
    html = reviewer_client.get(url).content.decode()
    assert "checked the PDF" in html
    response = reviewer_client.post(url + "act/", {"expected_updated_at": _stamp(html), "action": "edit",
                                                   "v:/vendor/iban": "DE00 1111"})
    item.refresh_from_db()
    assert response.status_code == 302 and item.status == "edited"
    assert item.current_expected["vendor"]["iban"] == "DE00 1111"
    second = review.items.get(example_name="ex-1")
    html = reviewer_client.get(response["Location"]).content.decode()
    assert response["Location"].endswith(f"/items/{second.pk}/")
    reviewer_client.post(response["Location"] + "act/", {"expected_updated_at": _stamp(html), "action": "approve"})
    second.refresh_from_db()
    assert second.status == "approved"


def test_a_stale_item_is_a_conflict_that_keeps_what_was_typed(reviews_proxy, reviewer_client, review, lead):
    item = review.items.get(example_name="ex-0")
    url = f"/dataset-reviews/{_key(review)}/items/{item.pk}/"
    stamp = _stamp(reviewer_client.get(url).content.decode())
    item_update(review=review, item_id=item.pk, user=lead, action="edit", expected_updated_at=stamp,
                expected={**item.current_expected, "total": 1})
    response = reviewer_client.post(url + "act/", {"expected_updated_at": stamp, "action": "edit",
                                                   "v:/vendor/iban": "typed by me", "comment": "my reasoning"})
    html = response.content.decode()
    assert response.status_code == 409 and "dsr-conflict" in html and "<code>total</code>" in html
    assert 'value="typed by me"' in html and "my reasoning</textarea>" in html
    item.refresh_from_db()
    assert item.current_expected["vendor"]["iban"] == "DE89 3704"


def test_an_upstream_failure_keeps_what_was_typed_and_writes_nothing(reviews_proxy, reviewer_client, review):
    item = review.items.get(example_name="ex-0")
    url = f"/dataset-reviews/{_key(review)}/items/{item.pk}/"
    stamp = _stamp(reviewer_client.get(url).content.decode())
    faults = Faults("reviews").fail("PATCH", "/items/", 503)
    install_backend(EigenpalBackend(transport=faults, sleep=lambda seconds: None))
    response = reviewer_client.post(url + "act/", {"expected_updated_at": stamp, "action": "edit",
                                                   "v:/vendor/iban": "typed by me", "comment": "kept"})
    html = response.content.decode()
    assert response.status_code == 502 and "The EigenPal API failed (HTTP 503)" in html
    assert 'value="typed by me"' in html and "kept</textarea>" in html
    assert faults.log.count(f"PATCH /v1/automations/{review.automation_id}/dataset-review-requests/{review.pk}"
                            f"/items/{item.pk}") == 1  # a write is not retried on a 5xx
    item.refresh_from_db()
    assert item.status == "pending"


def test_a_corrected_file_goes_up_as_multipart_and_comes_back(reviews_proxy, reviewer_client, review):
    item = review.items.get(example_name="ex-0")
    url = f"/dataset-reviews/{_key(review)}/items/{item.pk}/"
    stamp = _stamp(reviewer_client.get(url).content.decode())
    response = reviewer_client.post(url + "upload/", {
        "expected_updated_at": stamp, "upload_target": "result.csv",
        "upload": SimpleUploadedFile("fixed.csv", b"a,b\n5,6\n", "text/csv")})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.current_files[0]["origin"] == "corrected"
    download = reviewer_client.get(url + "files/expected/result.csv")
    assert b"".join(download.streaming_content) == b"a,b\n5,6\n"


def test_status_changes_go_upstream_and_show_on_the_timeline_apply_is_not_offered(reviews_proxy, lead_client,
                                                                                   review):
    url = f"/dataset-reviews/{_key(review)}/"
    lead_client.post(url + "status/", {"status": "closed"})
    review.refresh_from_db()
    assert review.status == "closed"
    html = lead_client.get(url).content.decode()
    assert "request changed" in html and "<strong>closed</strong>" in html
    assert "Apply approved edits" not in html and "apply the outcome there" in html
    assert DatasetReviewEvent.objects.filter(review=review, item=None, action="edited").exists()


def test_upstream_calls_per_page_are_fixed(reviews_proxy, reviewer_client, review):
    """docs/proxy.md#dataset-review-requests: the inbox 1, a request 2, an item 2 plus one per
    previewed input file (the automation list cached after the first page)."""
    item = review.items.get(example_name="ex-0")
    reviewer_client.get("/dataset-reviews/")
    for url, calls in (("/dataset-reviews/", 1), (f"/dataset-reviews/{_key(review)}/", 2),
                       (f"/dataset-reviews/{_key(review)}/items/{item.pk}/", 3)):
        with metered() as meter:
            assert reviewer_client.get(url).status_code == 200
        assert meter.calls == calls, (url, meter.requests)
