"""Double review (docs/rules.md#double-review): which runs are chosen, the blind second review
kept apart from the first, comparison, and a lead's adjudication becoming the run's review."""

import pytest
from django.contrib.auth.models import User

from review.double import field_agreement, second_adjudicate, second_submit, second_take
from review.models import AuditEvent, Review, SecondReview
from review.services import ReviewError, review_save
from runs.models import Run
from runs.policy import InvalidRate, sampling_policy_set
from runs.sampling import double_bucket
from tests.factories import INVOICE_OUTPUT, make_automation, make_runs
from tests.review.double_helpers import double_automation, double_run, first_reviewed

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    return {name: User.objects.create_user(name) for name in ("first", "second", "third", "boss")}


def test_the_share_chooses_runs_by_a_second_bucket_from_now_on():
    automation = make_automation("workflows.shared")
    before = make_runs(40, automation)  # created before the change: never chosen
    sampling_policy_set(automation=automation, user=None, reason="calibrate", double_bp=5_000)
    after = [double_run(automation) for _ in range(60)]
    assert {r.double_review for r in before} == {""}
    for run in after:
        assert run.double_review == ("wanted" if double_bucket(run.pk) < 5_000 else "")
    assert 10 < sum(r.double_review == "wanted" for r in after) < 50


def test_only_sampled_runs_are_chosen():
    automation = make_automation("workflows.half", rate_bp=0)
    sampling_policy_set(automation=automation, user=None, reason="x", double_bp=10_000)
    run = double_run(automation)
    assert not run.sampled and run.double_review == ""


@pytest.mark.parametrize("value", [-1, 10_001, 12.5, True, "50"])
def test_a_share_outside_0_to_100_percent_is_refused_naming_the_field(value):
    automation = make_automation()
    with pytest.raises(InvalidRate) as refused:
        sampling_policy_set(automation=automation, user=None, reason="x", double_bp=value)
    assert refused.value.field == "doubleReviewShare"
    automation.refresh_from_db()
    assert automation.double_review_bp == 0


def test_the_first_reviewer_cannot_take_the_second_review(people):
    run = first_reviewed(double_automation(), people["first"])
    with pytest.raises(ReviewError) as refused:
        second_take(run_id=run.pk, user=people["first"])
    assert refused.value.field == "reviewer"


def test_a_run_without_a_first_verdict_is_not_offered(people):
    run = double_run(double_automation())
    with pytest.raises(ReviewError, match="no verdict yet"):
        second_take(run_id=run.pk, user=people["second"])


def test_one_second_reviewer_at_a_time_and_they_cannot_write_the_first(people):
    run = first_reviewed(double_automation(), people["first"])
    second_take(run_id=run.pk, user=people["second"])
    with pytest.raises(ReviewError, match="second is giving"):
        second_take(run_id=run.pk, user=people["third"])
    with pytest.raises(ReviewError) as refused:
        review_save(run=run, user=people["second"], verdict="fail")
    assert refused.value.field == "reviewer"
    assert Review.objects.get(run=run).rating == "pass"


def test_agreeing_reviews_finish_the_run(people):
    run = first_reviewed(double_automation(), people["first"])
    held = second_take(run_id=run.pk, user=people["second"])
    second = second_submit(run_id=run.pk, user=people["second"], verdict="pass", base_version=held.version)
    assert second.agrees is True and second.first_rating == "pass" and second.fields == {}
    assert Run.objects.get(pk=run.pk).double_review == "done"
    assert AuditEvent.objects.filter(run=run, action="second_review:pass").exists()


def test_differing_corrections_dispute_the_run_and_the_lead_decides(people):
    first_doc = {**INVOICE_OUTPUT, "total": 1.0}
    run = first_reviewed(double_automation(), people["first"], verdict="fail", expected=first_doc)
    second_take(run_id=run.pk, user=people["second"])
    second_doc = {**INVOICE_OUTPUT, "total": 2.0, "currency": "USD"}
    second = second_submit(run_id=run.pk, user=people["second"], verdict="fail", expected=second_doc)
    assert second.agrees is False
    assert second.fields == {"/total": False, "/currency": False}
    assert Run.objects.get(pk=run.pk).double_review == "disputed"
    review = second_adjudicate(run_id=run.pk, user=people["boss"], decision="second", base_version=second.version)
    assert (review.rating, review.expected) == ("fail", second_doc)
    assert Run.objects.get(pk=run.pk).double_review == "done"
    assert SecondReview.objects.get(run=run).decision == "second"
    assert AuditEvent.objects.filter(run=run, action="adjudicate:second", user=people["boss"]).exists()


def test_the_lead_may_write_their_own_review(people):
    run = first_reviewed(double_automation(), people["first"], verdict="pass")
    second_take(run_id=run.pk, user=people["second"])
    second_submit(run_id=run.pk, user=people["second"], verdict="fail", note="total wrong")
    review = second_adjudicate(run_id=run.pk, user=people["boss"], decision="own", verdict="partial", note="both half right")
    assert (review.rating, review.status, review.body) == ("partial", "open", "both half right")


def test_a_stale_second_review_is_refused(people):
    run = first_reviewed(double_automation(), people["first"])
    held = second_take(run_id=run.pk, user=people["second"])
    second_take(run_id=run.pk, user=people["second"])  # renewed: version moved on
    with pytest.raises(ReviewError) as refused:
        second_submit(run_id=run.pk, user=people["second"], verdict="pass", base_version=held.version)
    assert refused.value.field == "version"
    assert SecondReview.objects.get(run=run).submitted_at is None


def test_field_agreement_counts_a_field_alike_only_when_both_changed_it_the_same():
    output = {"a": 1, "b": [{"x": 1}, {"x": 2}]}
    assert field_agreement(output, {"a": 2, "b": [{"x": 1}, {"x": 2}]}, {"a": 2, "b": [{"x": 1}, {"x": 3}]}) == {
        "/a": True, "/b/*/x": False}
    assert field_agreement(output, None, None) == {}


def test_the_estimate_counts_the_first_review_until_the_lead_decides(people):
    from datetime import timedelta

    from django.utils import timezone

    from insights.stats import pass_rate_estimates

    automation = double_automation("workflows.estimate-double")
    run = first_reviewed(automation, people["first"], verdict="pass")
    second_take(run_id=run.pk, user=people["second"])
    second_submit(run_id=run.pk, user=people["second"], verdict="fail")
    window = {"start": timezone.now() - timedelta(days=1), "end": timezone.now() + timedelta(days=1)}
    assert pass_rate_estimates([automation], **window)[automation.pk].estimate == 1.0  # the first review
    second_adjudicate(run_id=run.pk, user=people["boss"], decision="second")
    assert pass_rate_estimates([automation], **window)[automation.pk].estimate == 0.0  # the lead's decision
