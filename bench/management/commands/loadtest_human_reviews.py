"""`manage.py loadtest_human_reviews`: N reviewers deciding the same human review tasks at once,
over real HTTP and the JSON API (docs/human-review.md).

Starts gunicorn on this project's settings (or uses --base-url), seeds --tasks paused runs with
five required fields each, gives each of --reviewers reviewers an API key, and lets them all, for
--seconds, pick a pending task at random, read it, confirm a required field with a value unique
to that write (re-reading on a 409), approve once every required field is confirmed (every fifth
task is rejected instead). Then it prints:

- lost confirmations: a confirmation answered 200 whose write is not in the database afterwards
  (two acknowledged writes of one task answered with the same version; or the path's final value
  is not the one the last acknowledged write set);
- double decisions: a task approved or rejected by two answers 200, or decided otherwise in the
  database than its one acknowledged decision said;
- server errors: 5xx answers;
plus throughput, latency and the counts of 409s. Meant for PostgreSQL; SQLite works only with
one worker and says so.
"""

import random
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

import httpx
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from accounts.models import ApiKey
from bench.http import run_crew, serving, timed_request
from bench.seed import loadtest_automation, loadtest_reviewers
from datasets.loop import runs_record_and_check
from humanreview.models import Decision, Task

AUTOMATION = "workflows.loadtest-human-reviews"
FIELDS = ["/vendor", "/iban", "/total", "/currency", "/date"]


@dataclass
class Tally:
    confirms: list = field(default_factory=list)  # (task id, path, value, version answered)
    decisions: list = field(default_factory=list)  # (task id, status answered)
    statuses: dict = field(default_factory=lambda: defaultdict(int))
    latencies: list = field(default_factory=list)
    conflicts: int = 0
    unexpected: list = field(default_factory=list)  # (status, body) of answers other than 200 and 409
    lock: threading.Lock = field(default_factory=threading.Lock)


def _lost_confirms(tally: Tally, task_ids: list[str]) -> int:
    """Acknowledged confirmations lost: two on one task version (one overwrote the other), or
    a field's last acknowledged value not the one stored."""
    by_task = defaultdict(list)
    for task_id, path, value, version in tally.confirms:
        by_task[task_id].append((version, path, value))
    final = defaultdict(dict)
    for task_id, path, value in Decision.objects.filter(task_id__in=task_ids).values_list("task_id", "path",
                                                                                          "current_value"):
        final[str(task_id)][path] = value
    lost = 0
    for task_id, writes in by_task.items():
        versions = [v for v, _, _ in writes]
        lost += len(versions) - len(set(versions))
        last = {path: value for _version, path, value in sorted(writes)}
        lost += sum(1 for path, value in last.items() if final[task_id].get(path) != value)
    return lost


def _double_decisions(tally: Tally, stored: dict) -> int:
    """Tasks decided twice, or whose first acknowledged decision is not the stored status."""
    answered = defaultdict(list)
    for task_id, status in tally.decisions:
        answered[task_id].append(status)
    double = sum(len(s) - 1 for s in answered.values())
    return double + sum(1 for task_id, s in answered.items() if stored.get(task_id) != s[0])


class Reviewer(threading.Thread):
    def __init__(self, n: int, key: str, base_url: str, deadline: float, tally: Tally, task_ids: list[str]):
        super().__init__(daemon=True)
        self.n, self.deadline, self.tally, self.task_ids = n, deadline, tally, task_ids
        self.http = httpx.Client(base_url=base_url, timeout=30, headers={"Authorization": f"Bearer {key}"})
        self.random = random.Random(n)
        self.error: Exception | None = None
        self.writes = 0

    def call(self, method: str, url: str, **kwargs) -> httpx.Response:
        response = timed_request(self.http, self.tally, method, url, **kwargs)
        with self.tally.lock:
            if response.status_code == 409:
                self.tally.conflicts += 1
            elif response.status_code != 200 and len(self.tally.unexpected) < 5:
                self.tally.unexpected.append((response.status_code, response.text[:300]))
        return response

    def run(self) -> None:
        try:
            while time.monotonic() < self.deadline and self.step():
                pass
        except Exception as exc:  # noqa: BLE001 - reported in the summary
            self.error = exc
        finally:
            self.http.close()

    def step(self) -> bool:
        """Work one task a little: confirm one of its fields, or decide it once all are
        confirmed. False once every task is decided."""
        task_id = self.random.choice(self.task_ids)
        task = self.call("GET", f"/v1/human-reviews/{task_id}").json()["task"]
        if task["status"] != "pending":
            return self.drop(task_id)
        done = {d["path"] for d in task["decisions"] if d["confirmedAt"]}
        todo = [p for p in task["requiredPaths"] if p not in done]
        if todo:
            self.confirm(task_id, task, self.random.choice(todo))
        else:
            self.decide(task)
        return True

    def drop(self, task_id: str) -> bool:
        """Stop picking a decided task; False when it was the last one."""
        self.task_ids = [t for t in self.task_ids if t != task_id] or self.task_ids
        return not all(t == task_id for t in self.task_ids)

    def confirm(self, task_id: str, task: dict, path: str) -> None:
        self.writes += 1
        value = f"r{self.n}-w{self.writes}"
        answer = self.call("PUT", f"/v1/human-reviews/{task_id}/fields", json={
            "expectedVersion": task["version"], "idempotencyKey": f"r{self.n}-{self.writes}", "path": path,
            "value": value})
        if answer.status_code == 200:
            with self.tally.lock:
                self.tally.confirms.append((task_id, path, value, answer.json()["task"]["version"]))

    def decide(self, task: dict) -> None:
        if int(task["id"]) % 5 == 0:
            answer = self.call("POST", f"/v1/human-reviews/{task['id']}/reject", json={
                "expectedVersion": task["version"], "idempotencyKey": f"reject-r{self.n}", "reason": f"r{self.n}"})
        else:
            answer = self.call("POST", f"/v1/human-reviews/{task['id']}/approve",
                               json={"expectedVersion": task["version"]})
        if answer.status_code == 200:
            with self.tally.lock:
                self.tally.decisions.append((task["id"], answer.json()["task"]["status"]))


