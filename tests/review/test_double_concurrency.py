"""The double-review writes in real parallel transactions on PostgreSQL
(docs/rules.md#concurrent-writes): taking a second review, submitting it, adjudicating."""

import pytest
from django.contrib.auth.models import User

from review.double import StaleSecondReview, second_adjudicate, second_submit, second_take
from review.models import AuditEvent, Review, SecondReview
from review.services import ReviewError
from tests.concurrency import PARALLEL_WRITERS, in_thread, lock_held, race
from tests.review.double_helpers import double_automation, first_reviewed

pytestmark = PARALLEL_WRITERS

WRITERS = 4


@pytest.fixture
def users():
    return [User.objects.create_user(f"writer{i}") for i in range(WRITERS + 1)]


@pytest.fixture
def run(users):
    return first_reviewed(double_automation(), users[-1])


def _winner(outcomes, expected=ReviewError) -> int:
    assert [o.error for o in outcomes if o.error is not None and not isinstance(o.error, expected)] == []
    winners = [o.index for o in outcomes if o.ok]
    assert len(winners) == 1, f"winners: {winners}"
    return winners[0]


def test_racing_reviewers_for_one_second_review_leave_one_holder(run, users):
    outcomes = race(WRITERS, lambda i: second_take(run_id=run.pk, user=users[i]))
    winner = _winner(outcomes)
    assert SecondReview.objects.get(run=run).reviewer == users[winner]


def test_racing_submits_on_one_version_save_once(run, users):
    held = second_take(run_id=run.pk, user=users[0])
    verdicts = ["pass", "fail", "partial", "fail"]
    outcomes = race(WRITERS, lambda i: second_submit(run_id=run.pk, user=users[0], verdict=verdicts[i],
                                                      base_version=held.version))
    winner = _winner(outcomes)
    assert SecondReview.objects.get(run=run).rating == verdicts[winner]
    assert AuditEvent.objects.filter(run=run, action__startswith="second_review:").count() == 1


def test_a_submit_waiting_for_the_lock_sees_the_hold_taken_over(run, users):
    """Another transaction holds the run's lock and renews the hold (a new version); a submit
    based on the old version waits, then must see the new one and be refused."""
    held = second_take(run_id=run.pk, user=users[0])
    with lock_held(lambda: second_take(run_id=run.pk, user=users[0])) as other:
        thread, mine = in_thread(lambda: second_submit(run_id=run.pk, user=users[0], verdict="pass",
                                                       base_version=held.version))
        other.release()
        thread.join(30)
    assert isinstance(mine.error, StaleSecondReview), mine
    assert mine.error.current.version == held.version + 1
    assert SecondReview.objects.get(run=run).submitted_at is None


def test_racing_leads_adjudicate_once(run, users):
    second_take(run_id=run.pk, user=users[0])
    disputed = second_submit(run_id=run.pk, user=users[0], verdict="fail")
    decisions = ["first", "second", "first", "second"]
    outcomes = race(WRITERS, lambda i: second_adjudicate(run_id=run.pk, user=users[i], decision=decisions[i],
                                                          base_version=disputed.version))
    winner = _winner(outcomes)
    assert SecondReview.objects.get(run=run).decided_by == users[winner]
    assert Review.objects.get(run=run).rating == ("pass" if decisions[winner] == "first" else "fail")
    assert AuditEvent.objects.filter(run=run, action__startswith="adjudicate:").count() == 1
