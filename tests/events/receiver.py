"""A real webhook receiver on loopback for the tests: a threaded http.server that answers
with the status codes it is told to (then 200), records each request, and checks each
signature with the `standardwebhooks` package, as a customer's receiver would."""

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    verified: bool
    error: str = ""


@dataclass
class Receiver:
    secret: str = ""
    statuses: list = field(default_factory=list)  # answers for the first requests, then 200
    hold: threading.Event | None = None  # when set up, requests wait for it before answering
    received: list = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hook"

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified, error = True, ""
                try:
                    Webhook(receiver.secret).verify(body, headers)
                except Exception as exc:  # a bad signature (WebhookVerificationError), or no secret set
                    verified, error = False, f"{type(exc).__name__}: {exc}"
                receiver.received.append(Received(self.path, headers, body, verified, error))
                if receiver.hold is not None:
                    receiver.hold.wait(30)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                payload = b'{"ok": true}' if status < 300 else b"not now"
                try:
                    self.send_response(status)
                    if 300 <= status < 400:
                        self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the sender gave up (timed out, or its worker was killed)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()


def run_until_done(delivery, limit: float = 15.0):
    """What a worker does with one delivery: attempt, wait for next_attempt_at, attempt again,
    until it is no longer pending."""
    import time

    from django.utils import timezone

    from events.delivery import delivery_attempt
    from events.models import DeliveryStatus

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        delivery.refresh_from_db()
        if delivery.status != DeliveryStatus.PENDING:
            return delivery
        wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
        if wait > 0:
            time.sleep(wait)
        delivery_attempt(delivery.pk)
    raise AssertionError("delivery never finished")
