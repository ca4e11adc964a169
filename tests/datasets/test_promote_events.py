import pytest

from datasets.services import example_promote
from events.models import Message, Subscription
from review.services import review_save

pytestmark = pytest.mark.django_db


def test_promotion_emits_example_promoted(run, reviewer, automation):
    Subscription.objects.create(url="http://127.0.0.1:9/hook", event_types=["example.promoted"])
    review_save(run=run, user=reviewer, verdict="fail", expected={"total": 3})
    example = example_promote(run=run, name="total-miss", user=reviewer)
    message = Message.objects.get()
    assert message.type == "example.promoted" and message.automation_id == automation.ref
    assert message.payload["data"] == {"exampleId": example.pk, "exampleName": "total-miss", "created": True,
                                       "runId": run.pk, "reviewId": run.review.pk, "automationId": automation.ref,
                                       "hasExpected": True, "by": reviewer.username}
