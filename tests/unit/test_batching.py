"""Plant-sized batches: the collector paused, and work spread over forked processes that inherit the data."""

from __future__ import annotations

import gc
import os

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


def test_forked_workers_inherit_what_the_function_refers_to() -> None:
    """Nothing but the chunk is sent: the workers see the parent's objects (here one no pickle could carry)."""
    unpicklable = {"lock": __import__("threading").Lock(), "base": 100}
    parent = os.getpid()
    out = forked_map(lambda chunk: [(n + unpicklable["base"], os.getpid() != parent) for n in chunk],
                     [[1, 2], [3], [4, 5, 6]], workers=2)
    assert out == [[(101, True), (102, True)], [(103, True)], [(104, True), (105, True), (106, True)]]
    assert batching._JOB is None


def test_one_worker_or_one_chunk_is_left_to_the_caller() -> None:
    assert forked_map(lambda chunk: chunk, [[1], [2]], workers=1) is None
    assert forked_map(lambda chunk: chunk, [[1, 2]], workers=2) is None


def test_an_error_in_the_work_reaches_the_caller() -> None:
    def fail(chunk):
        raise ValueError(f"bad chunk {chunk}")

    try:
        forked_map(fail, [[1], [2]], workers=2)
    except ValueError as exc:
        assert "bad chunk" in str(exc)
    else:
        raise AssertionError("the worker's error was lost")


def test_a_worker_that_dies_makes_the_caller_do_the_work() -> None:
    assert forked_map(lambda chunk: os._exit(3), [[1], [2]], workers=2) is None


def test_workers_are_bounded_by_the_cpus_this_process_may_use() -> None:
    assert 1 <= fork_workers() <= min(4, len(os.sched_getaffinity(0)))
    assert fork_workers(limit=1) == 1
