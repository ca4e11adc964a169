"""Two Loupe nodes behind HAProxy, for `manage.py loadtest_nodes` (docs/deploy.md#two-nodes).

Each node is a gunicorn (several workers) in a process group of its own, so killing it takes
its workers down at once, as a machine that dies would. HAProxy balances round-robin, checks
each node's /healthz every second (down after 3 failures, up after 2 successes; a check may take
10 s, as a busy node answers it behind the reviewers' requests, while a dead node refuses it at
once), and sends a request whose connection to a node is refused to the other node (`option
redispatch`, `retries`); a request a node had already received when it died fails (502 or a
dropped connection) and the client retries it (bench/management/commands/loadtest_nodes.py says
how retries stay safe).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.http import free_port, gunicorn_kill, gunicorn_start, gunicorn_stop, wait_until_serving

HAPROXY_CONFIG = """global
    maxconn 1000
defaults
    mode http
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    retries 3
    option redispatch
    timeout check 10s
    # A new connection to the node per request: a kept one that gunicorn closes as idle (its
    # keep-alive is 2 s) just as HAProxy reuses it would fail a request no node failure caused.
    option http-server-close
frontend loupe
    bind 127.0.0.1:{port}
    default_backend nodes
backend nodes
    balance roundrobin
    option httpchk
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host 127.0.0.1
    default-server inter 1s fall 3 rise 2
{servers}
"""


def haproxy_program() -> str | None:
    return shutil.which("haproxy") or next((p for p in ("/usr/sbin/haproxy",) if Path(p).exists()), None)


class Balancer:
    """HAProxy in front of the nodes' ports, with its configuration in a temporary folder."""

    def __init__(self, port: int, node_ports: list[int], program: str):
        self.folder = Path(tempfile.mkdtemp(prefix="loupe-haproxy-"))
        servers = "\n".join(f"    server node{n} 127.0.0.1:{p} check" for n, p in enumerate(node_ports))
        config = self.folder / "haproxy.cfg"
        config.write_text(HAPROXY_CONFIG.format(port=port, servers=servers))
        check = subprocess.run([program, "-c", "-q", "-f", str(config)], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"HAProxy refused its configuration: {check.stderr[-500:]}")
        self.process = subprocess.Popen([program, "-db", "-f", str(config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)


class Node:
    """One Loupe node: gunicorn with `workers` x `threads` on a fixed port (it comes back there)."""

    def __init__(self, port: int, *, workers: int, threads: int, env: dict):
        self.port, self.workers, self.threads, self.env = port, workers, threads, env
        self.url = f"http://127.0.0.1:{port}"
        self.server: subprocess.Popen | None = None

    def start(self) -> Node:
        self.server, _ = gunicorn_start(workers=self.workers, threads=self.threads, env=self.env, port=self.port,
                                        own_group=True, timeout=60)
        wait_until_serving(self.server, f"{self.url}/healthz")
        return self

    def kill(self) -> None:
        gunicorn_kill(self.server)

    def stop(self) -> None:
        gunicorn_stop(self.server)


def ports(base: int, count: int) -> list[int]:
    return [base + n for n in range(count)] if base else [free_port() for _ in range(count)]


def start_moto(port: int) -> tuple[subprocess.Popen, str]:
    """moto's S3 server (requirements-dev.txt) on a loopback port: (the process, its URL)."""
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("moto's S3 server did not answer within 30 s")


def s3_environment(endpoint: str, bucket: str) -> dict[str, str]:
    """Creates the bucket; the environment that puts both nodes' files in it."""
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="loupe-bench",
                          aws_secret_access_key="loupe-bench")
    try:
        client.create_bucket(Bucket=bucket)
    except client.exceptions.BucketAlreadyOwnedByYou:
        pass
    return {"LOUPE_S3_BUCKET": bucket, "LOUPE_S3_ENDPOINT_URL": endpoint, "LOUPE_S3_REGION": "us-east-1",
            "LOUPE_S3_ACCESS_KEY_ID": "loupe-bench", "LOUPE_S3_SECRET_ACCESS_KEY": "loupe-bench",
            "LOUPE_S3_PREFIX": "loadtest-nodes"}