class Command(BaseCommand):
    help = "N reviewers deciding the same human review tasks over HTTP; prints lost confirmations, double " \
           "decisions and server errors."

    def add_arguments(self, parser):
        parser.add_argument("--reviewers", type=int, default=20)
        parser.add_argument("--tasks", type=int, default=50)
        parser.add_argument("--seconds", type=float, default=60.0)
        parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
        parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
        parser.add_argument("--base-url", default="", help="use a running Loupe instead of starting gunicorn")

    def handle(self, *args, reviewers, tasks, seconds, workers, threads, base_url, **options):
        if not 1 <= reviewers <= 200 or not 1 <= seconds <= 1800 or not 1 <= tasks <= 5000:
            raise CommandError("Keep it bounded: 1-200 reviewers, 1-5000 tasks, 1-1800 seconds.")
        if connection.vendor != "postgresql" and not base_url:
            self.stderr.write("Not PostgreSQL: one gunicorn worker, so this does not test decisions under "
                              "concurrency.")
            workers, threads = 1, 1
        keys, task_ids = self.seed(reviewers, tasks)
        with serving(base_url, workers=workers, threads=threads, ready="/v1/human-reviews", warm_given=True) as served:
            tally = Tally()
            deadline = time.monotonic() + seconds
            crew = [Reviewer(n, key, served, deadline, tally, list(task_ids)) for n, key in enumerate(keys)]
            _, elapsed = run_crew(crew, seconds)
        self.report(tally, crew, elapsed, task_ids)

    def seed(self, reviewers: int, tasks: int) -> tuple[list[str], list[str]]:
        automation = loadtest_automation("loadtest-human-reviews", 0, tasks, lambda n: {
            "id": f"lthr_{n:05d}", "automation": AUTOMATION, "status": "waiting",
            "humanReview": {"sourceKind": "workflow_step", "sourceLabel": "load test",
                            "machineData": {"vendor": "ACME", "iban": "DE00", "total": n, "currency": "EUR",
                                            "date": "2026-12-01"},
                            "requiredPaths": FIELDS}}, runs_record_and_check)
        keys = [ApiKey.issue(user=user, name="loadtest_human_reviews")[1]
                for user in loadtest_reviewers("loadtest-hr", reviewers)]
        ids = [str(pk) for pk in Task.objects.filter(automation=automation).values_list("pk", flat=True)]
        return keys, ids

    def report(self, tally: Tally, crew, elapsed: float, task_ids: list[str]) -> dict:
        numbers = self.verify(tally, task_ids)
        latencies = sorted(tally.latencies) or [0.0]
        errors = [f"r{r.n}: {r.error!r}" for r in crew if r.error]
        lines = [
            f"reviewers {len(crew)}, tasks {len(task_ids)}, {elapsed:.1f} s, database {connection.vendor}",
            f"requests {len(tally.latencies)} ({len(tally.latencies) / max(elapsed, 0.001):.0f}/s), "
            f"p50 {latencies[len(latencies) // 2] * 1000:.0f} ms, p95 {latencies[int(len(latencies) * .95)] * 1000:.0f} ms",
            f"confirmations acknowledged {len(tally.confirms)}; decisions acknowledged {len(tally.decisions)}; "
            f"tasks decided {numbers['decided']}; refused as stale or decided (409): {tally.conflicts}",
            f"lost confirmations: {numbers['lost']}",
            f"double decisions: {numbers['double']}",
            f"server errors (5xx): {tally.statuses.get(500, 0)}",
            f"statuses: {dict(sorted(tally.statuses.items()))}",
        ]
        if errors:
            lines.append("reviewer errors: " + "; ".join(errors[:5]))
        for status, body in tally.unexpected:
            lines.append(f"  answered {status}: {body}")
        self.stdout.write("\n".join(lines))
        return numbers

    def verify(self, tally: Tally, task_ids: list[str]) -> dict:
        stored = {str(pk): status for pk, status in Task.objects.filter(pk__in=task_ids).values_list("pk", "status")}
        return {"lost": _lost_confirms(tally, task_ids), "double": _double_decisions(tally, stored),
                "decided": sum(1 for s in stored.values() if s != "pending")}
