"""The review rollup (ReviewDayCount) stays equal to a recount from the reviews through every
kind of review write, so the health endpoint can read it instead of the reviews."""

from django.core.files.uploadedfile import SimpleUploadedFile

from datasets.services import example_promote
from review.counters import review_day_counts_recount
from review.models import ReviewDayCount
from review.services import expected_file_upload, review_clear, review_update
from tests.factories import make_runs


def rollup(automation) -> dict:
    return {(r.day, r.sampled, r.verdict): r.count
            for r in ReviewDayCount.objects.filter(automation=automation) if r.count}


def test_the_rollup_follows_every_write_and_equals_a_recount(automation, reviewer):
    a, b, c, d = make_runs(4, automation)
    review_update(run=a, changes={"rating": "pass", "status": "resolved"}, user=reviewer)
    review_update(run=b, changes={"rating": "partial", "status": "open"}, user=reviewer)
    review_update(run=b, changes={"rating": "fail"}, user=reviewer)
    review_update(run=c, changes={"body": "just a note"}, user=reviewer)
    expected_file_upload(run=d, upload=SimpleUploadedFile("x.csv", b"x"), name=None, user=reviewer)
    review_update(run=d, changes={"rating": "pass"}, user=reviewer)
    review_clear(run=a, user=reviewer)
    kept = rollup(automation)
    assert sorted(kept.values()) == [1, 1, 1]  # b incorrect, c nit, d correct
    review_day_counts_recount(automation=automation)
    assert rollup(automation) == kept


def test_promoting_an_unreviewed_run_counts_its_new_review(automation, reviewer):
    (run,) = make_runs(1, automation)
    example_promote(run=run, name="ex-1", user=reviewer)
    assert list(ReviewDayCount.objects.values_list("verdict", "count")) == [("nit", 1)]
