"""`manage.py loadtest_claims`: N reviewers working one queue at once, over real HTTP.

Starts gunicorn on this project's settings (or uses --base-url), seeds an automation whose runs
are all sampled and unreviewed, signs in N reviewers, and lets each one, for a bounded time,
open the queue's first run, take "next" whenever the pane says someone else holds a run, save a
verdict with a note and a correction unique to that save, and move on. Then it prints:

- runs worked by two at once: two reviewers whose open-to-save windows on one run overlap;
- lost or overwritten saves: a save that answered "saved" but whose note and correction are not
  what the database holds for that run afterwards;
- server errors: 5xx answers;
- with --stale N, N more reviewers ignore claims, as a stale tab or an API client would: they
  save the first few runs over and over with the version they read, so saves collide for real;
  an acknowledged save is lost when another acknowledged save of that run was based on the same
  version, or when the audit trail has no event with its note;
plus throughput and latency. Meant for PostgreSQL (claims under real concurrency); SQLite works
only with one worker and says so. Bounded by --seconds and --reviewers.
"""

import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from bench.http import run_crew, serving, timed_request
from bench.seed import loadtest_automation, loadtest_reviewers
from review.models import Claim, Review
from runs.services import runs_record

AUTOMATION = "workflows.loadtest-claims"
PASSWORD = "loadtest-pass"
ROOT = Path(settings.BASE_DIR)
VERSION = re.compile(r'name="version" value="(\d+)"')
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Tally:
    windows: list = field(default_factory=list)  # (run id, reviewer, opened at, saved at)
    saves: list = field(default_factory=list)  # (run id, reviewer, note, total)
    stale_saves: list = field(default_factory=list)  # (run id, reviewer, note, base version)
    statuses: dict = field(default_factory=lambda: defaultdict(int))
    latencies: list = field(default_factory=list)
    bounced: int = 0
    already_reviewed: int = 0
    conflicts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _windows_by_run(tally: Tally) -> dict[str, list]:
    """(opened, saved, who) of each save, by run, in order."""
    by_run = defaultdict(list)
    for run_id, who, opened, saved in tally.windows:
        by_run[run_id].append((opened, saved, who))
    for windows in by_run.values():
        windows.sort()
    return by_run


def _overlap(windows: list) -> bool:
    """Two reviewers had the run open at once: one opened it before the other saved."""
    return any(b[0] < a[1] and a[2] != b[2] for a, b in zip(windows, windows[1:], strict=False))


def _lost_saves(saves: list) -> int:
    """Acknowledged saves whose note and total are not what the run's review holds, and second
    saves of a run (each overwrote the one before)."""
    stored = {r.run_id: (r.body, (r.expected or {}).get("total"))
              for r in Review.objects.filter(run_id__in={s[0] for s in saves})}
    last = {run_id: (note, total) for run_id, _who, note, total, _version in saves}
    lost = sum(1 for run_id, kept in last.items() if stored.get(run_id) != kept)
    saves_by_run = defaultdict(list)
    for run_id, who, *_ in saves:
        saves_by_run[run_id].append(who)
    return lost + sum(len(savers) - 1 for savers in saves_by_run.values())


