"""Ordered work across processes, for the CPU-bound steps (extraction, tagging).

``ordered_map(fn, items, processes)`` is ``map(fn, items)`` spread over ``processes``
worker processes, results in the items' order.  Workers are forked where the platform
can (they start at once, with everything the parent imported), else spawned.  With one
process, or fewer items than ``PARALLEL_MIN_ITEMS``, everything runs in the calling
process: no pool to start for a handful of pages.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

# fewer items than this are worked in the calling process (no pool to start)
PARALLEL_MIN_ITEMS = 64
# items handed to a worker at a time (few enough to keep every worker busy to the end)
CHUNK = 8


def worker_processes(wanted: int | None, items: int) -> int:
    """How many processes work ``items`` items: ``wanted`` (default one per CPU), or 1
    (the calling process) for fewer than ``PARALLEL_MIN_ITEMS``."""
    return 1 if items < PARALLEL_MIN_ITEMS else max(1, wanted or os.cpu_count() or 1)


def _pool_context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def ordered_map(
    fn: Callable[[T], R], items: Iterable[T], processes: int, chunksize: int = CHUNK
) -> Iterator[R]:
    """``fn`` of every item, in the items' order, from ``processes`` processes."""
    if processes <= 1:
        yield from map(fn, items)
        return
    with ProcessPoolExecutor(max_workers=processes, mp_context=_pool_context()) as pool:
        yield from pool.map(fn, items, chunksize=chunksize)
