"""Times the reviewer's pages against the bare-Django yardstick of DESIGN §7 and prints numbers.

    python manage.py benchmark [--repeat 30]

Runs against whatever DATABASE_URL points at (seed it first: `manage.py seed_runs --runs 1000000`).
Requests go through the full middleware stack with Django's test client (no network), as a
signed-in reviewer. Each line: median and 90th percentile wall time, and SQL queries.
"""

import statistics
import time

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import connection, reset_queries
from django.test import Client
from django.test.utils import override_settings

from runs.models import Automation, Run


class Command(BaseCommand):
    help = "Print page timings for the queue and review pane next to a bare one-query Django page."

    def add_arguments(self, parser):
        parser.add_argument("--repeat", type=int, default=30)

    def handle(self, *args, repeat: int, **options):
        automation = Automation.objects.order_by("pk").first()
        if automation is None:
            self.stderr.write("No data: run `manage.py demo --no-serve` or `manage.py seed_runs --runs N` first.")
            return
        user, _ = User.objects.get_or_create(username="bench-reviewer")
        user.groups.add(Group.objects.get(name="reviewer"))
        client = Client()
        client.force_login(user)
        ref = automation.ref
        run = Run.objects.filter(automation=automation, sampled=True).order_by("-created_at").first()
        deep = Run.objects.filter(automation=automation, sampled=True).order_by("created_at").first()
        total = Run.objects.order_by().count()
        self.stdout.write(f"{total:,} runs in {connection.vendor}; automation {ref}; {repeat} requests each\n")
        cases = [
            ("bare Django page, one indexed 50-row query", "/__bench__/bare/"),
            ("queue, one automation, sampled (50 rows)", f"/queue/?automation={ref}"),
            ("queue, chip=unreviewed", f"/queue/?automation={ref}&chip=unreviewed"),
            ("queue, all automations, all runs", "/queue/?scope=all"),
            ("queue, has expected", f"/queue/?automation={ref}&expected=yes"),
            ("queue, promoted", f"/queue/?automation={ref}&promoted=yes"),
            ("queue, status=failed, all runs", f"/queue/?automation={ref}&status=failed&scope=all"),
            ("queue, date range", f"/queue/?automation={ref}&date_from=2026-11-01&date_to=2026-11-10"),
            ("queue, htmx fragment", (f"/queue/?automation={ref}", {"HX-Request": "true"})),
            ("queue, search by run id", f"/queue/?q={run.pk if run else 'x'}"),
        ]
        if deep is not None:
            from review.queries import encode_cursor
            cases.append(("queue, oldest page (keyset cursor)", f"/queue/?automation={ref}&before={encode_cursor(deep)}"))
        if run is not None:
            cases.append(("review pane", f"/runs/{run.pk}/"))
        with override_settings(ROOT_URLCONF="review.bench_urls", DEBUG=True):
            for label, target in cases:
                url, headers = target if isinstance(target, tuple) else (target, {})
                self._measure(client, label, url, headers, repeat)
            if run is not None:
                self._measure_save(client, run, repeat)

    def _measure(self, client, label, url, headers, repeat):
        client.get(url, headers=headers)  # warm caches and connections
        timings, queries = [], 0
        for _ in range(repeat):
            reset_queries()
            start = time.perf_counter()
            response = client.get(url, headers=headers)
            timings.append((time.perf_counter() - start) * 1000)
            queries = len(connection.queries)
            assert response.status_code == 200, (url, response.status_code)
        self._line(label, timings, queries)

    def _measure_save(self, client, run, repeat):
        from review.models import Review

        timings, queries = [], 0
        for i in range(repeat):
            version = Review.objects.filter(run=run).values_list("version", flat=True).first() or 0
            reset_queries()
            start = time.perf_counter()
            client.post(f"/runs/{run.pk}/verdict/", {"verdict": "", "body": f"bench note {i}", "version": version},
                        headers={"HX-Request": "true"})
            timings.append((time.perf_counter() - start) * 1000)
            queries = len(connection.queries)
        self._line("save a note (htmx, re-renders the pane)", timings, queries)

    def _line(self, label, timings, queries):
        timings.sort()
        p90 = timings[int(len(timings) * 0.9) - 1]
        self.stdout.write(f"{label:<48} median {statistics.median(timings):7.1f} ms   p90 {p90:7.1f} ms   {queries:3d} queries")
