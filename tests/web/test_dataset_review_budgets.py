"""The dataset review pages' query budgets, pinned at two sizes (the count does not grow with
requests, items, events or files) and no larger than the review pane's (PANE_QUERIES)."""

import pytest

from dsreview.services import item_update, review_create
from tests.dsreview.helpers import make_examples
from tests.web.test_dataset_reviews import INBOX_QUERIES, ITEM_QUERIES
from tests.web.test_query_budgets import PANE_QUERIES

pytestmark = pytest.mark.django_db
# session, user, the request with its automation, its progress (one grouped count), its items,
# its timeline with actors and items.
REQUEST_QUERIES = 6


def test_the_budgets_are_within_the_review_panes():
    assert max(INBOX_QUERIES, ITEM_QUERIES, REQUEST_QUERIES) <= PANE_QUERIES


@pytest.mark.parametrize("size", [1, 12])
def test_the_inbox_request_and_item_pages_do_not_grow(client, reviewer, lead, automation, size,
                                                      django_assert_num_queries):
    make_examples(automation, size)
    names = [f"ex-{n}" for n in range(size)]
    reviews = [review_create(automation=automation, user=lead, title=f"R{n}", status="open", example_names=names,
                             item_notes=[{"exampleName": name, "comment": "look"} for name in names])
               for n in range(size)]
    review = reviews[-1]
    item = review.items.get(example_name="ex-0")
    for n in range(size):  # the item's timeline grows with the size
        item_update(review=review, item_id=item.pk, user=lead, action="comment", comment=f"c{n}",
                    expected_updated_at=review.items.get(pk=item.pk).updated_at.isoformat())
    client.force_login(reviewer)
    client.get("/dataset-reviews/")
    with django_assert_num_queries(INBOX_QUERIES):
        assert client.get("/dataset-reviews/").status_code == 200
    with django_assert_num_queries(REQUEST_QUERIES):
        assert client.get(f"/dataset-reviews/{review.pk}/").status_code == 200
    with django_assert_num_queries(ITEM_QUERIES):
        assert client.get(f"/dataset-reviews/{review.pk}/items/{item.pk}/").status_code == 200


def test_a_large_request_shows_its_items_a_hundred_at_a_time(client, reviewer, lead, automation):
    make_examples(automation, 105, files=False)
    review = review_create(automation=automation, user=lead, title="Many", status="open",
                           example_names=[f"ex-{n}" for n in range(105)])
    client.force_login(reviewer)
    first = client.get(f"/dataset-reviews/{review.pk}/").content.decode()
    assert first.count('class="mono" href="/dataset-reviews/') == 100 and "Items 1–100 of 105" in first
    assert 'href="?page=2"' in first
    second = client.get(f"/dataset-reviews/{review.pk}/?page=2").content.decode()
    assert second.count('class="mono" href="/dataset-reviews/') == 5 and ">ex-104<" in second
