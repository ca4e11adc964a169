"""One save for the reviewer: verdict, note and correction together, one audit event that
names the fields that changed."""

import copy

import pytest

from review.models import AuditEvent
from review.services import StaleReview, review_save, review_update
from tests.factories import INVOICE_OUTPUT


def _corrected():
    expected = copy.deepcopy(INVOICE_OUTPUT)
    expected["line_items"][1]["amount"] = 187.0
    return expected


def test_verdict_note_and_correction_saved_together(run, reviewer):
    review = review_save(run=run, user=reviewer, verdict="fail", note="Toner amount wrong", expected=_corrected(),
                         base_version=0)
    assert (review.rating, review.status, review.body, review.expected["line_items"][1]["amount"]) == (
        "fail", "open", "Toner amount wrong", 187.0)


def test_one_audit_event_names_the_corrected_field(run, reviewer):
    review_save(run=run, user=reviewer, verdict="fail", note="x", expected=_corrected())
    event = AuditEvent.objects.get(run=run)
    assert "fields corrected: /line_items/1/amount" in event.describe()


def test_left_out_parts_are_unchanged(run, reviewer):
    review_update(run=run, changes={"body": "keep me"}, user=reviewer)
    review = review_save(run=run, user=reviewer, verdict="pass")
    assert (review.body, review.rating, review.expected) == ("keep me", "pass", None)


def test_a_stale_version_saves_nothing(run, reviewer):
    review_update(run=run, changes={"body": "first"}, user=reviewer)
    with pytest.raises(StaleReview):
        review_save(run=run, user=reviewer, verdict="fail", note="second", expected=_corrected(), base_version=0)
    assert run.review.body == "first"


def test_a_later_correction_names_only_what_it_changed(run, reviewer):
    review_save(run=run, user=reviewer, expected=_corrected())
    again = _corrected()
    again["total"] = 1.0
    review_save(run=run, user=reviewer, expected=again)
    assert AuditEvent.objects.first().describe()[-1] == "fields corrected: /total"
