"""`python manage.py seed_reviews --reviews N`: bulk-insert N reviews on sampled runs, for volume
testing the dashboards (pair with `seed_runs --runs 1000000`)."""

import random
import sys
import time
from contextlib import nullcontext
from datetime import timedelta

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from tqdm import tqdm

from demo import seed_sql
from review.counters import review_counts_recount, review_day_counts_recount, reviewer_counts_recount
from review.models import AuditEvent, Review
from runs.chips import derive_chip
from runs.counters import chip_counts_recount, version_sampled_recount
from runs.models import Automation, Run

# (rating, status) mix of a team that reviews a sampled stream: most runs pass, misses are
# opened, then resolved or ignored over time; a few notes-only reviews have neither.
MIX = ((("pass", None), 62), (("fail", "open"), 9), (("fail", "resolved"), 11), (("partial", "open"), 4),
       (("partial", "resolved"), 5), (("fail", "ignored"), 3), ((None, "open"), 2), (("pass", "resolved"), 2),
       ((None, None), 2))
REVIEWERS = ("maya", "sam", "jonas", "priya")


class Command(BaseCommand):
    help = ("Bulk-insert N reviews (with audit events, some with corrected output) on sampled runs that have "
            "none yet, newest runs first, spread over the reviewers; run chips and counters are updated.")

    def add_arguments(self, parser):
        parser.add_argument("--reviews", type=int, required=True)
        seed_sql.add_load_arguments(parser, rows="reviews", batch=5000, python="build the reviews in Python (bulk_create)",
                                    keeping="while chips are set")

    def handle(self, *args, reviews: int, batch: int, seed: int | None, **options):
        if reviews < 1 or batch < 1:
            raise CommandError("--reviews and --batch must be at least 1.")
        rng = random.Random(seed)
        group = Group.objects.get_or_create(name="reviewer")[0]
        users = []
        for name in REVIEWERS:
            user, created = User.objects.get_or_create(username=name)
            if created:
                user.groups.add(group)
            users.append(user)
        started, done = time.monotonic(), 0
        if connection.vendor == "postgresql" and not options["python"]:
            # Setting the chips of a million runs rewrites them in every index that holds the chip:
            # build the indexes once afterwards instead (as seed_runs does).
            drop = seed_sql.drops_indexes(reviews, options["keep_indexes"])
            with seed_sql.indexes_after(say=self.stdout.write) if drop else nullcontext():
                done = seed_sql.reviews_insert(count=reviews, mix=MIX, user_ids=[u.pk for u in users],
                                               now=timezone.now())
            self.stdout.write(f"Inserted {done} reviews in {time.monotonic() - started:.1f} s (INSERT ... SELECT).")
            _recount()
            seed_sql.rollups_vacuumed(say=self.stdout.write)
            self.stdout.write(f"Counters rebuilt; {time.monotonic() - started:.1f} s in all.")
            return
        candidates = (Run.objects.filter(sampled=True, review__isnull=True).order_by("-created_at", "-id")
                      .values_list("pk", "created_at", "output")[:reviews].iterator(chunk_size=batch))
        bar = tqdm(total=reviews, unit="review", desc="Seeding reviews", file=sys.stderr,
                   disable=None if options["verbosity"] > 0 else True)
        now = timezone.now()
        pairs = [pair for pair, _ in MIX]
        weights = [weight for _, weight in MIX]
        chunk = []
        for row in candidates:
            chunk.append(row)
            if len(chunk) >= batch:
                done += self._insert(chunk, rng, users, pairs, weights, now)
                bar.update(len(chunk))
                chunk = []
        if chunk:
            done += self._insert(chunk, rng, users, pairs, weights, now)
            bar.update(len(chunk))
        bar.close()
        _recount()
        elapsed = time.monotonic() - started
        self.stdout.write(f"Inserted {done} reviews in {elapsed:.1f} s.")

    def _insert(self, rows, rng, users, pairs, weights, now) -> int:
        reviews, events, chips = [], [], {}
        for run_id, created_at, output in rows:
            rating, status = rng.choices(pairs, weights)[0]
            user = rng.choice(users)
            when = min(now, created_at + timedelta(hours=rng.uniform(0.5, 72)))
            expected, paths = None, []
            if rating in ("fail", "partial") and isinstance(output, dict) and output and rng.random() < 0.6:
                key = rng.choice(sorted(output))
                expected, paths = {**output, key: "corrected"}, [f"/{key}"]
            resolved = when + timedelta(hours=rng.uniform(1, 96)) if status in ("resolved", "ignored") else None
            resolved = min(now, resolved) if resolved else None
            reviews.append(Review(run_id=run_id, rating=rating, status=status,
                                  body="seeded note" if rng.random() < 0.3 else "", expected=expected,
                                  has_expected=expected is not None, corrected_paths=paths, created_at=when,
                                  created_by=user, updated_at=resolved or when, updated_by=user,
                                  resolved_at=resolved, resolved_by=user if resolved else None, version=1))
            events.append(AuditEvent(run_id=run_id, user=user, via="web", created_at=when,
                                     action=f"verdict:{rating}" if rating else "update",
                                     changes={"rating": [None, rating], "status": [None, status]}))
            if resolved:
                events.append(AuditEvent(run_id=run_id, user=user, via="web", action="update", created_at=resolved,
                                         changes={"status": ["open", status]}))
            chips.setdefault(derive_chip(rating, status), []).append(run_id)
        with transaction.atomic():
            Review.objects.bulk_create(reviews, batch_size=2000)
            AuditEvent.objects.bulk_create(events, batch_size=2000)
            for chip, ids in chips.items():
                Run.objects.filter(pk__in=ids).update(chip=chip)
        return len(reviews)


def _recount() -> None:
    for automation in Automation.objects.all():
        chip_counts_recount(automation=automation)
        version_sampled_recount(automation=automation)
        review_counts_recount(automation=automation)
        review_day_counts_recount(automation=automation)
        reviewer_counts_recount(automation=automation)
