"""runs.records.gc_paused: the cyclic collector is off during a batch in the main thread, back on
afterwards (errors included), left alone in other threads and when already off."""

import gc
import threading
import weakref

import pytest

from runs.records import gc_paused


def test_the_collector_is_paused_for_the_batch_and_resumes_after_an_error():
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        with gc_paused():
            assert not gc.isenabled()
            with gc_paused():  # nested: the outer batch resumes it
                assert not gc.isenabled()
            assert not gc.isenabled()
            raise RuntimeError("the batch failed")
    assert gc.isenabled()


def test_a_cycle_made_during_the_batch_is_freed_at_its_end():
    class Node:
        pass

    with gc_paused():
        node = Node()
        node.me = node
        watch = weakref.ref(node)
        del node
        assert watch() is not None  # a cycle: reference counting alone does not free it
    assert watch() is None


def test_a_collector_already_off_stays_off():
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_other_threads_leave_the_collector_alone():
    seen = []

    def batch():
        with gc_paused():
            seen.append(gc.isenabled())

    thread = threading.Thread(target=batch)
    thread.start()
    thread.join()
    assert seen == [True] and gc.isenabled()
