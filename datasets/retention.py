"""Retention: delete an automation's runs older than a cutoff, with everything hanging off them
(files, reviews, expected files, audit events; promoted examples keep their data and lose only
the link to the source run). Chip counts and daily run counts are lowered by exactly what was
deleted, in the same transaction; stored files are deleted after the transaction commits, so a
rollback never leaves rows pointing at missing files."""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from review.counters import (
    review_counts_move,
    review_counts_states,
    reviewer_counts_move,
    reviewer_counts_states,
    verdict_counts_move,
    verdict_counts_states,
)
from review.models import ExpectedFile, ReviewDayCount, ReviewerDayCount, ReviewTally
from runs.counters import chip_counts_add, day_counts_add, sampled_version_key, version_counts_add
from runs.files import files_delete_on_commit
from runs.models import Automation, ChipCount, Run, RunDayCount, RunFile, VersionDayCount


@dataclass
class PruneResult:
    runs: int = 0
    files: int = 0


def runs_prune(*, automation: Automation, before: datetime, batch: int = 2000) -> PruneResult:
    """Delete the runs of `automation` created before `before`, `batch` runs per transaction."""
    result = PruneResult()
    while True:
        with transaction.atomic():
            rows = list(Run.objects.filter(automation=automation, created_at__lt=before)
                        .order_by("created_at", "id").select_for_update()
                        .values_list("pk", "created_at", "sampled", "chip", "version", "stratum", "inclusion_bp")[:batch])
            if not rows:
                break
            ids = [pk for pk, *_ in rows]
            stored = [f.file for f in RunFile.objects.filter(run_id__in=ids).only("file")]
            stored += [f.file for f in ExpectedFile.objects.filter(review__run_id__in=ids).only("file")]
            days, chips, versions = Counter(), Counter(), Counter()
            for _, created, sampled, chip, version, stratum, rate in rows:
                day = timezone.localdate(created)
                days[(automation.pk, day, sampled)] -= 1
                chips[(automation.pk, sampled, chip)] -= 1
                if sampled:
                    versions[sampled_version_key(automation.pk, day, version, stratum, rate)] -= 1
            reviews, judged = review_counts_states(ids), reviewer_counts_states(ids)
            verdicts = verdict_counts_states(reviews) if reviews else Counter()
            Run.objects.filter(pk__in=ids).delete()
            review_counts_move(sum(reviews.values(), Counter()), Counter())
            verdict_counts_move(verdicts, Counter())
            ReviewTally.objects.filter(automation=automation, count=0).delete()
            reviewer_counts_move(judged, Counter())
            ReviewerDayCount.objects.filter(automation=automation, count=0).delete()
            ReviewDayCount.objects.filter(automation=automation, count=0).delete()
            day_counts_add(days)
            chip_counts_add(chips)
            version_counts_add(versions)
            VersionDayCount.objects.filter(automation=automation, count=0).delete()
            RunDayCount.objects.filter(automation=automation, count=0).delete()
            ChipCount.objects.filter(automation=automation, count=0).delete()
            files_delete_on_commit(stored)
        result.runs += len(rows)
        result.files += len(stored)
    return result
