"""`manage.py loadtest_nodes`: N reviewers work through HAProxy in front of two Loupe nodes while
one node is killed (SIGKILL to gunicorn and all its workers) and started again.

The nodes share this command's PostgreSQL database (DATABASE_URL), a Redis cache (--redis-url or
LOUPE_CACHE_URL) and an S3 server (--s3-endpoint, or moto's server started here). Each reviewer
signs in once, then loops: open the queue's next run (claiming it), upload a corrected file,
read the pane again (the upload made a new version), save a verdict with a note unique to that
save, take "next". Printed afterwards, besides loadtest_claims' figures (runs worked by two at
once, lost or overwritten saves, server errors, throughput and latency):

- requests that failed in flight (502/503/504 from the balancer, or a dropped connection) and
  were retried; requests given up (none expected);
- sessions lost: answers that sent a signed-in reviewer to the sign-in page;
- uploads acknowledged, and how many of them both nodes serve with the same bytes.

Retries are safe because a reviewer never repeats a write blindly. A failed GET is simply sent
again. A failed save or upload may or may not have committed on the node that died, so before
sending it again the reviewer reads the pane: if its note (or file) is there, the write took
effect and is counted once; if not, it is sent again. The save carries the review version it
read, so even a repeat that raced its first attempt would be refused as stale, never overwrite.
"""

import re
import threading
import time
from collections import Counter

import httpx
from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection

from bench import nodes
from bench.http import wait_until_serving
from bench.management.commands import loadtest_claims as claims

RETRYABLE = {502, 503, 504}
ATTEMPTS = 8
UPLOAD_LINK = re.compile(r'href="(/runs/[^"]+/expected-files/[^"]+/)" download>.*?name="name" value="([^"]+)"', re.S)


class Reviewer(claims.Reviewer):
    """loadtest_claims' reviewer, through the balancer, uploading a file per save and retrying
    what failed in flight (see the module)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.uploads: list[tuple[str, str, bytes]] = []

    def call(self, method: str, url: str, **kwargs) -> httpx.Response:
        for attempt in range(ATTEMPTS):
            started = time.perf_counter()
            try:
                response = self.http.request(method, url, **kwargs)
            except httpx.TransportError as error:
                response, kind, failure = None, "connection", type(error).__name__
            else:
                kind = failure = response.status_code
            if response is not None and kind not in RETRYABLE:
                self.count(response, started, url)
                return response
            with self.tally.lock:
                self.tally.retried[kind] += 1
                self.tally.retried_at.append((time.monotonic(), failure))
            time.sleep(0.25 * (attempt + 1))
            if method == "POST" and self.took_effect(url, kwargs):
                return httpx.Response(302, headers={"location": url.split("save/")[0]})
        with self.tally.lock:
            self.tally.given_up += 1
        raise RuntimeError(f"{method} {url}: no answer after {ATTEMPTS} attempts")

    def count(self, response: httpx.Response, started: float, url: str) -> None:
        signed_out = (response.status_code == 302 and not url.startswith("/accounts/")
                      and response.headers.get("location", "").startswith("/accounts/login/"))
        with self.tally.lock:
            self.tally.latencies.append(time.perf_counter() - started)
            self.tally.statuses[response.status_code // 100 * 100] += 1
            self.tally.signed_out += signed_out

    def took_effect(self, url: str, kwargs: dict) -> bool:
        """Did the failed attempt of a save or upload commit? The pane says."""
        run_pane = url.split("save/")[0].split("expected/upload/")[0]
        if run_pane == url:
            return False  # signing in: sending it again is harmless
        pane = self.call("GET", run_pane)
        if "save/" in url:
            return f">{kwargs['data']['body']}</textarea>" in pane.text
        return f'name="name" value="{kwargs["data"]["name"]}"' in pane.text

    def run(self) -> None:
        try:
            self.login()
            self.deadline = time.monotonic() + self.seconds
            queue = f"?automation={claims.AUTOMATION}&chip=unreviewed"
            match = re.search(r'href="/runs/([^/"]+)/', self.call("GET", f"/queue/{queue}").text)
            run_id, n = (match.group(1) if match else None), 0
            while run_id and time.monotonic() < self.deadline:
                n += 1
                run_id = self.work(run_id, queue, n)
        except Exception as exc:  # noqa: BLE001 - reported in the summary
            self.error = exc
        finally:
            self.http.close()

    def work(self, run_id: str, queue: str, n: int) -> str | None:
        """One run: open (claim), upload, save, next; the next run's id."""
        pane = self.call("GET", f"/runs/{run_id}/{queue}")
        opened = time.monotonic()
        if "claim-mine" not in pane.text or ">Not reviewed<" not in pane.text:
            with self.tally.lock:
                self.tally.bounced += 1
            return self.next(run_id, queue)
        note, total = f"{self.name_} save {n}", 1000 + n + int(self.name_.rsplit("-", 1)[1]) * 10_000
        name, content = f"fix-{self.name_}-{n}.csv", f"total\n{total}\n".encode()
        token = claims.CSRF.search(pane.text).group(1)
        uploaded = self.call("POST", f"/runs/{run_id}/expected/upload/{queue}", data={
            "csrfmiddlewaretoken": token, "name": name}, files={"file": (name, content, "text/csv")})
        if uploaded.status_code == 302:
            self.uploads.append((run_id, name, content))
        pane = self.call("GET", f"/runs/{run_id}/{queue}")
        data = {"csrfmiddlewaretoken": token, "version": claims.VERSION.search(pane.text).group(1),
                "verdict": "fail", "body": note, "v:/total": str(total), "op": "save"}
        saved = self.call("POST", f"/runs/{run_id}/save/{queue}", data=data)
        with self.tally.lock:
            if saved.status_code == 302:
                self.tally.saves.append((run_id, self.name_, note, total, int(data["version"])))
            elif "Not saved" in saved.text:
                self.tally.conflicts += 1
        following = self.next(run_id, queue)
        with self.tally.lock:
            self.tally.windows.append((run_id, self.name_, opened, time.monotonic()))
        return following


