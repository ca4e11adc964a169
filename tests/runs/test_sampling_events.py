import pytest

from events.models import Message, Subscription
from runs.policy import sampling_rate_set

pytestmark = pytest.mark.django_db


def test_a_rate_change_emits_sampling_rate_changed(automation, ops):
    Subscription.objects.create(url="http://127.0.0.1:9/hook", automation_id=automation.ref)
    sampling_rate_set(automation=automation, rate_bp=500, user=ops, reason="stable")
    message = Message.objects.get()
    assert message.type == "sampling.rate_changed"
    data = message.payload["data"]
    assert (data["automationId"], data["oldRate"], data["newRate"], data["reason"], data["by"]) == (
        automation.ref, 1.0, 0.05, "stable", ops.username)
