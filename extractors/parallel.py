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
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _run_chunk(fn: Callable[[T], R], chunk: list[T]) -> list[R]:
    return [fn(item) for item in chunk]


def ordered_map(
    fn: Callable[[T], R], items: Iterable[T], processes: int, chunksize: int = CHUNK
) -> Iterator[R]:
    """``fn`` of every item, in the items' order, from ``processes`` processes.

    Items are read lazily and at most ``AHEAD`` chunks per process are in flight, so
    memory holds a few chunks' items and results, not the whole run's (unlike
    ``Executor.map``, which submits every item at once)."""
    if processes <= 1:
        yield from map(fn, items)
        return
    pending: deque[Future[list[R]]] = deque()
    source = iter(items)
    with ProcessPoolExecutor(max_workers=processes, mp_context=_pool_context()) as pool:
        while True:
            while len(pending) < AHEAD * processes:
                chunk = list(islice(source, chunksize))
                if not chunk:
                    break
                pending.append(pool.submit(_run_chunk, fn, chunk))
            if not pending:
                return
            yield from pending.popleft().result()
