"""Proxy reads are bounded (backends/eigenpal/client.py, docs/security.md#proxy-reads): a live
loopback upstream (a threaded http.server started here) sends a huge body, a gzip bomb, a drip
and deeply nested JSON; each ends in a 502 naming the limit, within the deadline and without the
memory it asks for, and what the reviewer typed is kept. Numbers are printed (pytest -s)."""

import gzip
import http.server
import json
import threading
import time
import tracemalloc
import zlib

import httpx
import pytest

import backends
from backends.base import Unavailable
from backends.eigenpal import EigenpalBackend
from backends.eigenpal.client import Upstream
from tests.proxy import install_backend

MB = 1024 * 1024


def _gzip_bomb(expanded: int) -> bytes:
    """gzip of `expanded` bytes of JSON whitespace (about 1000:1)."""
    out = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b" " * MB
    return b"".join(out.compress(chunk) for _ in range(expanded // MB)) + out.flush()


class Hostile(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    mode = "ok"

    def log_message(self, *args):
        pass

    def _head(self, status=200, **headers):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), str(value))
        self.end_headers()

    def do_GET(self):  # noqa: N802 (http.server's name)
        mode = self.server.mode
        try:
            if self.path.endswith("/auth/check"):
                body = b'{"ok": true}'
                self._head(Content_Length=len(body))
                self.wfile.write(body)
            elif "/runs/" not in self.path:
                self._head(404, Content_Length=2)
                self.wfile.write(b"{}")
            elif mode == "huge":  # no length: read until the connection closes, 200 MB
                self._head()
                self.wfile.write(b'{"id": "r1", "note": "')
                for _ in range(200):
                    self.wfile.write(b"x" * MB)
            elif mode == "declared":
                self._head(Content_Length=200 * MB)
                self.wfile.write(b"{")
            elif mode == "gzip":
                body = self.server.bomb
                self._head(Content_Length=len(body), Content_Encoding="gzip")
                self.wfile.write(body)
            elif mode == "drip":
                self._head(Content_Length=1000)
                for _ in range(1000):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(self.server.drip_every)
            elif mode == "deep":
                body = b"[" * 100_000 + b"]" * 100_000
                self._head(Content_Length=len(body))
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture(scope="module")
def upstream_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    server.daemon_threads = True
    server.mode, server.drip_every, server.bomb = "ok", 0.2, _gzip_bomb(200 * MB)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _upstream(server, **limits) -> Upstream:
    return Upstream(base_url=f"http://127.0.0.1:{server.server_address[1]}", api_key="k", max_retries=0,
                    timeout=httpx.Timeout(5.0), **limits)


def measured(label, call):
    tracemalloc.start()
    started = time.perf_counter()
    try:
        outcome = call()
    except Unavailable as exc:
        outcome = exc
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / MB
    tracemalloc.stop()
    print(f"\n{label}: {seconds:.2f} s, +{peak:.0f} MB peak: {outcome}")
    return outcome, seconds, peak


@pytest.mark.parametrize(("mode", "named"), [
    ("huge", "larger than 50 MB (EIGENPAL_MAX_RESPONSE_MB)"),
    ("declared", "is 200.0 MB; Loupe reads at most 50 MB (EIGENPAL_MAX_RESPONSE_MB)"),
    ("gzip", "expands to more than 50 MB (EIGENPAL_MAX_RESPONSE_MB)"),
    ("deep", "nested more than 80 levels deep; Loupe reads at most LOUPE_MAX_JSON_DEPTH + 16"),
])
def test_each_hostile_answer_is_refused_naming_its_limit(upstream_server, mode, named):
    upstream_server.mode = mode
    upstream = _upstream(upstream_server)
    error, seconds, peak = measured(f"upstream {mode} (default limits)", lambda: upstream.json("GET", "/runs/r1"))
    upstream.close()
    assert isinstance(error, Unavailable) and named in str(error)
    assert seconds < 5 and peak < 200


def test_a_drip_ends_at_the_deadline(upstream_server):
    upstream_server.mode, upstream_server.drip_every = "drip", 0.2  # 1000 bytes over 200 s
    upstream = _upstream(upstream_server, read_deadline=2.0)
    error, seconds, _ = measured("upstream drip, deadline 2 s", lambda: upstream.json("GET", "/runs/r1"))
    upstream.close()
    assert isinstance(error, Unavailable) and "longer than 2 s" in str(error) and "EIGENPAL_READ_DEADLINE" in str(error)
    assert 2 <= seconds < 4


def test_a_normal_gzip_answer_is_read(upstream_server):
    upstream_server.mode = "gzip"
    small = gzip.compress(json.dumps({"id": "r1", "note": "ok" * 1000}).encode())
    upstream_server.bomb, saved = small, upstream_server.bomb
    try:
        upstream = _upstream(upstream_server)
        assert upstream.json("GET", "/runs/r1") == {"id": "r1", "note": "ok" * 1000}
        upstream.close()
    finally:
        upstream_server.bomb = saved


def test_a_download_is_bounded_as_it_streams(upstream_server):
    upstream_server.mode = "huge"
    upstream = _upstream(upstream_server, max_download_bytes=5 * MB)
    response = upstream.request("GET", "/runs/r1/artifacts/a.pdf", stream=True)

    def read_all():
        return sum(len(c) for c in upstream.body_chunks(response, time.perf_counter(), "a.pdf", download=True))

    error, seconds, peak = measured("download of 200 MB, cap 5 MB", read_all)
    response.close()
    upstream.close()
    assert isinstance(error, Unavailable) and "EIGENPAL_MAX_DOWNLOAD_MB" in str(error) and peak < 20


@pytest.fixture
def proxied(upstream_server, settings, transactional_db):
    settings.LOUPE_BACKEND = "backends.eigenpal.EigenpalBackend"
    settings.EIGENPAL_BASE_URL = f"http://127.0.0.1:{upstream_server.server_address[1]}"
    settings.EIGENPAL_API_KEY, settings.EIGENPAL_API_GENERATION = "k", "feedback"
    settings.EIGENPAL_MAX_RETRIES, settings.EIGENPAL_READ_DEADLINE = 0, 2.0
    install_backend(EigenpalBackend())
    yield upstream_server
    backends.reset_backend()


@pytest.mark.parametrize("mode", ["huge", "gzip", "drip", "deep"])
def test_the_page_is_a_502_naming_the_limit_and_keeps_what_was_typed(proxied, client, reviewer, mode):
    client.force_login(reviewer)
    proxied.mode = "deep"
    client.get("/runs/r1/")  # a warm worker: the first request imports and compiles templates
    proxied.mode = mode
    started = time.perf_counter()
    response = client.get("/runs/r1/")
    seconds = time.perf_counter() - started
    print(f"\npane in proxy mode, upstream {mode}: {seconds:.2f} s")
    body = response.content.decode()
    assert response.status_code == 502 and ("EIGENPAL_" in body or "LOUPE_MAX_JSON_DEPTH" in body) and seconds < 5
    response = client.post("/runs/r1/save/", {"body": "Total is wrong", "verdict": "fail", "version": "0",
                                              "op": "save"})
    body = response.content.decode()
    assert response.status_code == 502 and "Total is wrong" in body
