"""Batch work over a whole plant without the cyclic garbage collector's repeated full passes.

Loading a plant's evidence and scoring it build millions of small, acyclic objects (dicts, lists, pydantic
models). Each allocation burst triggers a collection, and the oldest generation, which by then holds the whole
bundle, is traversed again and again: about a fifth of a 1,000-asset rescore's CPU. Reference counting still
frees everything as usual; the collector runs once, when the batch is over, for the rare cycle.

Work that is the same for every asset and independent between them (scoring a thousand assets, rendering their
pages) can also be spread over the machine's CPUs: this process and forked ones that inherit the plant already
in memory share it (:func:`forked_map`).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterator, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


@contextlib.contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """The cyclic collector paused for the block (restored after, also on error); nested use is harmless."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            # what the block built and kept goes straight to the oldest generation (freeze, then unfreeze, moves
            # it there untraversed): re-enabled, the collector would otherwise walk all of it twice, as young
            # and as middle-aged objects (a second on a plant); cycles among it are still found by the next
            # full collection
            gc.freeze()
            gc.unfreeze()
            gc.enable()


#: the work of the current :func:`forked_map`, inherited by its forked workers (only a chunk is sent to them)
_JOB: Callable[[Any], Any] | None = None


def fork_workers(limit: int = 4) -> int:
    """How many worker processes a plant-sized batch may fork: the CPUs this process may run on, at most
    ``limit``; 1 where processes cannot be forked (then the caller works alone)."""
    if "fork" not in multiprocessing.get_all_start_methods() or multiprocessing.current_process().daemon:
        return 1  # Windows; or a daemonic worker (a Celery prefork child), which may not have children
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, limit))


def _run_job(chunk: Any) -> Any:
    assert _JOB is not None
    return _JOB(chunk)


def forked_map(function: Callable[[Any], T], chunks: list[Any], workers: int, *,
               alongside: Callable[[], Any] | None = None) -> list[T] | None:
    """``[function(chunk) for chunk in chunks]`` shared between this process and ``workers - 1`` forked ones, or
    None if that could not be done (the caller then does the work itself; a chunk may have been half done, so
    its work must be safe to repeat, like writing a file atomically, or be pure).

    The workers are forked after ``function`` is set, so they inherit everything it refers to (a plant's
    result and evidence: hundreds of MB) without pickling it; only the chunks and the return values travel.
    The workers take chunks from the start of the list while this process, once it has run ``alongside`` (other
    work of its own, like the page that summarises what the workers render), takes them from the end: a chunk
    runs where it is picked first, so neither side waits while there is work left. Meant for CPU-bound work on
    the main thread of a process whose other threads hold no locks the work needs (scoring and the report
    writers after a scan or a rescore).
    """
    global _JOB
    if workers < 2 or len(chunks) < 2:
        return None
    _JOB = function
    try:
        with ProcessPoolExecutor(max_workers=workers - 1, mp_context=multiprocessing.get_context("fork")) as pool:
            futures = [pool.submit(_run_job, chunk) for chunk in chunks]
            try:
                if alongside is not None:
                    alongside()
                mine = {index: function(chunks[index]) for index in reversed(range(len(chunks)))
                        if futures[index].cancel()}
                return [mine[index] if index in mine else futures[index].result() for index in range(len(chunks))]
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)  # the chunks no worker has started are dropped
                raise
    except (BrokenProcessPool, OSError, AssertionError) as exc:
        log.warning("parallel work failed (%s); doing it in one process", exc)
        return None
    finally:
        _JOB = None
