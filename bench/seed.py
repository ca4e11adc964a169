"""What the load tests seed alike: an automation emptied of its runs and given new ones, and the
reviewers who work them (loadtest_claims, loadtest_human_reviews)."""

from datetime import timedelta

from django.contrib.auth.models import Group, User
from django.utils import timezone

from runs.models import Automation, Run
from runs.records import parse_run_record
from runs.services import automation_ensure

BATCH = 500


def loadtest_automation(slug: str, rate_bp: int, runs: int, record_of, store) -> Automation:
    """The workflow `slug`, its runs deleted, then `runs` new ones: `record_of(n)`, the n-th run's
    record, created n seconds before now, stored by `store` (a runs service) 500 at a time."""
    automation = automation_ensure(kind="workflow", slug=slug, rate_bp=rate_bp)
    Run.objects.filter(automation=automation).delete()
    base = timezone.now()
    records = [parse_run_record({**record_of(n), "createdAt": (base - timedelta(seconds=n)).isoformat()})
               for n in range(runs)]
    for start in range(0, len(records), BATCH):
        store(records[start:start + BATCH])
    return automation


def loadtest_reviewers(prefix: str, count: int) -> list[User]:
    """`count` users, `<prefix>-1` and on, in the reviewer group (created once, kept after)."""
    group = Group.objects.get_or_create(name="reviewer")[0]
    users = []
    for n in range(1, count + 1):
        user, _ = User.objects.get_or_create(username=f"{prefix}-{n}")
        user.groups.add(group)
        users.append(user)
    return users
