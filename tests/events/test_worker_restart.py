"""At-least-once delivery across a worker restart: the real `manage.py db_worker` as a
subprocess against the test database (PostgreSQL, or a file copy of the SQLite one), killed
while a delivery is in flight, restarted, and the message still arrives, signed."""

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from django.db import connection

from events.models import Delivery, DeliveryStatus, Subscription
from events.outbox import event_emit
from events.types import REVIEW_CLOSED
from tests.events.receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]


def _database_url(tmp: Path) -> tuple[str, Path | None]:
    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        auth = settings["USER"] + (f":{settings['PASSWORD']}" if settings["PASSWORD"] else "")
        return f"postgres://{auth}@{settings['HOST']}:{settings['PORT'] or 5432}/{settings['NAME']}", None
    # SQLite: the test database is in memory; the worker gets a file copy, read back at the end.
    path = tmp / "worker.sqlite3"
    target = sqlite3.connect(path)
    connection.ensure_connection()
    connection.connection.backup(target)
    target.close()
    return f"sqlite:///{path}", path


def _worker(url: str, log) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings_test",
           "LOUPE_WEBHOOKS_LEASE_SECONDS": "1", "LOUPE_WEBHOOKS_SWEEP_SECONDS": "0.3"}
    return subprocess.Popen([sys.executable, "manage.py", "db_worker", "--interval", "0.1", "--no-startup-delay",
                             "--no-reload"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def _wait(predicate, limit: float, what: str) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")



@pytest.mark.django_db(transaction=True)
def test_a_message_is_delivered_at_least_once_across_a_worker_killed_mid_attempt():
    # fails the first request, holds the second (until released), then answers 200
    receiver = Receiver(statuses=[500], hold=threading.Event()).start()
    receiver.hold.set()  # the first request answers at once

    sub = Subscription.objects.create(url=receiver.url, automation_id="workflows.invoices")
    receiver.secret = sub.secret
    message = event_emit(type=REVIEW_CLOSED, automation_id="workflows.invoices", data={"reviewId": 1})
    tmp = Path(tempfile.mkdtemp(prefix="loupe-worker-"))
    url, sqlite_file = _database_url(tmp)
    log = open(tmp / "worker.log", "w+")  # noqa: SIM115
    first = second = None
    try:
        first = _worker(url, log)
        _wait(lambda: len(receiver.received) >= 1, 60, "the first attempt")
        receiver.hold.clear()  # the second attempt will hang in the receiver ...
        _wait(lambda: len(receiver.received) >= 2, 30, "the second attempt")
        first.send_signal(signal.SIGKILL)  # ... and its worker dies mid-attempt
        first.wait(10)
        receiver.hold.set()
        second = _worker(url, log)
        _wait(lambda: len(receiver.received) >= 3, 60, "the attempt after the restart")
        time.sleep(0.5)  # the worker records the success
        second.send_signal(signal.SIGTERM)
        second.wait(10)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(10)
        receiver.stop()
    if sqlite_file is not None:
        source = sqlite3.connect(sqlite_file)
        connection.ensure_connection()
        source.backup(connection.connection)
        source.close()
    log.seek(0)
    output = log.read()
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.SUCCEEDED, output
    assert delivery.attempts == 3
    # every request was the same message, validly signed: delivered at least once
    assert [r.headers["webhook-id"] for r in receiver.received] == [message.id] * 3
    assert all(r.verified for r in receiver.received)
    attempts = [(a.number, a.status_code, a.succeeded, a.error[:11]) for a in delivery.attempt_log.order_by("number")]
    assert attempts == [(1, 500, False, "HTTP 500"), (2, None, False, "Interrupted"), (3, 200, True, "")]
