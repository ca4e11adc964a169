"""Times the reviewer's pages and prints numbers.

    python manage.py benchmark [--repeat 30]

Requests go through the full middleware stack with Django's test client (no network between
browser and Loupe), as a signed-in reviewer, against whatever backend is configured:

- local (default): against DATABASE_URL (seed it first: `manage.py seed_runs --runs 1000000`),
  next to the bare-Django yardstick of docs/rules.md#speed-yardstick (one indexed 50-row query);
- proxy mode (LOUPE_BACKEND=backends.eigenpal.EigenpalBackend, EIGENPAL_BASE_URL, ...): every
  line also shows the time spent waiting for the upstream API, the calls made, and Loupe's own
  overhead: the page time minus the upstream time.

Each line: median and 90th percentile wall time, SQL queries, and in proxy mode upstream calls,
median upstream time and median overhead.
"""

import statistics
import time

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import connection, reset_queries
from django.test import Client
from django.test.utils import override_settings

from backends import get_backend
from backends.base import QueueQuery
from backends.eigenpal.client import metered


def _local_cases(automation, ref: str) -> list:
    """Pages only the local backend serves: the oldest queue page, the weighted estimates and
    evaluator agreement (docs/estimates.md)."""
    from review.queries import encode_cursor
    from runs.models import Run

    cases = []
    deep = Run.objects.filter(automation=automation, sampled=True).order_by("created_at").first()
    if deep is not None:
        cursor = encode_cursor(deep.created_at, deep.pk)
        cases.append(("queue, oldest page (keyset cursor)", f"/queue/?automation={ref}&before={cursor}"))
    return cases + [("sampling page (weighted estimates)", "/sampling/"),
                    ("backlog, one automation (per-version estimates)", f"/backlog/?automation={ref}"),
                    ("evaluators page", "/evaluators/"),
                    ("queue, evaluator passed / human failed",
                     f"/queue/?automation={ref}&disagreement=evaluator_passed_human_failed&scope=all")]


