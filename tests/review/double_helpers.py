"""Runs chosen for double review, for the tests of review.double and its pages."""

from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from review.services import review_save
from runs.policy import sampling_policy_set
from tests.factories import make_automation, make_run


def double_automation(ref: str = "workflows.double-check", share_bp: int = 10_000):
    """Every run sampled, `share_bp` of them double reviewed, from now on."""
    automation = make_automation(ref)
    sampling_policy_set(automation=automation, user=None, reason="test", double_bp=share_bp)
    automation.refresh_from_db()
    return automation


def double_run(automation, **fields):
    """A run created after the share was set (a share applies to runs created from then on)."""
    fields.setdefault("createdAt", (timezone.now() + timedelta(seconds=1)).isoformat())
    return make_run(automation, **fields)


def first_reviewed(automation, user: User, verdict: str = "pass", expected=None, **fields):
    run = double_run(automation, **fields)
    kwargs = {} if expected is None else {"expected": expected}
    review_save(run=run, user=user, verdict=verdict, **kwargs)
    run.refresh_from_db()
    return run
