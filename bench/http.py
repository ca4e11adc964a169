"""What the HTTP benchmarks share: a free loopback port, a gunicorn started on this project,
waiting for it to answer, and stopping it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def free_port() -> int:
    """LOUPE_BENCH_PORT when set (a machine that hands out port ranges), else any free one."""
    if os.environ.get("LOUPE_BENCH_PORT"):
        return int(os.environ["LOUPE_BENCH_PORT"])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn_start(*, workers: int = 1, threads: int = 1, env: dict | None = None,
                   timeout: int = 300) -> tuple[subprocess.Popen, str]:
    """gunicorn serving config.wsgi on a free loopback port; (the process, its base URL)."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--workers", str(workers),
         "--threads", str(threads), "--bind", f"127.0.0.1:{port}", "--timeout", str(timeout),
         "--log-level", "warning"],
        cwd=ROOT, env={**os.environ, **(env or {})})
    return server, f"http://127.0.0.1:{port}"


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


def gunicorn_stop(server: subprocess.Popen | None) -> None:
    if server is not None and server.poll() is None:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