class Command(claims.Command):
    help = "Reviewers work through HAProxy in front of two Loupe nodes while one is killed and restarted."

    def add_arguments(self, parser):
        parser.add_argument("--reviewers", type=int, default=20)
        parser.add_argument("--seconds", type=float, default=60.0)
        parser.add_argument("--runs", type=int, default=3000, help="runs to seed for the test queue")
        parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per node")
        parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
        parser.add_argument("--kill-at", type=float, default=None, help="seconds in (default: a third of --seconds)")
        parser.add_argument("--down-for", type=float, default=3.0, help="seconds the killed node stays down")
        parser.add_argument("--no-kill", action="store_true", help="measure only (pooled against unpooled)")
        parser.add_argument("--pool", type=int, default=0, help="LOUPE_DB_POOL of the nodes (0: no pool)")
        parser.add_argument("--redis-url", default="", help="the nodes' shared cache (default LOUPE_CACHE_URL)")
        parser.add_argument("--s3-endpoint", default="", help="an S3 API (default: moto's server started here)")
        parser.add_argument("--port-base", type=int, default=0,
                            help="balancer, nodes and moto on this port and the next three (default: free ports)")

    def handle(self, *args, **o):
        if connection.vendor != "postgresql":
            raise CommandError("Two nodes share one database: run this on PostgreSQL (DATABASE_URL).")
        if not 1 <= o["reviewers"] <= 200 or not 1 <= o["seconds"] <= 1800:
            raise CommandError("Keep it bounded: 1-200 reviewers, 1-1800 seconds.")
        program, redis_url = nodes.haproxy_program(), o["redis_url"] or settings.LOUPE_CACHE_URL
        if program is None or not redis_url:
            raise CommandError("Needs HAProxy (apt-get install haproxy) and Redis (--redis-url or LOUPE_CACHE_URL).")
        names = self.seed(o["reviewers"], o["runs"])
        lb_port, *node_ports, moto_port = nodes.ports(o["port_base"], 4)
        moto, endpoint = (None, o["s3_endpoint"]) if o["s3_endpoint"] else nodes.start_moto(moto_port)
        env = {"LOUPE_CACHE_URL": redis_url, "LOUPE_CACHE_KEY_PREFIX": f"loupe-nodes-{lb_port}",
               "LOUPE_DB_POOL": str(o["pool"]), **nodes.s3_environment(endpoint, "loupe-nodes")}
        pair = [nodes.Node(p, workers=o["workers"], threads=o["threads"], env=env) for p in node_ports]
        balancer = None
        try:
            for node in pair:
                node.start()
            balancer = nodes.Balancer(lb_port, node_ports, program)
            wait_until_serving(None, f"{balancer.url}/healthz")
            tally, crew, events, elapsed = self.work(names, balancer.url, pair[0], o)
            checked = self.check_uploads(crew, pair)
        finally:
            for part in (balancer, *pair):
                if part is not None:
                    part.stop()
            if moto is not None:
                moto.terminate()
                moto.wait(timeout=10)
        self.report(tally, crew, elapsed, o["workers"], o["threads"])
        self.stdout.write(self.node_lines(tally, crew, events, checked, o))

    def work(self, names, url, victim, o):
        tally = claims.Tally()
        tally.retried, tally.retried_at, tally.given_up, tally.signed_out = Counter(), [], 0, 0
        crew = [Reviewer(name, url, o["seconds"], tally) for name in names]
        events: dict[str, float] = {}
        killer = None if o["no_kill"] else threading.Thread(
            target=self.kill_and_restart, args=(victim, o["kill_at"] or o["seconds"] / 3, o["down_for"], events),
            daemon=True)
        started = self.started = time.monotonic()
        for thread in (*crew, *([killer] if killer else [])):
            thread.start()
        for thread in (*crew, *([killer] if killer else [])):
            thread.join(o["seconds"] + 120)
        return tally, crew, events, time.monotonic() - started

    def kill_and_restart(self, node, at: float, down_for: float, events: dict) -> None:
        time.sleep(at)
        # Stamped before the signal: the dead node's requests fail the moment it lands, and the
        # reviewers' threads may note their failures before this thread runs again.
        events["killed"] = time.monotonic()
        node.kill()
        time.sleep(down_for)
        node.start()
        events["back"] = time.monotonic()

    @staticmethod
    def check_uploads(crew, pair) -> int:
        """Uploads both nodes serve with the bytes sent, read with one session on both (it was
        made on the first node): each upload's link is found on its run's pane."""
        reviewer = claims.Reviewer(crew[0].name_, pair[0].url, 1, claims.Tally())
        reviewer.login()
        same = 0
        for run_id, name, content in (upload for r in crew for upload in r.uploads):
            links = {n: link for link, n in UPLOAD_LINK.findall(reviewer.http.get(f"/runs/{run_id}/").text)}
            if name in links and all(reviewer.http.get(node.url + links[name]).content == content for node in pair):
                same += 1
        reviewer.http.close()
        return same

    def node_lines(self, tally, crew, events, checked: int, o) -> str:
        uploads = sum(len(r.uploads) for r in crew)
        killed = (f"node killed (SIGKILL to gunicorn and its workers) at {events['killed'] - self.started:.1f} s, "
                  f"serving again at {events['back'] - self.started:.1f} s" if "back" in events else "no node killed")
        # The dead node's requests fail from its death until the balancer's checks see it down
        # (3 failed checks a second apart) and again until they see it back up: allow 3 s after each.
        window = (events.get("killed", 0), events.get("back", 0) + 3)
        elsewhen = [f"{failure} at {at - self.started:.1f} s" for at, failure in tally.retried_at
                    if not window[0] <= at <= window[1]]
        return "\n".join([
            f"two nodes x {o['workers']} workers x {o['threads']} threads behind HAProxy, pool {o['pool'] or 'off'}; "
            + killed,
            f"failed in flight and retried: {sum(tally.retried.values())} {dict(tally.retried)}, of them outside the "
            f"node's death and return: {len(elsewhen)}; given up: {tally.given_up}",
            *([f"outside it: {', '.join(elsewhen)}"] if elsewhen else []),
            f"sessions lost: {tally.signed_out}",
            f"uploads acknowledged {uploads}; the same bytes from both nodes: {checked}",
        ])
