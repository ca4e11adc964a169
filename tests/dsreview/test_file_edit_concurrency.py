"""Competing corrected-file uploads of one item in real parallel transactions on PostgreSQL (the
item page's upload and the API's edit-file share dsreview.services.item_file_edit): of uploads
that saw the same updatedAt exactly one wins, the others get StaleItem and leave no file row."""

from django.contrib.auth.models import User

from dsreview.models import DatasetReviewEvent, DatasetReviewFile, DatasetReviewItem
from dsreview.services import StaleItem, item_file_edit, item_update
from tests.concurrency import PARALLEL_WRITERS, race

pytestmark = PARALLEL_WRITERS

WRITERS = 4


def test_one_of_the_uploads_that_saw_the_same_version_wins(review):
    item = review.items.first()
    seen = item.updated_at.isoformat()
    users = [User.objects.create_user(f"uploader{i}") for i in range(WRITERS)]

    def writer(i):
        if i == 0:  # one writer edits the JSON instead: the lock is the item's, whatever the action
            return item_update(review=review, item_id=item.pk, user=users[i], action="approve",
                               expected_updated_at=seen)
        return item_file_edit(review=review, item_id=item.pk, user=users[i], expected_updated_at=seen,
                              content=f"a,b\n{i},{i}\n".encode(), content_type="text/csv", file_path="result.csv")

    outcomes = race(WRITERS, writer)
    won = [o for o in outcomes if o.ok]
    assert len(won) == 1 and all(isinstance(o.error, StaleItem) for o in outcomes if not o.ok), \
        [o.error for o in outcomes]
    final = DatasetReviewItem.objects.get(pk=item.pk)
    uploads = DatasetReviewFile.objects.filter(item=item)
    if won[0].index == 0:
        assert final.status == "approved" and not uploads.exists()
    else:
        [upload] = uploads
        assert final.current_files[0]["fileId"] == str(upload.pk)
        assert upload.file.read() == f"a,b\n{won[0].index},{won[0].index}\n".encode()
    assert DatasetReviewEvent.objects.filter(item=item).exclude(action="commented").count() == 1
