"""The queue's chip counts read from the counters loaded with the automation list equal the
counts read from the ChipCount table, for every scope."""

import pytest

from backends.base import QueueQuery
from backends.local import LocalBackend
from backends.local_queries import queue_chip_counts
from review.services import review_verdict
from tests.factories import make_automation, make_runs

pytestmark = pytest.mark.django_db


def test_counts_loaded_with_the_automations_equal_the_counter_table(reviewer):
    half, other = make_automation("workflows.half", rate_bp=5000), make_automation("agents.other")
    for automation in (half, other):
        for i, run in enumerate(make_runs(12, automation)):
            if i % 3:
                review_verdict(run=run, verdict=("pass", "fail")[i % 2], user=reviewer)
    backend = LocalBackend()
    automations = tuple(backend.automations())
    by_pk = {a.pk: a for a in automations}
    for automation in (None, half, other):
        for sampled_only in (True, False):
            chosen = by_pk[automation.pk] if automation else None
            loaded = backend.chip_counts(QueueQuery(automation=chosen, sampled_only=sampled_only,
                                                    automations=automations))
            table = queue_chip_counts(QueueQuery(automation=automation, sampled_only=sampled_only))
            assert loaded == {chip: n for chip, n in table.items() if n}
            assert sum(loaded.values()) == (24 if automation is None else 12) or sampled_only
