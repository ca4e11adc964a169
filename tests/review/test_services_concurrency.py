"""Competing writers of one review in real parallel transactions on PostgreSQL
(docs/rules.md#concurrent-writes): exactly one writer based on a version wins, the others are
told so with the current review, nothing is lost, no writer sees an error of the database,
and the audit trail holds one event for every version."""

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile

from datasets.models import Example
from datasets.services import example_promote
from review.models import AuditEvent, ExpectedFile, Review
from review.services import (
    StaleReview,
    expected_file_upload,
    review_clear,
    review_locked,
    review_save,
    review_update,
)
from runs.models import Run
from tests.concurrency import PARALLEL_WRITERS, in_thread, lock_held, race
from tests.factories import make_automation, make_run

pytestmark = PARALLEL_WRITERS

WRITERS = 4


@pytest.fixture
def users():
    return [User.objects.create_user(f"writer{i}") for i in range(WRITERS)]


@pytest.fixture
def run():
    return make_run(make_automation())


def _reviewed(run, user) -> int:
    return review_update(run=run, changes={"rating": "fail", "body": "first"}, user=user).version


def _events(run) -> int:
    return AuditEvent.objects.filter(run=run).count()


def _only_winner(outcomes) -> int:
    assert [o.error for o in outcomes if o.error is not None and not isinstance(o.error, StaleReview)] == []
    winners = [o.index for o in outcomes if o.ok]
    assert len(winners) == 1, f"winners: {winners}"
    return winners[0]


def test_a_save_waiting_for_the_lock_is_refused_once_the_other_commits(run, users):
    """The deterministic case: another transaction holds the run's lock and saves version 2;
    a save based on version 1 waits, then must see version 2 and be refused."""
    base = _reviewed(run, users[0])
    other = lambda: review_update(run=run, changes={"body": "theirs"}, user=users[1], base_version=base)  # noqa: E731
    with lock_held(other) as held:
        thread, mine = in_thread(lambda: review_update(run=run, changes={"body": "mine"}, user=users[2],
                                                       base_version=base))
        held.release()
        thread.join(30)
    assert isinstance(mine.error, StaleReview), mine
    assert (mine.error.current.version, mine.error.current.body) == (base + 1, "theirs")
    review = Review.objects.get(run=run)
    assert (review.version, review.body) == (base + 1, "theirs")
    assert _events(run) == 2


def test_simultaneous_saves_of_one_version_one_wins(run, users):
    base = _reviewed(run, users[0])
    outcomes = race(WRITERS, lambda i: review_save(run=run, user=users[i], note=f"note {i}", verdict="partial",
                                                   base_version=base))
    winner = _only_winner(outcomes)
    for outcome in outcomes:
        if not outcome.ok:
            assert outcome.error.current.version == base + 1
            assert outcome.error.current.body == f"note {winner}"
    review = Review.objects.get(run=run)
    assert (review.version, review.body, review.rating) == (base + 1, f"note {winner}", "partial")
    assert _events(run) == 2


def test_simultaneous_first_saves_of_a_run_without_review_one_wins(run, users):
    """The review does not exist yet: before, the others met the unique run_id (a 500)."""
    outcomes = race(WRITERS, lambda i: review_save(run=run, user=users[i], note=f"note {i}", base_version=0))
    winner = _only_winner(outcomes)
    assert Review.objects.get(run=run).body == f"note {winner}"
    assert _events(run) == 1


def test_writes_without_a_version_all_land_one_after_another(run, users):
    outcomes = race(WRITERS, lambda i: review_update(run=run, changes={"body": f"note {i}"}, user=users[i]))
    assert [o.error for o in outcomes] == [None] * WRITERS
    versions = sorted(o.value.version for o in outcomes)
    assert versions == list(range(1, WRITERS + 1))
    assert Review.objects.get(run=run).version == _events(run) == WRITERS


def test_chip_and_counters_stay_exact_under_racing_verdicts(run, users):
    verdicts = ["pass", "fail", "partial", "fail"]
    race(WRITERS, lambda i: review_save(run=run, user=users[i], verdict=verdicts[i]))
    run = Run.objects.get(pk=run.pk)
    review = Review.objects.get(run=run)
    from runs.chips import derive_chip
    assert run.chip == derive_chip(review.rating, review.status)
    from runs.models import ChipCount
    counts = {c.chip: c.count for c in ChipCount.objects.filter(automation_id=run.automation_id, sampled=run.sampled)
              if c.count}
    assert counts == {run.chip: 1}


def test_simultaneous_uploads_of_one_name_all_stay(run, users):
    """The pages keep a same-name file beside the first; the free name is chosen under the lock."""
    outcomes = race(WRITERS, lambda i: expected_file_upload(
        run=run, upload=SimpleUploadedFile("fixed.csv", f"upload {i}\n".encode()), name="fixed.csv",
        user=users[i], keep_existing=True))
    assert [o.error for o in outcomes] == [None] * WRITERS
    names = sorted(ExpectedFile.objects.filter(review__run=run).values_list("name", flat=True))
    assert names == ["fixed-2.csv", "fixed-3.csv", "fixed-4.csv", "fixed.csv"]
    contents = {f.file.open("rb").read() for f in ExpectedFile.objects.filter(review__run=run)}
    assert contents == {f"upload {i}\n".encode() for i in range(WRITERS)}
    assert Review.objects.get(run=run).version == _events(run) == WRITERS


def test_simultaneous_promotes_from_one_version_one_wins(run, users):
    base = review_update(run=run, changes={"rating": "fail", "expected": {"total": 1}}, user=users[0]).version
    outcomes = race(WRITERS, lambda i: example_promote(run=run, name="same-name", user=users[i], base_version=base))
    _only_winner(outcomes)
    assert Example.objects.filter(name="same-name").count() == 1
    assert Review.objects.get(run=run).version == base + 1
    assert AuditEvent.objects.filter(run=run, action="promote").count() == 1


def test_simultaneous_promotes_without_a_version_make_one_example(run, users):
    review_update(run=run, changes={"rating": "fail", "expected": {"total": 1}}, user=users[0])
    outcomes = race(WRITERS, lambda i: example_promote(run=run, name="same-name", user=users[i]))
    assert [o.error for o in outcomes] == [None] * WRITERS
    assert Example.objects.filter(name="same-name").count() == 1
    assert AuditEvent.objects.filter(run=run, action="promote").count() == WRITERS
    assert Review.objects.get(run=run).version == _events(run)


def test_a_clear_and_a_save_of_one_version_one_wins(run, users):
    base = _reviewed(run, users[0])

    def writer(i):
        if i == 0:
            return review_clear(run=run, user=users[0], base_version=base)
        return review_update(run=run, changes={"body": "kept?"}, user=users[1], base_version=base)

    outcomes = race(2, writer)
    winner = _only_winner(outcomes)
    if winner == 0:
        assert not Review.objects.filter(run=run).exists()
    else:
        assert Review.objects.get(run=run).body == "kept?"


def test_the_primitive_reads_the_review_after_the_lock(run, users):
    """review_locked's second statement sees the version another transaction committed while
    it waited (one statement joining the review would see the old one)."""
    base = _reviewed(run, users[0])
    other = lambda: review_update(run=run, changes={"body": "theirs"}, user=users[1])  # noqa: E731

    def mine():
        from django.db import transaction
        with transaction.atomic():
            return review_locked(run.pk)[1].version

    with lock_held(other) as held:
        thread, seen = in_thread(mine)
        held.release()
        thread.join(30)
    assert seen.error is None and seen.value == base + 1
