"""Times Loupe over HTTP against a bare one-query Django page, interleaved, and prints ratios.

    python manage.py benchmark [--repeat 20] [--ingest-batches 5] [--import-runs 20000]

Starts gunicorn (one sync worker, like a small production box) on a free loopback port against
DATABASE_URL with LOUPE_BENCH=1 (the bare page and an X-Loupe-SQL header; config/settings.py),
signs in a reviewer through a session cookie, and for each round requests the bare page and then
each case, so both see the same machine load. Each line: median and p90 wall time as seen by the
client, the ratio of the median to the bare page's median, and the SQL statements the server ran.
Ingest: batches of 1,000 runs POSTed to /api/v1/ingest/runs, then the same runs again with a changed
duration and metadata (updates), and `import_runs` in process on a generated JSON Lines file, the
same twice (new runs, then updates); each prints runs per second. The runs copy the newest seeded runs in turn (their automations, outputs
and errors). Runs written by the benchmark keep the
id prefix `run_bench_`. Seed first: `manage.py seed_runs --runs 1000000` (and `seed_reviews`).

In proxy mode, or with --in-process, the older in-process measurement runs instead (Django's test
client, with upstream call counts; bench/inprocess.py).
"""

import json
import os
import secrets
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.utils import timezone

from accounts.models import ApiKey
from backends import get_backend
from bench.compare import compare_databases
from bench.http import gunicorn_start, gunicorn_stop, wait_until_serving
from bench.inprocess import InProcessBenchmark
from datasets.services import default_example_name
from review.models import Review
from runs.models import Run, RunStatus
from runs.sizes import run_tables, table_sizes

ROOT = Path(settings.BASE_DIR)
INGEST_BATCH = 1000


