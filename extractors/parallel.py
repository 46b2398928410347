"""Ordered work across processes, for the CPU-bound steps (extraction, tagging).

``ordered_map(fn, items, processes)`` is ``map(fn, items)`` spread over ``processes``
worker processes, results in the items' order.  Workers are forked on Linux (they start
at once, with everything the parent imported), spawned elsewhere.  With one process, or
fewer items than ``PARALLEL_MIN_ITEMS``, everything runs in the calling process: no pool
to start for a handful of pages.  A caller that may stop reading early wraps the
iterator in ``contextlib.closing``, so the pool is shut down at once.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

# fewer items than this are worked in the calling process (no pool to start)
PARALLEL_MIN_ITEMS = 64
# items handed to a worker at a time (few enough to keep every worker busy to the end)
CHUNK = 8
# chunks per process submitted ahead of the one being read (bounds memory, keeps workers busy)
AHEAD = 4


def worker_processes(wanted: int | None, items: int) -> int:
    """How many processes work ``items`` items: ``wanted`` (default one per CPU), or 1
    (the calling process) for fewer than ``PARALLEL_MIN_ITEMS``."""
    return 1 if items < PARALLEL_MIN_ITEMS else max(1, wanted or os.cpu_count() or 1)


def _pool_context() -> multiprocessing.context.BaseContext:
    # fork on Linux only: macOS offers it too, but forking there is unsafe (CPython's
    # default is spawn) and the functions handed to the pool are picklable for spawn
    return multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")


def _run_chunk(fn: Callable[[T], R], chunk: list[T]) -> list[R]:
    return [fn(item) for item in chunk]


def ordered_map(
    fn: Callable[[T], R], items: Iterable[T], processes: int, chunksize: int | None = None
) -> Iterator[R]:
    """``fn`` of every item, in the items' order, from ``processes`` processes.

    Items are read lazily and at most ``AHEAD`` chunks per process are in flight, so
    memory holds a few chunks' items and results, not the whole run's (unlike
    ``Executor.map``, which submits every item at once)."""
    if processes <= 1:
        yield from map(fn, items)
        return
    chunksize = chunksize or CHUNK  # read at call time (the tests set CHUNK small)
    pending: deque[Future[list[R]]] = deque()
    source = iter(items)
    pool = ProcessPoolExecutor(max_workers=processes, mp_context=_pool_context())
    try:
        while True:
            while len(pending) < AHEAD * processes:
                chunk = list(islice(source, chunksize))
                if not chunk:
                    break
                pending.append(pool.submit(_run_chunk, fn, chunk))
            if not pending:
                return
            yield from pending.popleft().result()
    finally:
        # on an error here or in the caller (or the caller stopping early), chunks not
        # started are dropped instead of worked to the end
        pool.shutdown(wait=True, cancel_futures=True)
