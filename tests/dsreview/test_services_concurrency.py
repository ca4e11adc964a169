"""Competing writers of one dataset review item in real parallel transactions on PostgreSQL
(docs/rules.md#concurrent-writes): of writers that saw the same updatedAt exactly one wins, the
others get StaleItem with the winner's item, and the timeline holds one event per write."""

from django.contrib.auth.models import User

from dsreview.models import DatasetReviewEvent, DatasetReviewItem
from dsreview.services import StaleItem, item_update
from tests.concurrency import PARALLEL_WRITERS, in_thread, lock_held, race

pytestmark = PARALLEL_WRITERS

WRITERS = 4


def test_one_of_the_writers_that_saw_the_same_version_wins(review):
    item = review.items.first()
    seen = item.updated_at.isoformat()
    users = [User.objects.create_user(f"writer{i}") for i in range(WRITERS)]

    def writer(i):
        return item_update(review=review, item_id=item.pk, user=users[i], action="edit", expected_updated_at=seen,
                           expected={"total": i})

    outcomes = race(WRITERS, writer)
    won = [o for o in outcomes if o.ok]
    stale = [o for o in outcomes if isinstance(o.error, StaleItem)]
    assert len(won) == 1 and len(stale) == WRITERS - 1, [o.error for o in outcomes]
    final = DatasetReviewItem.objects.get(pk=item.pk)
    assert final.current_expected == {"total": won[0].index}
    assert all(o.error.item.updated_at == final.updated_at for o in stale)
    assert DatasetReviewEvent.objects.filter(item=item, action="edited").count() == 1


def test_a_writer_that_waited_for_the_lock_sees_the_write_it_waited_for(review, lead):
    """The version is read after the lock was granted, in a statement of its own: a writer that
    queued behind another with the same updatedAt is refused, not let through on a stale read."""
    item = review.items.first()
    seen = item.updated_at.isoformat()

    def lock():
        DatasetReviewItem.objects.select_for_update().filter(pk=item.pk).values_list("pk").first()

    def other_write():
        DatasetReviewItem.objects.filter(pk=item.pk).update(updated_at=item.updated_at.replace(year=2030),
                                                           edited_expected={"by": "other"},
                                                           expected_edited=True)

    with lock_held(lock, other_write) as held:
        thread, outcome = in_thread(lambda: item_update(review=review, item_id=item.pk, user=lead, action="approve",
                                                        expected_updated_at=seen))
        held.release()
        thread.join(30)
    assert isinstance(outcome.error, StaleItem)
    assert outcome.error.item.current_expected == {"by": "other"}
    assert DatasetReviewItem.objects.get(pk=item.pk).status == "pending"