class Reviewer(threading.Thread):
    def __init__(self, name: str, base_url: str, seconds: float, tally: Tally, *, stale: bool = False):
        super().__init__(daemon=True)
        self.name_, self.seconds, self.tally, self.stale = name, seconds, tally, stale
        self.deadline = time.monotonic() + seconds
        self.http = httpx.Client(base_url=base_url, timeout=30, follow_redirects=False)
        self.error: Exception | None = None
        self.saved = 0

    def call(self, method: str, url: str, **kwargs) -> httpx.Response:
        return timed_request(self.http, self.tally, method, url, **kwargs)

    def login(self) -> None:
        page = self.call("GET", "/accounts/login/")
        token = CSRF.search(page.text).group(1)
        response = self.call("POST", "/accounts/login/", data={"username": self.name_, "password": PASSWORD,
                                                              "csrfmiddlewaretoken": token})
        if response.status_code != 302:
            raise CommandError(f"{self.name_} could not sign in ({response.status_code}).")

    def run(self) -> None:
        try:
            self.login()
            self.deadline = time.monotonic() + self.seconds  # the time counts from signing in
            if self.stale:
                return self.run_stale()
            queue = f"?automation={AUTOMATION}&chip=unreviewed"
            page = self.call("GET", f"/queue/{queue}")
            match = re.search(r'href="/runs/([^/"]+)/', page.text)
            run_id = match.group(1) if match else None
            while run_id and time.monotonic() < self.deadline:
                run_id = self.work(run_id, queue)
        except Exception as exc:  # noqa: BLE001 - reported in the summary
            self.error = exc
        finally:
            self.http.close()

    def work(self, run_id: str, queue: str) -> str | None:
        """Open a run; when it is ours and unreviewed, save a verdict, a note and a total; then
        "next". The run to work on next (None: stop)."""
        pane = self.call("GET", f"/runs/{run_id}/{queue}")
        opened = time.monotonic()  # the claim is ours by now (taken while serving the pane)
        if pane.status_code != 200:
            return None
        if "claim-mine" not in pane.text or ">Not reviewed<" not in pane.text:
            # Someone else holds it, or (opened from a queue page read earlier) finished it since;
            # the pane shows their claim or verdict, and a reviewer moves on, as this one does.
            with self.tally.lock:
                if "claim-mine" not in pane.text:
                    self.tally.bounced += 1
                else:
                    self.tally.already_reviewed += 1
            return self.next(run_id, queue)
        self.save(run_id, queue, pane)
        following = self.next(run_id, queue)
        # The window ends when "next" has answered: the claim was given back in it.
        with self.tally.lock:
            self.tally.windows.append((run_id, self.name_, opened, time.monotonic()))
        return following

    def save(self, run_id: str, queue: str, pane: httpx.Response) -> None:
        self.saved += 1
        n = self.saved
        note, total = f"{self.name_} save {n}", 1000 + n + int(self.name_.rsplit("-", 1)[1]) * 10_000
        data = {"csrfmiddlewaretoken": CSRF.search(pane.text).group(1),
                "version": VERSION.search(pane.text).group(1), "verdict": "fail", "body": note,
                "v:/total": str(total), "op": "save"}
        saved = self.call("POST", f"/runs/{run_id}/save/{queue}", data=data)
        if saved.status_code == 302:
            with self.tally.lock:
                self.tally.saves.append((run_id, self.name_, note, total, int(data["version"])))
        elif "Not saved" in saved.text:
            with self.tally.lock:
                self.tally.conflicts += 1

    def run_stale(self) -> None:
        """Ignore claims: save one of the first runs with the version just read, again and again."""
        n = 0
        while time.monotonic() < self.deadline:
            n += 1
            run_id = f"lt_{n % STALE_RUNS:06d}"
            pane = self.call("GET", f"/runs/{run_id}/")
            if pane.status_code != 200:
                continue
            version, note = VERSION.search(pane.text).group(1), f"{self.name_} stale save {n}"
            saved = self.call("POST", f"/runs/{run_id}/save/", data={
                "csrfmiddlewaretoken": CSRF.search(pane.text).group(1), "version": version, "verdict": "partial",
                "body": note, "v:/total": str(n), "op": "save"})
            if saved.status_code == 302:
                with self.tally.lock:
                    self.tally.stale_saves.append((run_id, self.name_, note, int(version)))
            elif "Not saved" in saved.text or 'id="conflict"' in saved.text:
                with self.tally.lock:
                    self.tally.conflicts += 1

    def next(self, run_id: str, queue: str) -> str | None:
        response = self.call("GET", f"/runs/{run_id}/next/{queue}")
        location = response.headers.get("location", "")
        match = re.match(r"/runs/([^/]+)/", location)
        following = match.group(1) if match else None
        return None if following == run_id else following


STALE_RUNS = 5


