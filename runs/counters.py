"""The derived counters and rollups of runs: chip counts per (automation, sampled, chip) and
daily run counts per (automation, day, sampled). Kept in step by the services that write runs
and reviews (same transaction); rebuilt from the runs by `recount`. Imports only models."""

from collections import Counter

from django.db import transaction
from django.db.models import Count, F
from django.db.models.functions import TruncDate

from runs.models import Automation, ChipCount, Run, RunDayCount


def day_counts_add(moves: Counter) -> None:
    """Apply {(automation_id, day, sampled): delta} to the daily run counts."""
    for (automation_id, day, sampled), delta in moves.items():
        if not delta:
            continue
        updated = RunDayCount.objects.filter(automation_id=automation_id, day=day, sampled=sampled).update(
            count=F("count") + delta)
        if not updated:
            RunDayCount.objects.get_or_create(automation_id=automation_id, day=day, sampled=sampled,
                                              defaults={"count": 0})
            RunDayCount.objects.filter(automation_id=automation_id, day=day, sampled=sampled).update(
                count=F("count") + delta)


def day_counts_recount(*, automation: Automation) -> None:
    """Rebuild the daily run counts of one automation from its runs (commands, repairs)."""
    rows = (Run.objects.filter(automation=automation).annotate(day=TruncDate("created_at")).order_by()
            .values("day", "sampled").annotate(n=Count("pk")))
    with transaction.atomic():
        RunDayCount.objects.filter(automation=automation).delete()
        RunDayCount.objects.bulk_create([RunDayCount(automation=automation, day=r["day"], sampled=r["sampled"],
                                                     count=r["n"]) for r in rows])


def chip_counts_recount(*, automation: Automation) -> None:
    """Rebuild the chip counters of one automation from its runs (commands, repairs), and its
    daily run counts."""
    day_counts_recount(automation=automation)
    rows = (
        Run.objects.filter(automation=automation).order_by().values("sampled", "chip").annotate(n=Count("pk"))
    )
    with transaction.atomic():
        ChipCount.objects.filter(automation=automation).delete()
        ChipCount.objects.bulk_create(
            [ChipCount(automation=automation, sampled=r["sampled"], chip=r["chip"], count=r["n"]) for r in rows]
        )


def chip_count_move(*, automation_id: int, sampled: bool, old: str | None, new: str | None) -> None:
    """Move one run between chips in the counters (old=None: a new run; new=None: removed)."""
    if old == new:
        return
    if old is not None:
        ChipCount.objects.filter(automation_id=automation_id, sampled=sampled, chip=old).update(count=F("count") - 1)
    if new is not None:
        updated = ChipCount.objects.filter(automation_id=automation_id, sampled=sampled, chip=new).update(
            count=F("count") + 1
        )
        if not updated:
            ChipCount.objects.get_or_create(automation_id=automation_id, sampled=sampled, chip=new, defaults={"count": 0})
            ChipCount.objects.filter(automation_id=automation_id, sampled=sampled, chip=new).update(
                count=F("count") + 1
            )
