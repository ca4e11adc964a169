"""Competing writers in real parallel transactions (docs/rules.md#concurrent-writes).

`race(n, writer)` runs `writer(i)` in n threads at once: each thread opens its own database
connection first, then all of them pass a barrier together, so their transactions overlap on
the server for real. Use it from tests marked `django_db(transaction=True)` (the data must be
committed to be seen by other connections) and `postgres` where the point is row locking.

`lock_held(run_id, write)` is the deterministic case: a second connection locks the run, makes
its write, and commits only once the test's own write is seen waiting for that lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection, connections, transaction

# The marks of a module of competing writers: committed data (other connections must see it),
# and PostgreSQL (the SQLite test database is one locked in-memory file; such modules run in
# the PostgreSQL pass of bin/test).
PARALLEL_WRITERS = [
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="row locks need PostgreSQL (the SQLite test database is one locked in-memory file)"),
    pytest.mark.django_db(transaction=True),
]


@dataclass
class Outcome:
    index: int
    value: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def race(n: int, writer: Callable[[int], Any], *, timeout: float = 60.0) -> list[Outcome]:
    """Run writer(0..n-1) in n threads, each on its own connection, released together."""
    barrier = threading.Barrier(n)
    outcomes = [Outcome(i) for i in range(n)]

    def work(i: int) -> None:
        try:
            connection.ensure_connection()  # this thread's own connection, opened before the start
            barrier.wait(timeout)
            outcomes[i].value = writer(i)
        except BaseException as exc:  # noqa: BLE001 - every failure is the test's to judge
            outcomes[i].error = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    stuck = [i for i, thread in enumerate(threads) if thread.is_alive()]
    assert not stuck, f"writers {stuck} did not finish within {timeout} s"
    return outcomes


def waiting_for_lock(count: int = 1, *, timeout: float = 20.0) -> None:
    """Block until `count` other backends wait for a row lock (PostgreSQL's pg_stat_activity)."""
    deadline = time.monotonic() + timeout
    with connections["default"].cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                           "AND datname = current_database()")
            if cursor.fetchone()[0] >= count:
                return
            time.sleep(0.02)
    raise AssertionError(f"no {count} backend(s) waiting for a lock within {timeout} s")


@contextmanager
def lock_held(lock: Callable[[], Any], write: Callable[[], Any] | None = None, *, timeout: float = 30.0):
    """In another thread and connection: open a transaction, `lock()` (take the row lock),
    `write()`, and hold the transaction open. The body of the `with` runs meanwhile and starts
    a writer that blocks on the lock (in a thread of its own); `release()` on the yielded handle
    commits the other transaction once that writer is seen waiting."""
    locked, release = threading.Event(), threading.Event()
    failure: list[BaseException] = []

    def hold() -> None:
        try:
            with transaction.atomic():
                lock()
                if write is not None:
                    write()
                locked.set()
                if not release.wait(timeout):
                    raise AssertionError("the lock holder was never released")
        except BaseException as exc:  # noqa: BLE001
            failure.append(exc)
            locked.set()
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert locked.wait(timeout), "the other transaction did not take its lock"
    if failure:
        raise failure[0]

    class Handle:
        @staticmethod
        def release(after_waiters: int = 1) -> None:
            waiting_for_lock(after_waiters)
            release.set()
            holder.join(timeout)
            if failure:
                raise failure[0]

    try:
        yield Handle
    finally:
        release.set()
        holder.join(timeout)


def in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, Outcome]:
    """Start fn() in a thread with its own connection; join the thread, then read the outcome."""
    outcome = Outcome(0)

    def work() -> None:
        try:
            outcome.value = fn()
        except BaseException as exc:  # noqa: BLE001
            outcome.error = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread, outcome
