"""Politeness towards one host: how many requests at once, how long between them.

One :class:`HostLimiter` lives as long as one HTTP client (one run step).  Every request
takes a slot of its host first: at most ``per_host`` requests to a host are in flight,
and two requests to a host start at least ``delay`` seconds apart.  A host that asked
us to wait (``Retry-After``) is not asked again before that time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class HostLimiter:
    """Per-host concurrency limit and minimum delay, safe across threads."""

    def __init__(self, per_host: int = 2, delay: float = 1.0) -> None:
        self.per_host = max(1, per_host)
        self.delay = max(0.0, delay)
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._next_start: dict[str, float] = {}
        self.waited_s = 0.0  # total time spent waiting for delays (for the run's log)

    def _semaphore(self, host: str) -> threading.BoundedSemaphore:
        with self._lock:
            if host not in self._slots:
                self._slots[host] = threading.BoundedSemaphore(self.per_host)
            return self._slots[host]

    def hold_off(self, host: str, seconds: float) -> None:
        """Ask no more of ``host`` for ``seconds`` (it said Retry-After)."""
        with self._lock:
            until = time.monotonic() + max(0.0, seconds)
            self._next_start[host] = max(self._next_start.get(host, 0.0), until)

    def _reserve_start(self, host: str) -> float:
        """The time this request may start; later requests start ``delay`` after it."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_start.get(host, 0.0))
            self._next_start[host] = start + self.delay
            return start

    @contextmanager
    def slot(self, host: str, *, deadline: float | None = None) -> Iterator[float]:
        """Hold one of ``host``'s slots; yields the seconds waited.

        ``deadline`` (a ``time.monotonic()`` value) bounds the wait: past it,
        ``TimeoutError`` is raised.
        """
        semaphore = self._semaphore(host)
        began = time.monotonic()
        timeout = None if deadline is None else max(0.0, deadline - began)
        if not semaphore.acquire(timeout=timeout):
            raise TimeoutError(f"no free slot for {host} before the deadline")
        try:
            start = self._reserve_start(host)
            wait = start - time.monotonic()
            if wait > 0:
                if deadline is not None and start > deadline:
                    raise TimeoutError(f"{host} may not be asked again before the deadline")
                time.sleep(wait)
            waited = time.monotonic() - began
            with self._lock:
                self.waited_s += waited
            yield waited
        finally:
            semaphore.release()
