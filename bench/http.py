"""What the HTTP benchmarks share: a free loopback port, a gunicorn started on this project,
waiting for it to answer, and stopping it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def free_port() -> int:
    """A free loopback port: LOUPE_BENCH_PORT when set; else the first free one of
    LOUPE_BENCH_PORTS (`18700-18799`) where set (machines shared by several people); else any
    the system hands out."""
    if os.environ.get("LOUPE_BENCH_PORT"):
        return int(os.environ["LOUPE_BENCH_PORT"])
    low, _, high = os.environ.get("LOUPE_BENCH_PORTS", "0").partition("-")
    for port in range(int(low), int(high or low) + 1):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise OSError(f"No free port in LOUPE_BENCH_PORTS={os.environ['LOUPE_BENCH_PORTS']}.")


def timed_request(http: httpx.Client, tally, method: str, url: str, **kwargs) -> httpx.Response:
    """One request of a load test, its latency and status class (2xx, 4xx …) counted in `tally`
    (a dataclass with `latencies`, `statuses` and a `lock`)."""
    started = time.perf_counter()
    response = http.request(method, url, **kwargs)
    with tally.lock:
        tally.latencies.append(time.perf_counter() - started)
        tally.statuses[response.status_code // 100 * 100] += 1
    return response


def run_crew(crew: list, seconds: float) -> tuple[float, float]:
    """Start every load-test thread, wait for them (a grace of two minutes past `seconds`);
    (when they started, the seconds they took)."""
    started = time.monotonic()
    for worker in crew:
        worker.start()
    for worker in crew:
        worker.join(seconds + 120)
    return started, time.monotonic() - started


def gunicorn_start(*, workers: int = 1, threads: int = 1, env: dict | None = None,
                   timeout: int = 300, port: int = 0, own_group: bool = False) -> tuple[subprocess.Popen, str]:
    """gunicorn serving config.wsgi on `port` (default a free loopback port); (the process, its
    base URL). With own_group the server and its workers form a process group of their own, so
    `gunicorn_kill` can take them all down at once, as a machine that dies would."""
    port = port or free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--workers", str(workers),
         "--threads", str(threads), "--bind", f"127.0.0.1:{port}", "--timeout", str(timeout),
         "--log-level", "warning"],
        cwd=ROOT, env={**os.environ, **(env or {})}, start_new_session=own_group)
    return server, f"http://127.0.0.1:{port}"


def gunicorn_kill(server: subprocess.Popen) -> None:
    """SIGKILL to the server and its workers (started with own_group): no request finishes."""
    os.killpg(server.pid, signal.SIGKILL)
    server.wait(timeout=30)


def wait_until_serving(server: subprocess.Popen | None, url: str, *, seconds: float = 60.0) -> None:
    """Until `url` answers without a server error (raises SystemExit when the server exits or never answers)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            raise SystemExit("gunicorn exited before it answered.")
        try:
            if httpx.get(url, timeout=5).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer within {seconds:.0f} s.")


@contextmanager
def serving(base_url: str | None, *, workers: int, threads: int, ready: str, warm_given: bool = False):
    """The base URL of the server a load test drives: `base_url` as given, else a gunicorn
    started here (stopped on the way out), once `ready` (a path) answers. `warm_given` also
    waits for a given server (its first request imports the URL conf)."""
    server = None
    if not base_url:
        server, base_url = gunicorn_start(workers=workers, threads=threads)
    if server is not None or warm_given:
        wait_until_serving(server, f"{base_url}{ready}")
    try:
        yield base_url
    finally:
        gunicorn_stop(server)


def gunicorn_stop(server: subprocess.Popen | None) -> None:
    if server is not None and server.poll() is None:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