class Command(BaseCommand):
    help = "N reviewers working one queue over HTTP (gunicorn); prints overlaps, lost saves and errors."

    def add_arguments(self, parser):
        parser.add_argument("--reviewers", type=int, default=20)
        parser.add_argument("--seconds", type=float, default=60.0)
        parser.add_argument("--runs", type=int, default=3000, help="runs to seed for the test queue")
        parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
        parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
        parser.add_argument("--base-url", default="", help="use a running Loupe instead of starting gunicorn")
        parser.add_argument("--stale", type=int, default=0,
                            help="more reviewers that ignore claims and save the first runs with the version they read")

    def handle(self, *args, reviewers, seconds, runs, workers, threads, base_url, stale, **options):
        if not 1 <= reviewers <= 200 or not 1 <= seconds <= 1800:
            raise CommandError("Keep it bounded: 1-200 reviewers, 1-1800 seconds.")
        if connection.vendor != "postgresql" and not base_url:
            self.stderr.write("Not PostgreSQL: one gunicorn worker, so this does not test claims under concurrency.")
            workers, threads = 1, 1
        if not 0 <= stale <= 200:
            raise CommandError("Keep it bounded: 0-200 stale reviewers.")
        names = self.seed(reviewers + stale, runs)
        with serving(base_url, workers=workers, threads=threads, ready="/accounts/login/") as served:
            tally = Tally()
            crew = [Reviewer(name, served, seconds, tally, stale=n >= reviewers) for n, name in enumerate(names)]
            self.started, elapsed = run_crew(crew, seconds)
        self.report(tally, crew, elapsed, workers, threads)

    def seed(self, reviewers: int, runs: int) -> list[str]:
        Claim.objects.filter(run_id__startswith="lt_").delete()
        loadtest_automation("loadtest-claims", 10_000, runs, lambda n: {
            "id": f"lt_{n:06d}", "automation": AUTOMATION, "status": "completed",
            "input": {"document": f"doc-{n}.pdf"}, "output": {"total": 100 + n, "currency": "EUR"}}, runs_record)
        names = []
        for user in loadtest_reviewers("loadtest", reviewers):
            user.set_password(PASSWORD)
            user.save()
            names.append(user.username)
        return names

    def report(self, tally: Tally, crew, elapsed: float, workers: int, threads: int) -> None:
        by_run = _windows_by_run(tally)
        overlapping = sum(1 for windows in by_run.values() if _overlap(windows))
        lost, lost_stale = self._lost(tally)
        latencies = sorted(tally.latencies) or [0.0]
        errors = [f"{r.name_}: {r.error}" for r in crew if r.error]
        lines = [
            f"reviewers {len(crew)}, {elapsed:.1f} s, gunicorn {workers} workers x {threads} threads, "
            f"database {connection.vendor}",
            f"requests {len(tally.latencies)} ({len(tally.latencies) / elapsed:.0f}/s), "
            f"p50 {latencies[len(latencies) // 2] * 1000:.0f} ms, p95 {latencies[int(len(latencies) * .95)] * 1000:.0f} ms",
            f"saves {len(tally.saves)} on {len({s[0] for s in tally.saves})} runs; opened a run someone else held: "
            f"{tally.bounced}; opened a run finished meanwhile: {tally.already_reviewed}; refused as stale: "
            f"{tally.conflicts}",
            f"runs worked by two at once: {overlapping}",
            f"lost or overwritten saves: {lost}",
            f"claim-ignoring saves acknowledged: {len(tally.stale_saves)}; on the runs they saved, acknowledged "
            f"saves lost or overwritten: {lost_stale}",
            f"server errors (5xx): {tally.statuses.get(500, 0)}",
            f"statuses: {dict(sorted(tally.statuses.items()))}",
        ]
        if errors:
            lines.append("reviewer errors: " + "; ".join(errors[:5]))
        self.stdout.write("\n".join(lines + self._doubles(by_run)))

    def _lost(self, tally: Tally) -> tuple[int, int]:
        """Lost or overwritten saves, on the runs only claim-respecting reviewers saved and on the
        runs the claim-ignoring ones saved too. The latter are judged by their check
        (lost_stale): a later save there read the version it replaced."""
        contested = {s[0] for s in tally.stale_saves}
        lost_stale = self.lost_stale(tally.stale_saves + [(run_id, who, note, version) for run_id, who, note, _, version
                                                          in tally.saves if run_id in contested])
        tally.saves = [s for s in tally.saves if s[0] not in contested]
        return _lost_saves(tally.saves), lost_stale

    def _doubles(self, by_run: dict) -> list[str]:
        """Up to three runs saved by more than one reviewer, with who had each open when."""
        doubles = [(run_id, w) for run_id, w in by_run.items() if len(w) > 1][:3]
        return [f"  {run_id} saved by: " + ", ".join(
            f"{who} [{opened - self.started:.2f}-{saved - self.started:.2f} s]" for opened, saved, who in windows)
            for run_id, windows in doubles]

    @staticmethod
    def lost_stale(saves: list) -> int:
        """Acknowledged saves that another acknowledged save of the same version replaced, or
        that left no audit event (docs/rules.md#concurrent-writes)."""
        from review.models import AuditEvent

        bases = defaultdict(int)
        for run_id, _who, _note, version in saves:
            bases[(run_id, version)] += 1
        lost = sum(count - 1 for count in bases.values())
        notes = defaultdict(set)
        for run_id, changes in AuditEvent.objects.filter(run_id__in={s[0] for s in saves}).values_list(
                "run_id", "changes"):
            body = (changes or {}).get("body")
            if isinstance(body, list) and len(body) == 2:
                notes[run_id].add(body[1])
        return lost + sum(1 for run_id, _who, note, _v in saves if note not in notes[run_id])
