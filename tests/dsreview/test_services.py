"""Creating requests (snapshots), item actions, and applying the outcome to the dataset."""

import pytest

from datasets.models import Example, ExampleFolder
from datasets.services import example_file_store
from dsreview.apply import review_apply
from dsreview.models import DatasetReview, DatasetReviewApplication, DatasetReviewItem
from dsreview.queries import input_drift, progress_for
from dsreview.services import (
    ReviewInputError,
    item_file_edit,
    item_update,
    review_create,
    review_update,
)


def act(review, name, user, **kwargs):
    item = review.items.get(example_name=name)
    return item_update(review=review, item_id=item.pk, user=user, expected_updated_at=item.updated_at.isoformat(),
                       **kwargs)


def test_create_refuses_before_writing_anything(automation, examples, lead):
    with pytest.raises(ReviewInputError) as bad:
        review_create(automation=automation, user=lead, title="t", example_names=["ex-0", "ex-9"])
    assert bad.value.field == "exampleNames[1]"
    assert not DatasetReview.objects.exists() and not DatasetReviewItem.objects.exists()


def test_items_never_see_another_automations_examples(automation, examples, lead):
    from tests.factories import make_automation

    other = make_automation("workflows.other")
    with pytest.raises(ReviewInputError):
        review_create(automation=other, user=lead, title="t", example_names=["ex-0"])


def test_progress_is_counted_from_the_items(review, lead):
    act(review, "ex-0", lead, action="approve")
    act(review, "ex-1", lead, action="remove")
    assert progress_for([review.pk])[review.pk] == {"total": 3, "pending": 1, "approved": 1, "edited": 0,
                                                    "removed": 1, "remaining": 1, "complete": False}


def test_drift_from_a_replaced_input_file_only_when_the_bytes_differ(review, examples):
    example_file_store(example=examples[0], folder=ExampleFolder.INPUT, path="invoice.pdf",
                       content=b"%PDF-1.4 invoice 0", content_type="application/pdf")  # same bytes, new row
    example_file_store(example=examples[1], folder=ExampleFolder.INPUT, path="extra.png", content=b"png",
                       content_type="image/png")
    drift = input_drift(review.items.all())
    assert [drift[i.pk] for i in review.items.all()] == [False, True, False]


def test_closing_changes_no_example(review, lead):
    act(review, "ex-0", lead, action="edit", expected={"total": 1})
    before = list(Example.objects.values_list("name", "expected", "updated_at").order_by("name"))
    review_update(review=review, user=lead, changes={"status": "closed"})
    assert list(Example.objects.values_list("name", "expected", "updated_at").order_by("name")) == before


def test_apply_replaces_edited_outputs_and_files_and_deletes_removed_only_when_confirmed(review, lead):
    act(review, "ex-0", lead, action="edit", expected={"total": 1})
    item = review.items.get(example_name="ex-0")
    item = item_file_edit(review=review, item_id=item.pk, user=lead, expected_updated_at=item.updated_at.isoformat(),
                          content=b"fixed", content_type="text/csv", file_path="result.csv")
    item_file_edit(review=review, item_id=item.pk, user=lead, expected_updated_at=item.updated_at.isoformat(),
                   content=b"new", content_type="text/plain", new_path="notes.txt")
    act(review, "ex-1", lead, action="remove")
    act(review, "ex-2", lead, action="approve")
    review_update(review=review, user=lead, changes={"status": "closed"})

    first = review_apply(review=review, user=lead)
    assert (first.replaced, first.deleted, first.needs_confirmation) == (["ex-0"], [], ["ex-1"])
    example = Example.objects.get(name="ex-0")
    assert example.expected == {"total": 1}
    files = {f.path: f.file.read() for f in example.files.filter(folder=ExampleFolder.EXPECTED)}
    assert files == {"result.csv": b"fixed", "notes.txt": b"new"}
    assert Example.objects.filter(name="ex-1").exists()
    assert Example.objects.get(name="ex-2").expected["total"] == 102  # approved: unchanged

    second = review_apply(review=review, user=lead, delete_removed=True)
    assert (second.replaced, second.deleted) == ([], ["ex-1"])  # ex-0 is not applied twice
    assert not Example.objects.filter(name="ex-1").exists()
    applied = DatasetReviewApplication.objects.order_by("created_at", "id")
    assert [(a.example_name, a.kind, a.review_id, a.item.example_name) for a in applied] == [
        ("ex-0", "replace_expected", review.pk, "ex-0"), ("ex-1", "delete_example", review.pk, "ex-1")]
    assert applied[0].before["expected"]["total"] == 100 and applied[0].before["files"] == ["result.csv"]
    assert input_drift(review.items.all())[review.items.get(example_name="ex-1").pk] is False


def test_apply_skips_an_item_whose_input_drifted(review, lead, examples):
    from datasets.services import example_update

    act(review, "ex-0", lead, action="edit", expected={"total": 1})
    example_update(example=examples[0], input={"customer": "moved"})
    result = review_apply(review=review, user=lead)
    assert result.replaced == [] and "ex-0" in result.skipped
    assert Example.objects.get(name="ex-0").expected["total"] == 100


def test_a_draft_or_cancelled_request_has_nothing_to_apply(automation, examples, lead):
    draft = review_create(automation=automation, user=lead, title="t", example_names=["ex-0"])
    with pytest.raises(ReviewInputError):
        review_apply(review=draft, user=lead)
