"""Plant-sized batches: the collector paused, and work spread over forked processes that inherit the data."""

from __future__ import annotations

import gc
import os
import threading
import time

from auditor import batching
from auditor.batching import fork_workers, forked_map, no_cyclic_gc


def test_the_collector_is_paused_and_restored_also_on_error() -> None:
    assert gc.isenabled()
    try:
        with no_cyclic_gc():
            assert not gc.isenabled()
            with no_cyclic_gc():
                assert not gc.isenabled()
            assert not gc.isenabled()  # nested use keeps it paused
            raise RuntimeError
    except RuntimeError:
        pass
    assert gc.isenabled()


def test_what_the_block_kept_skips_the_young_generations_and_its_cycles_are_still_collected() -> None:
    import weakref

    class Node:
        pass

    gc.collect()
    with no_cyclic_gc():
        node = Node()
        node.me = node  # a cycle, garbage once dropped
        kept = [Node() for _ in range(1000)]
        alive = weakref.ref(node)
    assert gc.get_count()[0] < 1000  # the kept objects were not left in the youngest generation
    del node
    gc.collect()
    assert alive() is None and len(kept) == 1000


def _slow_here(parent: int) -> None:
    """Slows the chunks this process takes, so the forked worker surely takes some in a test."""
    if os.getpid() == parent:
        time.sleep(0.3)


def test_forked_workers_inherit_what_the_function_refers_to() -> None:
    """Nothing but the chunk is sent: the worker sees the parent's objects (here one no pickle could carry); this
    process takes chunks from the end while the worker takes them from the start, and every result is in order."""
    unpicklable = {"lock": threading.Lock(), "base": 100}
    parent = os.getpid()

    def work(chunk: list[int]) -> list[tuple[int, bool]]:
        _slow_here(parent)
        return [(n + unpicklable["base"], os.getpid() != parent) for n in chunk]

    out = forked_map(work, [[1, 2], [3], [4, 5, 6], [7]], workers=2)
    assert out is not None
    assert [[n for n, _ in chunk] for chunk in out] == [[101, 102], [103], [104, 105, 106], [107]]
    where = [{forked for _, forked in chunk} for chunk in out]
    assert where[0] == {True} and where[-1] == {False}  # the worker started at the front, this process at the back
    assert batching._JOB is None


def test_the_caller_runs_its_own_work_alongside_before_taking_chunks() -> None:
    parent = os.getpid()
    order: list[str] = []

    def work(chunk: list[int]) -> int:
        if os.getpid() == parent:
            order.append(f"chunk {chunk[0]}")
        return chunk[0]

    def alongside() -> None:
        order.append("alongside")
        time.sleep(0.3)

    assert forked_map(work, [[1], [2], [3]], workers=2, alongside=alongside) == [1, 2, 3]
    assert order[0] == "alongside"


def test_one_worker_or_one_chunk_is_left_to_the_caller() -> None:
    ran: list[int] = []
    assert forked_map(lambda chunk: chunk, [[1], [2]], workers=1, alongside=lambda: ran.append(1)) is None
    assert forked_map(lambda chunk: chunk, [[1, 2]], workers=2) is None
    assert ran == []  # nothing done: the caller does it all, alongside work included


def test_an_error_in_the_work_reaches_the_caller() -> None:
    parent = os.getpid()

    def fail(chunk):
        if os.getpid() != parent:
            raise ValueError(f"bad chunk {chunk}")
        time.sleep(0.3)
        return chunk

    try:
        forked_map(fail, [[1], [2]], workers=2)
    except ValueError as exc:
        assert "bad chunk [1]" in str(exc)
    else:
        raise AssertionError("the worker's error was lost")


def test_an_error_in_this_process_stops_the_work_that_no_worker_started() -> None:
    parent = os.getpid()
    started = time.monotonic()

    def work(chunk):
        if os.getpid() == parent:
            raise ValueError("here")
        time.sleep(0.2)
        return chunk

    try:
        forked_map(work, [[n] for n in range(40)], workers=2)
    except ValueError:
        pass
    else:
        raise AssertionError("the error was lost")
    assert time.monotonic() - started < 4  # not the 40 x 0.2 s of every chunk done by the worker


def test_a_worker_that_dies_makes_the_caller_do_the_work() -> None:
    parent = os.getpid()

    def die(chunk):
        if os.getpid() != parent:
            os._exit(3)
        time.sleep(0.3)
        return chunk

    assert forked_map(die, [[1], [2]], workers=2) is None


def test_workers_are_bounded_by_the_cpus_this_process_may_use() -> None:
    assert 1 <= fork_workers() <= min(4, len(os.sched_getaffinity(0)))
    assert fork_workers(limit=1) == 1