class InProcessBenchmark(BaseCommand):
    help = "Print page timings for the queue and the review pane (and Loupe's overhead in proxy mode)."

    def add_arguments(self, parser):
        parser.add_argument("--repeat", type=int, default=30)

    def handle(self, *args, repeat: int, **options):
        backend = get_backend()
        automations = backend.automations()
        if not automations:
            self.stderr.write("No data: run `manage.py demo --no-serve` or `manage.py seed_runs --runs N` first "
                              "(in proxy mode: on the upstream).")
            return
        user, _ = User.objects.get_or_create(username="bench-reviewer")
        user.groups.add(Group.objects.get_or_create(name="reviewer")[0])
        client = Client()
        client.force_login(user)
        automation = automations[0]
        ref = automation.ref
        first = backend.queue_page(QueueQuery(automation=automation, page_size=1)).rows
        run = first[0] if first else None
        self.proxy = backend.name != "local"
        where = "upstream " + backend.upstream.base_url if self.proxy else connection.vendor
        self.stdout.write(f"{backend.name} backend ({where}); automation {ref}; {repeat} requests each\n")
        cases = self._queue_cases(backend, ref, run)
        if not self.proxy:
            cases = [("bare Django page, one indexed 50-row query", "/__bench__/bare/"), *cases,
                     *_local_cases(automation, ref)]
        if run is not None:
            cases.append(("review pane", f"/runs/{run.pk}/"))
        cases += self._waiting_cases()
        cases += _dataset_review_cases()
        header = f"{'page':<48} {'median':>9} {'p90':>9} {'SQL':>4}"
        if self.proxy:
            header += f" {'calls':>5} {'upstream':>9} {'overhead':>9}"
        self.stdout.write(header)
        with override_settings(ROOT_URLCONF="config.bench_urls", DEBUG=True):
            for label, target in cases:
                url, headers = target if isinstance(target, tuple) else (target, {})
                self._measure(client, label, url, headers, repeat)
            if run is not None:
                self._measure_save(client, run.pk, repeat)

    @staticmethod
    def _waiting_cases() -> list[tuple[str, str]]:
        """The Waiting inbox, its nav count and the oldest task's page (docs/human-review.md), in
        proxy mode over the upstream's /v1/human-reviews."""
        from backends.local_tasks import task_source

        oldest = task_source().pending(automation_id=None, cursor=None, limit=1).rows
        return [("waiting inbox", "/waiting/"), ("waiting nav count", "/waiting/count/"),
                *([("task page (oldest pending task)", f"/waiting/{oldest[0].id}/")] if oldest else [])]
    def _queue_cases(self, backend, ref: str, run) -> list:
        promoted = [("queue, promoted", f"/queue/?automation={ref}&promoted=yes")] \
            if getattr(backend, "filters_promoted", True) else []
        return [
            ("queue, one automation, sampled (50 rows)", f"/queue/?automation={ref}"),
            ("queue, chip=unreviewed", f"/queue/?automation={ref}&chip=unreviewed"),
            ("queue, all automations, all runs", "/queue/?scope=all"),
            ("queue, has expected", f"/queue/?automation={ref}&expected=yes"),
            *promoted,
            ("queue, status=failed, all runs", f"/queue/?automation={ref}&status=failed&scope=all"),
            ("queue, date range", f"/queue/?automation={ref}&date_from=2026-11-01&date_to=2026-11-10"),
            ("queue, htmx fragment", (f"/queue/?automation={ref}", {"HX-Request": "true"})),
            ("queue, search by run id", f"/queue/?q={run.pk if run else 'x'}"),
        ]

    def _measure(self, client, label, url, headers, repeat):
        client.get(url, headers=headers)  # warm caches and connections
        samples = []
        for _ in range(repeat):
            reset_queries()
            with metered() as meter:
                start = time.perf_counter()
                response = client.get(url, headers=headers)
                elapsed = time.perf_counter() - start
            assert response.status_code == 200, (url, response.status_code)
            samples.append((elapsed * 1000, meter.seconds * 1000, meter.calls, len(connection.queries)))
        self._line(label, samples)

    def _measure_save(self, client, run_id, repeat):
        import re

        samples = []
        for i in range(repeat):
            page = client.get(f"/runs/{run_id}/").content.decode()
            version = re.search(r'data-version="(\d+)"', page).group(1)
            reset_queries()
            with metered() as meter:
                start = time.perf_counter()
                client.post(f"/runs/{run_id}/save/", {"verdict": "", "body": f"bench note {i}", "version": version},
                            headers={"HX-Request": "true"})
                elapsed = time.perf_counter() - start
            samples.append((elapsed * 1000, meter.seconds * 1000, meter.calls, len(connection.queries)))
        self._line("save a note (htmx, re-renders the pane)", samples)

    def _line(self, label, samples):
        totals = sorted(s[0] for s in samples)
        p90 = totals[max(0, int(len(totals) * 0.9) - 1)]
        line = f"{label:<48} {statistics.median(totals):6.1f} ms {p90:6.1f} ms {samples[-1][3]:4d}"
        if self.proxy:
            upstream = statistics.median(s[1] for s in samples)
            overhead = statistics.median(s[0] - s[1] for s in samples)
            line += f" {samples[-1][2]:5d} {upstream:6.1f} ms {overhead:6.1f} ms"
        self.stdout.write(line)


def _dataset_review_cases() -> list[tuple[str, str]]:
    """The dataset review inbox, and the newest request and its first item where there is one
    (locally or upstream: backends.dataset_review_sources)."""
    from backends.dataset_review_sources import source

    src = source()
    rows = src.inbox(status="all", number=1, page_size=1).rows
    cases = [("dataset reviews inbox", "/dataset-reviews/?status=all")]
    if rows:
        review = src.request(rows[0].key)
        items = src.items(review)
        cases.append((f"dataset review request ({len(items):,} items)", f"/dataset-reviews/{review.key}/"))
        if items:
            cases.append(("dataset review item page", f"/dataset-reviews/{review.key}/items/{items[0].id}/"))
    return cases
