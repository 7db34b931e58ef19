"""Batch work over a whole plant without the cyclic garbage collector's repeated full passes.

Loading a plant's evidence and scoring it build millions of small, acyclic objects (dicts, lists, pydantic
models). Each allocation burst triggers a collection, and the oldest generation, which by then holds the whole
bundle, is traversed again and again: about a fifth of a 1,000-asset rescore's CPU. Reference counting still
frees everything as usual; the collector runs once, when the batch is over, for the rare cycle.
"""

from __future__ import annotations

import contextlib
import gc
from typing import Iterator


@contextlib.contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """The cyclic collector paused for the block (restored after, also on error); nested use is harmless."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
