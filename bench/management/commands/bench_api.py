"""Times the reviews generation's API reads next to the bare-Django yardstick and prints numbers.

    python manage.py bench_api [--repeat 30]

Against DATABASE_URL (seed it first: `manage.py seed_runs --runs 1000000`). Requests go through
the full middleware stack with Django's test client and a bearer key of a reviewer, as the SDK
sends them: the runs list with the review summary on every row, the review filters, one review,
and the review health of the first automation (docs/api-reviews.md, "Reviews health"), which
must stay within 3x the bare page.
"""

import statistics
import time

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import connection, reset_queries
from django.test import Client
from django.test.utils import override_settings

from accounts.models import ApiKey
from runs.models import Automation, Run


class Command(BaseCommand):
    help = "Print timings of the reviews-generation API reads next to a bare one-query Django page."

    def add_arguments(self, parser):
        parser.add_argument("--repeat", type=int, default=30)

    def handle(self, *args, repeat: int, **options):
        automation = Automation.objects.order_by("pk").first()
        if automation is None:
            self.stderr.write("No data: run `manage.py seed_runs --runs N` first.")
            return
        user, _ = User.objects.get_or_create(username="bench-api", defaults={"email": "bench@example.com"})
        user.groups.add(Group.objects.get_or_create(name="reviewer")[0])
        ApiKey.objects.filter(user=user).delete()
        key = ApiKey.issue(user=user, name="bench")[1]
        client = Client(headers={"Authorization": f"Bearer {key}"})
        client.force_login(user)  # the bare page is behind the login like every page
        ref = automation.ref
        run = Run.objects.filter(automation=automation).order_by("-created_at").first()
        cases = [
            ("bare Django page, one indexed 50-row query", "/__bench__/bare/"),
            ("runs list, 50 rows with review summaries", "/v1/runs?limit=50"),
            ("runs list, one automation", f"/v1/runs?limit=50&source={ref}"),
            ("runs list, hasReview=true", f"/v1/runs?limit=50&source={ref}&hasReview=true"),
            ("runs list, reviewStatus=open", f"/v1/runs?limit=50&source={ref}&reviewStatus=open"),
            ("runs list, sampleRate=0.05", f"/v1/runs?limit=50&source={ref}&sampleRate=0.05"),
            ("one review", f"/v1/runs/{run.pk}/reviews"),
            ("review health, 30 days by day", f"/v1/automations/{ref}/reviews/health"),
            ("review health, 30 days by week", f"/v1/automations/{ref}/reviews/health?bucket=week"),
            ("review health, 365 days by month", f"/v1/automations/{ref}/reviews/health?bucket=month&from=now()-365d"),
        ]
        self.stdout.write(f"{connection.vendor}; {Run.objects.count():,} runs; automation {ref}; {repeat} requests each")
        self.stdout.write(f"{'request':<48} {'median':>9} {'p90':>9} {'SQL':>4}")
        with override_settings(ROOT_URLCONF="bench.urls", DEBUG=True, LOUPE_API_RATE_LIMIT=0):
            for label, url in cases:
                self._measure(client, label, url, repeat)
        ApiKey.objects.filter(user=user).delete()

    def _measure(self, client, label, url, repeat):
        client.get(url)  # warm caches and connections
        samples = []
        for _ in range(repeat):
            reset_queries()
            start = time.perf_counter()
            response = client.get(url)
            elapsed = time.perf_counter() - start
            assert response.status_code == 200, (url, response.status_code, response.content[:300])
            samples.append((elapsed * 1000, len(connection.queries)))
        totals = sorted(s[0] for s in samples)
        p90 = totals[max(0, int(len(totals) * 0.9) - 1)]
        self.stdout.write(f"{label:<48} {statistics.median(totals):6.1f} ms {p90:6.1f} ms {samples[-1][1]:4d}")
