"""Review events for webhook subscribers: what each service call emits, in its transaction."""

import pytest
from django.core.files.base import ContentFile
from django.db import transaction

from events.models import Message, Subscription
from review.services import (
    StaleReview,
    expected_file_upload,
    review_save,
    review_set_status,
    review_update,
    review_verdict,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def listening(automation):
    return Subscription.objects.create(url="http://127.0.0.1:9/hook", automation_id=automation.ref)


def _events() -> list[tuple[str, dict]]:
    return [(m.type, m.payload["data"]) for m in Message.objects.order_by("created_at", "id")]


def test_a_first_thumbs_up_creates_and_closes(run, reviewer, listening, automation):
    review = review_verdict(run=run, verdict="pass", user=reviewer)
    events = _events()
    assert [t for t, _ in events] == ["review.created", "review.closed"]
    data = events[0][1]
    assert data == {"reviewId": review.pk, "runId": run.pk, "automationId": automation.ref, "verdict": "pass",
                    "status": "resolved", "version": review.version, "changed": ["status", "verdict"],
                    "correctedPaths": [], "by": reviewer.username}


def test_verdict_status_and_corrections_changes_are_updates(run, reviewer, listening):
    review_verdict(run=run, verdict="fail", user=reviewer)
    Message.objects.all().delete()
    review_save(run=run, user=reviewer, expected={"total": 1})
    review_verdict(run=run, verdict="partial", user=reviewer)
    review_set_status(run=run, action="ignore", user=reviewer)
    events = _events()
    assert [(t, d["changed"]) for t, d in events] == [
        ("review.updated", ["corrections"]), ("review.updated", ["verdict"]),
        ("review.updated", ["status"]), ("review.closed", ["status"])]
    assert "/total" in events[0][1]["correctedPaths"]


def test_a_note_alone_sends_nothing(run, reviewer, listening):
    review_verdict(run=run, verdict="fail", user=reviewer)
    Message.objects.all().delete()
    review_save(run=run, user=reviewer, note="just a note")
    assert _events() == []


def test_an_expected_file_is_a_corrections_update(run, reviewer, listening):
    review_verdict(run=run, verdict="fail", user=reviewer)
    Message.objects.all().delete()
    expected_file_upload(run=run, upload=ContentFile(b"a,b\n", name="out.csv"), name="out.csv", user=reviewer)
    assert [(t, d["changed"]) for t, d in _events()] == [("review.updated", ["corrections"])]


def test_a_refused_save_sends_nothing(run, reviewer, listening):
    review = review_verdict(run=run, verdict="fail", user=reviewer)
    Message.objects.all().delete()
    with pytest.raises(StaleReview):
        review_update(run=run, changes={"rating": "pass"}, user=reviewer, base_version=review.version - 1)
    with pytest.raises(RuntimeError), transaction.atomic():
        review_verdict(run=run, verdict="pass", user=reviewer)
        raise RuntimeError("rolled back")
    assert _events() == []


def test_other_automations_and_types_are_not_sent(run, reviewer, automation):
    Subscription.objects.create(url="http://127.0.0.1:9/a", automation_id="workflows.other")
    Subscription.objects.create(url="http://127.0.0.1:9/b", event_types=["review.closed"])
    review_verdict(run=run, verdict="fail", user=reviewer)
    assert _events() == []
    review_verdict(run=run, verdict="pass", user=reviewer)
    assert [t for t, _ in _events()] == ["review.closed"]