class Command(InProcessBenchmark):
    help = "Time pages, saves and ingest over HTTP against a bare Django page, interleaved (ratios, SQL counts)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.set_defaults(repeat=20)
        parser.add_argument("--in-process", action="store_true", help="The older in-process measurement.")
        parser.add_argument("--ingest-batches", type=int, default=5, help="Ingest API batches of 1,000 runs.")
        parser.add_argument("--import-runs", type=int, default=20_000, help="Runs for the import_runs timing.")
        parser.add_argument("--json", metavar="FILE", help="Also write the figures to FILE as JSON.")
        parser.add_argument("--databases", metavar="URL,URL",
                            help="Measure each database in turn (a child benchmark each, DATABASE_URL set to it) "
                                 "and print every figure side by side, with table and index sizes "
                                 "(e.g. a 1 M and a 10 M run database; bench/compare.py).")

    def handle(self, *args, repeat: int, in_process: bool, ingest_batches: int, import_runs: int, **options):
        if options["databases"]:
            return compare_databases(self.stdout, options["databases"].split(","), repeat=repeat,
                                     ingest_batches=ingest_batches, import_runs=import_runs)
        if in_process or get_backend().name != "local":
            return super().handle(*args, repeat=repeat, **options)
        self.figures = {"sizes": table_sizes(run_tables())}
        # The pages' run: the newest sampled run with an output to correct, as a reviewer meets
        # it (a failed or cancelled run without output renders no editor and saves less).
        sample = (Run.objects.filter(sampled=True, status=RunStatus.COMPLETED, output__isnull=False)
                  .order_by("-created_at").first())
        if sample is None:
            self.stderr.write("No sampled runs: run `manage.py seed_runs --runs N` first.")
            return
        user, _ = User.objects.get_or_create(username="bench-reviewer")
        for role in ("reviewer", "ops"):
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        login = Client()
        login.force_login(user)
        csrf = _get_new_csrf_string()
        cookies = {settings.SESSION_COOKIE_NAME: login.cookies[settings.SESSION_COOKIE_NAME].value,
                   settings.CSRF_COOKIE_NAME: csrf}
        api_key = ApiKey.issue(user=user, name="benchmark")[1]
        server, base = gunicorn_start(env={"LOUPE_BENCH": "1", "DEBUG": "false", "LOUPE_API_RATE_LIMIT": "0"})
        try:
            with httpx.Client(base_url=base, cookies=cookies, timeout=300,
                              headers={"X-CSRFToken": csrf, "Referer": base + "/"}) as http:
                wait_until_serving(server, base + "/__bench__/bare/")
                counts = (Run.objects.count(), Review.objects.count())
                self.figures.update(runs=counts[0], reviews=counts[1])
                self.stdout.write(f"gunicorn, 1 sync worker, {base}; {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}; "
                                  f"{counts[0]:,} runs, {counts[1]:,} reviews; {repeat} rounds, interleaved")
                self._pages(http, sample, repeat)
                self._ingest(base, api_key, sample, ingest_batches)
        finally:
            gunicorn_stop(server)
        if import_runs:
            self._import(sample, import_runs)
        if options["json"]:
            Path(options["json"]).write_text(json.dumps(self.figures, indent=1))

    def _http_timed(self, http, method, url, **kwargs):
        start = time.perf_counter()
        response = http.request(method, url, **kwargs)
        elapsed = (time.perf_counter() - start) * 1000
        if response.status_code >= 400:
            raise SystemExit(f"{method} {url} answered {response.status_code}: {response.text[:300]}")
        return elapsed, int(response.headers.get("X-Loupe-SQL", "-1"))

    def _pages(self, http, sample, repeat):
        ref = sample.automation.ref
        run_id = sample.pk
        htmx = {"HX-Request": "true"}

        def version():
            return Review.objects.filter(run_id=run_id).values_list("version", flat=True).first() or 0

        def kept(**data):
            """The pane form's fields as the page sends them: the note as saved, so only `data` changes."""
            note = Review.objects.filter(run_id=run_id).values_list("body", flat=True).first() or ""
            return {"body": note, "version": version(), **data}

        # The sample's own example (a name another run's example holds would be refused).
        example_name = default_example_name(sample)
        # A string field of the run's output: what the corrections change.
        key = next((k for k, v in (sample.output or {}).items() if isinstance(v, str)), None)
        if key is None:
            raise SystemExit(f"The sample run {run_id} has no string field in its output to correct.")
        cases = [
            ("queue, one automation, sampled", lambda i: ("GET", f"/queue/?automation={ref}", {})),
            ("queue, htmx fragment", lambda i: ("GET", f"/queue/?automation={ref}", {"headers": htmx})),
            ("queue, all automations, all runs", lambda i: ("GET", "/queue/?scope=all", {})),
            ("review pane", lambda i: ("GET", f"/runs/{run_id}/", {})),
            ("save verdict + note (htmx)", lambda i: ("POST", f"/runs/{run_id}/save/", {
                "headers": htmx, "data": {"verdict": ("fail", "partial")[i % 2], "body": f"bench note {i}",
                                          "version": version()}})),
            ("save a correction (htmx)", lambda i: ("POST", f"/runs/{run_id}/save/", {
                "headers": htmx, "data": kept(**{f"v:/{key}": f"bench corrected {i}"})})),
            ("promote (htmx)", lambda i: ("POST", f"/runs/{run_id}/save/", {
                "headers": htmx, "data": kept(op="promote", example_name=example_name, confirm_no_expected="on")})),
            ("backlog page", lambda i: ("GET", "/backlog/", {})),
            ("sampling page", lambda i: ("GET", "/sampling/", {})),
            ("backlog, one automation (per-version estimates)", lambda i: ("GET", f"/backlog/?automation={ref}", {})),
            ("evaluators page", lambda i: ("GET", "/evaluators/", {})),
        ]
        combined = _combined_save_url()
        if combined:
            # The pane's one form (verdict, note and a typed correction: `v:<JSON pointer>` fields
            # holding the value as typed, strings bare).
            cases.insert(6, ("combined save: verdict, note, correction (htmx)", lambda i: ("POST", combined(run_id), {
                "headers": htmx, "data": {"verdict": ("fail", "partial")[i % 2], "body": f"bench combined {i}",
                                          "op": "save", f"v:/{key}": f"bench {i}", "version": version()}})))
        bare, results = [], {label: [] for label, _ in cases}
        for _, make in cases:  # warm up every case once
            method, url, kwargs = make(0)
            self._http_timed(http, method, url, **kwargs)
        for i in range(1, repeat + 1):
            for label, make in cases:
                bare.append(self._http_timed(http, "GET", "/__bench__/bare/"))
                method, url, kwargs = make(i)
                results[label].append(self._http_timed(http, method, url, **kwargs))
        # A save answered 200 with an error would time the error page: check the writes landed.
        review = Review.objects.get(run_id=run_id)
        if review.promoted_example_name != example_name:
            raise SystemExit(f"Promote did not land: the review names example {review.promoted_example_name!r}.")
        if combined:
            if review.body != f"bench combined {repeat}" or (review.expected or {}).get(key) != f"bench {repeat}":
                raise SystemExit(f"The combined save did not land: note {review.body!r}, {key} "
                                 f"{(review.expected or {}).get(key)!r}.")
        floor = statistics.median(t for t, _ in bare)
        self.stdout.write(f"{'case':<50} {'median':>9} {'p90':>9} {'x bare':>7} {'SQL':>4}")
        self._http_line("bare page, one indexed 50-row query", bare, floor)
        for label, samples in results.items():
            self._http_line(label, samples, floor)

    def _http_line(self, label, samples, floor):
        times = sorted(t for t, _ in samples)
        p90 = times[max(0, int(len(times) * 0.9) - 1)]
        median = statistics.median(times)
        self.figures[label] = {"median": median, "ratio": median / floor, "sql": samples[-1][1]}
        self.stdout.write(f"{label:<50} {median:6.1f} ms {p90:6.1f} ms {median / floor:6.2f}x {samples[-1][1]:4d}")

    def _pool(self, sample) -> list[Run]:
        """What ingest sends: the newest seeded runs (not the benchmark's own), one record each in
        turn, so the runs carry the seeded mix of automations, outputs and errors (about 1.3 KB of
        output a completed seeded run) whatever run the pages use as their sample."""
        pool = list(Run.objects.exclude(id__startswith="run_bench_").select_related("automation")
                    .order_by("-created_at")[:200])
        return pool or [sample]

    def _records(self, pool, count, prefix, now=None, attempt: int = 1):
        """Run records; `attempt` > 1 sends the same runs again with a changed duration and
        metadata, so each repeated run is rewritten (an unchanged repeat writes nothing)."""
        now = now or timezone.now()
        for n in range(count):
            source = pool[n % len(pool)]
            metadata = source.metadata if attempt == 1 else {**(source.metadata or {}), "attempt": attempt}
            yield {"id": f"{prefix}{n:07d}", "automation": source.automation.ref, "status": source.status,
                   "trigger": "api", "version": source.version or "v1", "input": source.input,
                   "output": source.output, "error": source.error, "usage": source.usage,
                   "metadata": metadata, "createdAt": (now - timedelta(seconds=n)).isoformat(),
                   "durationMs": (source.duration_ms or 0) + attempt - 1}

    def _bodies(self, records: list[dict]) -> list[bytes]:
        return ["\n".join(json.dumps(r) for r in records[b:b + INGEST_BATCH]).encode()
                for b in range(0, len(records), INGEST_BATCH)]

    def _ingest(self, base, api_key, sample, batches):
        if not batches:
            return
        prefix, pool, now = f"run_bench_{secrets.token_hex(4)}_", self._pool(sample), timezone.now()
        bodies = self._bodies(list(self._records(pool, batches * INGEST_BATCH, prefix, now)))
        again = self._bodies(list(self._records(pool, batches * INGEST_BATCH, prefix, now, attempt=2)))
        rates, repeat_rates, statements = [], [], 0
        with httpx.Client(base_url=base, timeout=300,
                          headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/x-ndjson"}) as api:
            for body in bodies:
                rates.append(self._ingest_batch(api, body, "created"))
                statements = self._statements
            for body in again:  # every batch again, changed: each run is updated in place
                repeat_rates.append(self._ingest_batch(api, body, "updated"))
        self.figures["ingest API, new runs/s"] = statistics.median(rates)
        self.stdout.write(f"ingest API, {batches} batches of {INGEST_BATCH:,} new runs: median {statistics.median(rates):,.0f} "
                          f"runs/s (min {min(rates):,.0f}), {statements} SQL per batch; the batches again, changed "
                          f"(updates): median {statistics.median(repeat_rates):,.0f} runs/s "
                          f"(min {min(repeat_rates):,.0f}), {self._statements} SQL per batch")

    def _ingest_batch(self, api, body: bytes, expect: str) -> float:
        start = time.perf_counter()
        response = api.post("/api/v1/ingest/runs", content=body)
        elapsed = time.perf_counter() - start
        if response.status_code != 200 or len(response.json()[expect]) != INGEST_BATCH:
            raise SystemExit(f"ingest answered {response.status_code}: {response.text[:300]}")
        self._statements = int(response.headers.get("X-Loupe-SQL", "-1"))
        return INGEST_BATCH / elapsed

    def _import(self, sample, count):
        prefix, pool, now = f"run_bench_{secrets.token_hex(4)}_", self._pool(sample), timezone.now()
        elapsed = []
        for attempt in (1, 2):  # new runs, then the same runs changed (each updated in place)
            with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as handle:
                for record in self._records(pool, count, prefix, now, attempt):
                    handle.write(json.dumps(record) + "\n")
            try:
                start = time.perf_counter()
                call_command("import_runs", handle.name, verbosity=0, stdout=open(os.devnull, "w"))
                elapsed.append(time.perf_counter() - start)
            finally:
                os.unlink(handle.name)
        self.figures["import_runs, new runs/s"] = count / elapsed[0]
        self.stdout.write(f"import_runs, {count:,} runs from a JSON Lines file: {count / elapsed[0]:,.0f} runs/s "
                          f"({elapsed[0]:.1f} s); the runs again, changed (updates): {count / elapsed[1]:,.0f} runs/s "
                          f"({elapsed[1]:.1f} s)")


def _combined_save_url():
    """The one-request save (verdict, note and correction together) where this build has it."""
    from django.urls import NoReverseMatch, reverse

    for name in ("run_save", "run_review_save"):
        try:
            reverse(name, args=["x"])
        except NoReverseMatch:
            continue
        return lambda run_id, name=name: reverse(name, args=[run_id])
    return None
