"""Times Loupe over HTTP against a bare one-query Django page, interleaved, and prints ratios.

    python manage.py benchmark [--repeat 20] [--ingest-batches 5] [--import-runs 20000] [--inbox-tasks 1000,100000]
        [--dataset-review 1000]

Starts gunicorn (one sync worker, like a small production box) on a free loopback port against
DATABASE_URL with LOUPE_BENCH=1 (the bare page and an X-Loupe-SQL header; config/settings.py),
signs in a reviewer through a session cookie, and for each round requests the bare page and then
each case, so both see the same machine load. A case is what a reviewer waits for: the request and
the ones a browser sends after it (the fragments a page loads with htmx, the page an HX-Redirect
names; bench/fragments.py). Each line: median and p90 wall time as seen by the client, the ratio
of the median to the bare page's median, the SQL statements the server ran and the requests, all
of the case; where it took more than one request, the first one's ratio and SQL alone.
Ingest: batches of 1,000 runs POSTed to /api/v1/ingest/runs, then the same runs again with a changed
duration and metadata (updates), then new runs of an automation with four strata each carrying a
field confidence per output scalar and an evaluator score (bench/strata.py), and `import_runs` in
process on a generated JSON Lines file, the same twice (new runs, then updates); each prints runs
per second. The Waiting inbox: pending human review tasks seeded to each --inbox-tasks size, the
inbox and its nav count timed the same way, and on PostgreSQL the inbox query's plan
(bench/inbox.py). A dataset review request of --dataset-review examples: its creation timed in
process (bench/dsreview.py), its inbox and item page timed with the pages. The runs copy the
newest seeded runs in turn (their automations, outputs and errors). Runs written by the benchmark keep the
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
from typing import NamedTuple

import httpx
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import connection
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiKey
from backends import get_backend
from bench import dsreview as dsreview_bench
from bench import inbox
from bench.compare import compare_databases
from bench.fragments import follow_ups
from bench.http import gunicorn_start, gunicorn_stop, wait_until_serving
from bench.inprocess import InProcessBenchmark
from bench.strata import confident_records, strata_automation, strata_automation_remove
from datasets.services import default_example_name
from review.models import Review
from runs.models import Automation, Run, RunStatus
from runs.sizes import run_tables, table_sizes

ROOT = Path(settings.BASE_DIR)
INGEST_BATCH = 1000
MAX_FOLLOW_UPS = 10  # requests one case may take in all (a loop of redirects stops there)


class Timing(NamedTuple):
    ms: float  # the request and its follow-ups
    sql: int
    requests: int
    first_ms: float  # the first request alone
    first_sql: int


class Command(InProcessBenchmark):
    help = "Time pages, saves and ingest over HTTP against a bare Django page, interleaved (ratios, SQL counts)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.set_defaults(repeat=20)
        parser.add_argument("--in-process", action="store_true", help="The older in-process measurement.")
        parser.add_argument("--ingest-batches", type=int, default=5, help="Ingest API batches of 1,000 runs.")
        parser.add_argument("--import-runs", type=int, default=20_000, help="Runs for the import_runs timing.")
        parser.add_argument("--inbox-tasks", default="1000,100000",
                            help="Pending human review tasks to time the Waiting inbox at (comma-separated; "
                                 "empty: skip). bench/inbox.py.")
        parser.add_argument("--dataset-review", type=int, default=1000,
                            help="Examples in the dataset review request timed (0: skip; bench/dsreview.py).")
        parser.add_argument("--json", metavar="FILE", help="Also write the figures to FILE as JSON.")
        parser.add_argument("--databases", metavar="URL,URL",
                            help="Measure each database in turn (a child benchmark each, DATABASE_URL set to it) "
                                 "and print every figure side by side, with table and index sizes "
                                 "(e.g. a 1 M and a 10 M run database; bench/compare.py).")

    def handle(self, *args, repeat: int, in_process: bool, ingest_batches: int, import_runs: int, inbox_tasks: str = "",
               dataset_review: int = 1000, **options):
        if options["databases"]:
            return compare_databases(self.stdout, options["databases"].split(","), repeat=repeat,
                                     ingest_batches=ingest_batches, import_runs=import_runs,
                                     extra=["--inbox-tasks", inbox_tasks, "--dataset-review", str(dataset_review)])
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
        self._dsr = self._dataset_review(user, dataset_review) if dataset_review else None
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
                sizes = [int(n) for n in inbox_tasks.split(",") if n.strip()]
                if sizes:
                    inbox.measure(http, self._http_timed, self._http_line, sizes, repeat, self.stdout.write)
                self._ingest(base, api_key, sample, ingest_batches)
                self._ingest_strata(base, api_key, sample, ingest_batches, user)
        finally:
            gunicorn_stop(server)
        if import_runs:
            self._import(sample, import_runs)
        if options["json"]:
            Path(options["json"]).write_text(json.dumps(self.figures, indent=1))

    def _dataset_review(self, user, count: int) -> tuple[int, int]:
        """Times creating a request of `count` examples (in process, committed, deleted again) and
        keeps one request for the inbox and item page timings."""
        automation, names = dsreview_bench.bench_dataset(count)
        timings = dsreview_bench.time_create(automation, names, user)
        self.stdout.write(f"dataset review request of {len(names):,} examples ({connection.vendor}): best "
                          f"{min(timings):.2f} s of {', '.join(f'{t:.2f}' for t in timings)} s "
                          f"(goal <= {dsreview_bench.LIMIT_SECONDS:g} s on PostgreSQL)")
        review = dsreview_bench.pages_request(automation, names, user)
        return review.pk, review.items.order_by("position").values_list("pk", flat=True).first()

    def _http_timed(self, http, method, url, **kwargs) -> Timing:
        """One request and the ones a browser sends after it (bench/fragments.py: the fragments
        a page loads, the page an HX-Redirect names), one after the other as one sync worker
        serves them; the first request's own time and SQL are kept too."""
        start = time.perf_counter()
        pending, sql, first = [(method, url, kwargs)], [], None
        while pending and len(sql) < MAX_FOLLOW_UPS:
            method, url, kwargs = pending.pop(0)
            response = http.request(method, url, **kwargs)
            if response.status_code >= 400:
                raise SystemExit(f"{method} {url} answered {response.status_code}: {response.text[:300]}")
            sql.append(int(response.headers.get("X-Loupe-SQL", "-1")))
            first = first or ((time.perf_counter() - start) * 1000, sql[0])
            pending += [("GET", u, {"headers": {"HX-Request": "true"}} if htmx else {}) for u, htmx in follow_ups(response)]
        return Timing((time.perf_counter() - start) * 1000, sum(sql), len(sql), *first)

    def _pages(self, http, sample, repeat):
        cases, check_landed = _cases(sample, self._dsr)
        bare, results = [], {label: [] for label, _ in cases}
        for _, make in cases:  # warm up every case once
            method, url, kwargs = make(0)
            self._http_timed(http, method, url, **kwargs)
        for i in range(1, repeat + 1):
            for label, make in cases:
                bare.append(self._http_timed(http, "GET", "/__bench__/bare/"))
                method, url, kwargs = make(i)
                results[label].append(self._http_timed(http, method, url, **kwargs))
        check_landed(repeat)
        floor = statistics.median(t.ms for t in bare)
        self.stdout.write(f"{'case (all its requests; the first alone)':<50} {'median':>9} {'p90':>9} {'x bare':>7} "
                          f"{'SQL':>4} {'reqs':>4}   {'first: x bare':>13} {'SQL':>4}")
        self._http_line("bare page, one indexed 50-row query", bare, floor)
        for label, samples in results.items():
            self._http_line(label, samples, floor)

    def _http_line(self, label, samples: list[Timing], floor):
        times = sorted(t.ms for t in samples)
        p90 = times[max(0, int(len(times) * 0.9) - 1)]
        median, last = statistics.median(times), samples[-1]
        self.figures[label] = {"median": median, "ratio": median / floor, "sql": last.sql, "requests": last.requests,
                               "first_ratio": statistics.median(t.first_ms for t in samples) / floor}
        line = f"{label:<50} {median:6.1f} ms {p90:6.1f} ms {median / floor:6.2f}x {last.sql:4d} {last.requests:4d}"
        if last.requests > 1:
            line += f"   {statistics.median(t.first_ms for t in samples) / floor:12.2f}x {last.first_sql:4d}"
        self.stdout.write(line)

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

    def _ingest_strata(self, base, api_key, sample, batches, user):
        """New runs of an automation with four strata, each run with a field confidence per output
        scalar and an evaluator score (bench/strata.py)."""
        if not batches:
            return
        automation = strata_automation(user)
        prefix = f"run_bench_{secrets.token_hex(4)}_"
        bodies = self._bodies(list(confident_records(self._pool(sample), batches * INGEST_BATCH, prefix,
                                                     timezone.now() + timedelta(minutes=1))))
        with httpx.Client(base_url=base, timeout=300,
                          headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/x-ndjson"}) as api:
            rates = [self._ingest_batch(api, body, "created") for body in bodies]
        stratified = Run.objects.filter(id__startswith=prefix).exclude(stratum="").count()
        strata_automation_remove(automation)  # a later run's pages then see the seeded data alone
        self.stdout.write(f"ingest API with strata and field confidence, {batches} batches of {INGEST_BATCH:,} new runs: "
                          f"median {statistics.median(rates):,.0f} runs/s (min {min(rates):,.0f}), "
                          f"{self._statements} SQL per batch; {stratified:,} of {batches * INGEST_BATCH:,} runs in a stratum")

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


def _calibrated(ref: str) -> str:
    """The automation whose calibration page is timed: one that samples by risk (the seeded data's
    runs with a confidence), else the pages' own."""
    found = Automation.objects.exclude(sampling_strata=[]).exclude(slug="bench-strata").order_by("pk").first()
    return found.ref if found else ref


def _dataset_review_cases(dsr) -> list:
    """The dataset review inbox and item page, where the benchmark made a request to show."""
    if not dsr:
        return []
    review_id, item_id = dsr
    return [("dataset reviews inbox", lambda i: ("GET", "/dataset-reviews/?status=all", {})),
            ("dataset review item page", lambda i: ("GET", f"/dataset-reviews/{review_id}/items/{item_id}/", {}))]


def _cases(sample: Run, dsr=None):
    """The pages and saves timed, each (label, round -> (method, URL, httpx arguments)), and a
    check that the rounds' writes landed (a save answered 200 with an error would time the
    error page)."""
    ref, run_id, htmx = sample.automation.ref, sample.pk, {"HX-Request": "true"}
    save_url = reverse("run_save", args=[run_id])

    def version():
        return Review.objects.filter(run_id=run_id).values_list("version", flat=True).first() or 0

    def kept(**data):
        """The pane form's fields as the page sends them: the note as saved, so only `data` changes."""
        note = Review.objects.filter(run_id=run_id).values_list("body", flat=True).first() or ""
        return {"body": note, "version": version(), **data}

    calibrated = _calibrated(ref)
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
        ("open a run: the pane and the fragments it loads", lambda i: ("GET", f"/runs/{run_id}/", {})),
        ("save verdict + note (htmx)", lambda i: ("POST", save_url, {
            "headers": htmx, "data": {"verdict": ("fail", "partial")[i % 2], "body": f"bench note {i}",
                                      "version": version()}})),
        ("save a correction (htmx)", lambda i: ("POST", save_url, {
            "headers": htmx, "data": kept(**{f"v:/{key}": f"bench corrected {i}"})})),
        # The pane's one form (verdict, note and a typed correction: `v:<JSON pointer>` fields
        # holding the value as typed, strings bare).
        ("combined save: verdict, note, correction (htmx)", lambda i: ("POST", save_url, {
            "headers": htmx, "data": {"verdict": ("fail", "partial")[i % 2], "body": f"bench combined {i}",
                                      "op": "save", f"v:/{key}": f"bench {i}", "version": version()}})),
        ("promote (htmx)", lambda i: ("POST", save_url, {
            "headers": htmx, "data": kept(op="promote", example_name=example_name, confirm_no_expected="on")})),
        ("backlog page", lambda i: ("GET", "/backlog/", {})),
        ("sampling page", lambda i: ("GET", "/sampling/", {})),
        ("calibration page", lambda i: ("GET", f"/sampling/{calibrated}/calibration/", {})),
        ("backlog, one automation (per-version estimates)", lambda i: ("GET", f"/backlog/?automation={ref}", {})),
        ("evaluators page", lambda i: ("GET", "/evaluators/", {})),
        *_dataset_review_cases(dsr),
    ]

    def check_landed(repeat: int) -> None:
        review = Review.objects.get(run_id=run_id)
        if review.promoted_example_name != example_name:
            raise SystemExit(f"Promote did not land: the review names example {review.promoted_example_name!r}.")
        corrected = (review.expected or {}).get(key)
        if review.body != f"bench combined {repeat}" or corrected != f"bench {repeat}":
            raise SystemExit(f"The combined save did not land: note {review.body!r}, {key} {corrected!r}.")

    return cases, check_landed
