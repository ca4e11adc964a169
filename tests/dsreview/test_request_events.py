"""A lead's changes to a request itself (title, instructions, focus and ignored fields, status)
are timeline events: `edited` without an item (the wire has no other name for them), `reopened`
for a reopen; the request page shows them."""

import pytest

from dsreview.models import DatasetReviewEvent
from dsreview.services import review_update
from dsreview.wire import event_to_dict

pytestmark = pytest.mark.django_db


def _request_events(review):
    return list(DatasetReviewEvent.objects.filter(review=review, item=None).exclude(action="created")
                .order_by("created_at", "id"))


def test_a_status_change_is_an_edited_event_without_an_item(review, lead):
    review_update(review=review, user=lead, changes={"status": "paused"})
    [event] = _request_events(review)
    assert (event.action, event.actor, event.item_id) == ("edited", lead, None)
    assert event.diff_summary == {"changed": ["status"], "from": {"status": "open"}, "to": {"status": "paused"}}


def test_field_changes_name_what_changed_with_before_and_after(review, lead):
    review_update(review=review, user=lead, changes={"title": "Recheck totals", "instructions": "x" * 400,
                                                     "focusFields": [], "ignoredFields": ["lines"]})
    [event] = _request_events(review)
    assert event.diff_summary["changed"] == ["title", "instructions", "focusFields", "ignoredFields"]
    assert event.diff_summary["from"]["title"] == "Recheck" and event.diff_summary["to"]["title"] == "Recheck totals"
    assert len(event.diff_summary["to"]["instructions"]) == 301  # cut in the summary, whole on the request
    assert event.diff_summary["from"]["focusFields"] == [{"path": "vendor.iban", "reason": None}]


def test_a_change_to_nothing_new_records_nothing(review, lead):
    review_update(review=review, user=lead, changes={"title": "Recheck", "status": "open"})
    assert _request_events(review) == []


def test_a_reopen_is_reopened_and_says_from_what(review, lead):
    review_update(review=review, user=lead, changes={"status": "closed"})
    review_update(review=review, user=lead, changes={"status": "open", "title": "Again"})
    closed, reopened = _request_events(review)
    assert closed.diff_summary["to"] == {"status": "closed"}
    assert reopened.action == "reopened" and reopened.diff_summary["status"] == "open"
    assert reopened.diff_summary["changed"] == ["status", "title"]
    assert reopened.diff_summary["from"]["status"] == "closed"
    assert event_to_dict(reopened)["itemId"] is None


def test_the_request_page_shows_the_request_timeline(client, review, lead):
    client.force_login(lead)
    client.post(f"/dataset-reviews/{review.pk}/status/", {"status": "paused"})
    html = client.get(f"/dataset-reviews/{review.pk}/").content.decode()
    timeline = html[html.index('id="dsr-request-events"'):]
    assert "request changed" in timeline and "status open → <strong>paused</strong>" in timeline
    assert "lee" in timeline
